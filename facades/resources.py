"""REST endpoints of every configured resource: list (keyset pages) and get (with ETag)."""

from __future__ import annotations

import hashlib

from flask import Blueprint, Flask, Response, request

from legacy_bridge.errors import NotFound
from legacy_bridge.formats.jsonio import dumps
from legacy_bridge.query.schema import parse_body, parse_fields, parse_key, parse_list
from legacy_bridge.resources import Resource

from .export import accepted_format, export_response, export_view
from .http import json_response, next_link
from .partitions import partitions_view


def list_view(resource: Resource):
    def view() -> Response:
        fmt = accepted_format()  # Accept: application/x-ndjson or text/csv streams
        if fmt:
            return export_response(resource, fmt)
        query = parse_list(resource, request.args.to_dict(flat=False))
        page = resource.page(query)
        body: dict = {"data": page.records, "next": page.next}
        if query.since is not None:  # resume from here: updated_since=<watermark>
            body["watermark"] = resource.watermark_text(page.watermark) if page.watermark else query.since.text or None
        response = json_response(dumps(body))
        if page.next:
            response.headers["Link"] = next_link(page.next)
        if body.get("watermark"):
            response.headers["X-Watermark"] = body["watermark"]
        return response

    return view


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in header.split(","))


def get_view(resource: Resource):
    def view(key: str) -> Response:
        record = resource.get(
            parse_key(resource, key.rstrip("/").split("/")), parse_fields(resource, request.args.get("fields"))
        )
        if record is None:
            raise NotFound(f"no {resource.name} with key {key!r}", resource=resource.name)
        body = dumps(record)
        etag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
        if _etag_matches(request.headers.get("If-None-Match"), etag):
            response = Response(status=304)
        else:
            response = json_response(body)
        response.headers["ETag"] = etag
        return response

    return view


def create_view(resource: Resource):
    def view() -> Response:
        record = resource.create(parse_body(resource, request.get_json(silent=True)))
        response = json_response(dumps(record if record is not None else {}), 201)
        if record is not None and all(record.get(k) is not None for k in resource.key):
            key = "/".join(str(record[k]) for k in resource.key)
            response.headers["Location"] = f"{request.base_url.rstrip('/')}/{key}"
        return response

    return view


def register(app: Flask, resources: dict[str, Resource], base_path: str, blueprint: str = "resources") -> None:
    """One list and one get route per resource, e.g. ``/v1/customers`` and ``/v1/customers/<key>``
    (``blueprint``: its name, one per API version)."""
    bp = Blueprint(blueprint, __name__)
    for name, resource in resources.items():
        endpoint = name.replace("-", "_")
        if "list" in resource.spec.operations:
            bp.add_url_rule(f"{base_path}/{name}", f"list_{endpoint}", list_view(resource), methods=["GET"])
            # before the get route: /export is the export, not a record whose key is "export"
            bp.add_url_rule(f"{base_path}/{name}/export", f"export_{endpoint}", export_view(resource), methods=["GET"])
            bp.add_url_rule(
                f"{base_path}/{name}/partitions", f"partitions_{endpoint}", partitions_view(resource), methods=["GET"]
            )
        if "create" in resource.spec.operations:  # only resources that declare create
            bp.add_url_rule(f"{base_path}/{name}", f"create_{endpoint}", create_view(resource), methods=["POST"])
        bp.add_url_rule(f"{base_path}/{name}/<path:key>", f"get_{endpoint}", get_view(resource), methods=["GET"])
    app.register_blueprint(bp)
