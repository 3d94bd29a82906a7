"""``GET /v1/<resource>/changes``: the change feed of resources that declare ``changes:``.

Events come in ascending ``id`` order; ``next`` is an opaque, signed cursor that resumes
right after the last event returned (it is returned even when the page is empty, so a
client polls with it).  Without a cursor the feed starts at the oldest stored event.
A request may run the resource's scan first when the last one is older than ``every``
(``scan_on_request``); a scan already running elsewhere is not waited for.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Flask, Response, request

from legacy_bridge.errors import LegacyBridgeError
from legacy_bridge.events.changes import Scanner
from legacy_bridge.events.state import StateStore
from legacy_bridge.problems import body_of
from legacy_bridge.query.cursors import fingerprint
from legacy_bridge.query.schema import list_schema
from legacy_bridge.resources import Resource

from .http import json_response, next_link

log = logging.getLogger("legacy_bridge.changes")


def _limit(resource: Resource) -> int:
    """``limit``, parsed by the field that parses a list's (the document says the same of both)."""
    raw = request.args.get("limit")
    if raw is None:
        return resource.spec.default_limit
    return list_schema(resource).fields["q:limit"].deserialize(raw)


def feed_view(resource: Resource, store: StateStore):
    scanner = Scanner(store, resource)
    query_id = fingerprint("changes", resource.name)

    def view() -> Response:
        limit = _limit(resource)
        cursor = request.args.get("cursor")
        after = resource.codec.load(cursor, query_id, 1)[0] if cursor else 0
        scan = None
        if (resource.spec.changes or {}).get("scan_on_request") and scanner.due():
            try:
                scan = scanner.scan().as_dict()
            except LegacyBridgeError as error:  # stored events are still worth serving
                log.warning("scan of %s on request failed: %s", resource.name, error.detail)
                scan = {"resource": resource.name, "error": body_of(error)}
        events = store.events(resource.name, after, limit)
        last = events[-1].id if events else after
        token = resource.codec.dump(query_id, (last,))
        body: dict[str, Any] = {"data": [e.to_json() for e in events], "next": token}
        if scan is not None:
            body["scan"] = scan
        response = json_response(body)
        if len(events) == limit:  # more may be waiting: the standard paginators follow it
            response.headers["Link"] = next_link(token)
        return response

    return view


def register(app: Flask, resources: dict[str, Resource], store: StateStore, base_path: str) -> None:
    """One ``/changes`` route per resource with ``changes:``; before the ``/<path:key>`` routes."""
    bp = Blueprint("changes", __name__)
    for name, resource in resources.items():
        if resource.spec.changes:
            bp.add_url_rule(
                f"{base_path}/{name}/changes",
                f"changes_{name.replace('-', '_')}",
                feed_view(resource, store),
                methods=["GET"],
            )
    app.register_blueprint(bp)
