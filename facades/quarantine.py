"""``GET /v1/<resource>/quarantine``: the bad records a file-backed resource skips.

Only resources whose source can say (a driver with ``quarantine()``, the flat-file
driver) get the route.  It lists, per served file, how many records were read and
how many were bad, and each bad record with its file, record number, byte offset
and reason, so nothing is dropped silently.  A static path wins over ``<key>`` in
the routing, so a record whose key is the word ``quarantine`` cannot be read by key.
"""
from __future__ import annotations

from flask import Blueprint, Flask, Response

from .http import integer_arg, json_response

MAX_LIMIT = 10_000


def _view(resource):
    def view() -> Response:
        limit = integer_arg("limit", 1000, 1, MAX_LIMIT, slug="limit-out-of-range")
        return json_response({"resource": resource.name, **resource.driver.quarantine(limit)})
    return view


def lists_bad_records(resource) -> bool:
    return callable(getattr(resource.driver, "quarantine", None))


def register(app: Flask, resources: dict, base_path: str) -> None:
    """One quarantine route per resource whose driver lists bad records."""
    bp = Blueprint("quarantine", __name__)
    for name, resource in resources.items():
        if lists_bad_records(resource):
            bp.add_url_rule(f"{base_path}/{name}/quarantine", f"quarantine_{name.replace('-', '_')}",
                            _view(resource), methods=["GET"])
    app.register_blueprint(bp)


def add_openapi(document: dict, resources: dict, base_path: str, errors: dict) -> None:
    """Document each ``/quarantine`` route in an OpenAPI 3.0 ``document`` (in place)."""
    bad = {"type": "object", "properties": {"file": {"type": "string"}, "record": {"type": "integer"},
                                            "offset": {"type": "integer"}, "reason": {"type": "string"},
                                            "field": {"type": "string"}}}
    report = {"type": "object", "required": ["resource", "policy", "files", "data", "total"], "properties": {
        "resource": {"type": "string"}, "policy": {"type": "string", "enum": ["quarantine", "reject"]},
        "files": {"type": "array", "items": {"type": "object", "properties": {
            "file": {"type": "string"}, "records": {"type": "integer"}, "bad": {"type": "integer"},
            "complete": {"type": "boolean"}}}},
        "data": {"type": "array", "items": bad}, "total": {"type": "integer"}}}
    for name, resource in resources.items():
        if not lists_bad_records(resource):
            continue
        document.setdefault("paths", {})[f"{base_path}/{name}/quarantine"] = {"get": {
            "tags": [name], "operationId": f"quarantine_{name}", "summary": f"Bad records {name} skips",
            "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                                       "maximum": MAX_LIMIT, "default": 1000}}],
            "responses": {"200": {"description": "per served file, records read and bad; each bad record",
                                  "content": {"application/json": {"schema": report}}}, **errors}}}
