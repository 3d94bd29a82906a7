"""``GET /v1/<resource>/changes``: the change feed of resources that declare ``changes:``.

Events come in ascending ``id`` order; ``next`` is an opaque, signed cursor that resumes
right after the last event returned (it is returned even when the page is empty, so a
client polls with it).  Without a cursor the feed starts at the oldest stored event.
A request may run the resource's scan first when the last one is older than ``every``
(``scan_on_request``); a scan already running elsewhere is not waited for.
"""
from __future__ import annotations

import logging

from flask import Blueprint, Flask, Response, request

from legacy_bridge.events.changes import Scanner
from legacy_bridge.query.cursors import fingerprint
from legacy_bridge.errors import LegacyBridgeError
from legacy_bridge.problems import body_of
from legacy_bridge.resources import Resource
from legacy_bridge.events.state import StateStore

from .http import integer_arg, json_response, next_link
from .openapi_values import record_schema_name

log = logging.getLogger("legacy_bridge.changes")


def feed_view(resource: Resource, store: StateStore):
    scanner = Scanner(store, resource)
    query_id = fingerprint("changes", resource.name)

    def view() -> Response:
        limit = integer_arg("limit", resource.spec.default_limit, 1, resource.spec.max_limit)
        cursor = request.args.get("cursor")
        after = resource.codec.load(cursor, query_id, 1)[0] if cursor else 0
        scan = None
        if resource.spec.changes.get("scan_on_request") and scanner.due():
            try:
                scan = scanner.scan().as_dict()
            except LegacyBridgeError as error:     # stored events are still worth serving
                log.warning("scan of %s on request failed: %s", resource.name, error.detail)
                scan = {"resource": resource.name, "error": body_of(error)}
        events = store.events(resource.name, after, limit)
        last = events[-1].id if events else after
        token = resource.codec.dump(query_id, (last,))
        body = {"data": [e.to_json() for e in events], "next": token}
        if scan is not None:
            body["scan"] = scan
        response = json_response(body)
        if len(events) == limit:      # more may be waiting: the standard paginators follow it
            response.headers["Link"] = next_link(token)
        return response
    return view


def register(app: Flask, resources: dict[str, Resource], store: StateStore, base_path: str) -> None:
    """One ``/changes`` route per resource with ``changes:``; before the ``/<path:key>`` routes."""
    bp = Blueprint("changes", __name__)
    for name, resource in resources.items():
        if getattr(resource.spec, "changes", None):
            bp.add_url_rule(f"{base_path}/{name}/changes", f"changes_{name.replace('-', '_')}",
                            feed_view(resource, store), methods=["GET"])
    app.register_blueprint(bp)


def add_openapi(document: dict, resources: dict[str, Resource], base_path: str, errors: dict) -> None:
    """Document each ``/changes`` route in an OpenAPI 3.0 ``document`` (in place); ``errors``
    are the responses every read may give (400, 5xx)."""
    paths = document.setdefault("paths", {})
    for name, resource in resources.items():
        if not getattr(resource.spec, "changes", None):
            continue
        record = {"$ref": f"#/components/schemas/{record_schema_name(resource)}"}
        event = {"type": "object", "required": ["id", "resource", "kind", "key", "occurred_at", "record"],
                 "properties": {"id": {"type": "integer"}, "resource": {"type": "string"},
                                "kind": {"type": "string", "enum": ["created", "updated", "deleted"]},
                                "key": {"type": "object"}, "occurred_at": {"type": "string", "format": "date-time"},
                                "record": {"allOf": [record], "nullable": True}}}
        page = {"type": "object", "required": ["data", "next"], "properties": {
            "data": {"type": "array", "items": event},
            "next": {"type": "string", "description": "resume right after the last event (also on an empty page)"},
            "scan": {"type": "object", "description": "the scan this request ran first, or its error"}}}
        paths[f"{base_path}/{name}/changes"] = {"get": {
            "tags": [name], "operationId": f"changes_{name}", "summary": f"Change events of {name}, oldest first",
            "parameters": [
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                            "maximum": resource.spec.max_limit,
                                                            "default": resource.spec.default_limit}},
                {"name": "cursor", "in": "query", "schema": {"type": "string"},
                 "description": "the `next` of the previous page (opaque, signed: any other text is a 400)"}],
            "responses": {"200": {"description": "one page of events", "headers": {
                "Link": {"schema": {"type": "string"}, "description": 'rel="next" when the page is full'}},
                "content": {"application/json": {"schema": page}}}, **errors}}}
