"""``GET /v1/<resource>/quarantine``: the bad records a file-backed resource skips.

Only resources whose source can say (a driver that declares ``lists_quarantine``, the
flat-file driver) get the route.  It lists, per served file, how many records were read and
how many were bad, and each bad record with its file, record number, byte offset
and reason, so nothing is dropped silently.  A static path wins over ``<key>`` in
the routing, so a record whose key is the word ``quarantine`` cannot be read by key.
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response

from .http import integer_arg, json_response

MAX_LIMIT = 10_000
DEFAULT_LIMIT = 1000
#: ``limit`` as the route takes it, for the OpenAPI document
LIMIT_SCHEMA = {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}


def _view(resource):
    def view() -> Response:
        limit = integer_arg("limit", DEFAULT_LIMIT, 1, MAX_LIMIT, slug="limit-out-of-range")
        return json_response({"resource": resource.name, **resource.driver.quarantine(limit)})

    return view


def register(app: Flask, resources: dict, base_path: str) -> None:
    """One quarantine route per resource whose driver lists bad records."""
    bp = Blueprint("quarantine", __name__)
    for name, resource in resources.items():
        if resource.capabilities.lists_quarantine:
            bp.add_url_rule(
                f"{base_path}/{name}/quarantine",
                f"quarantine_{name.replace('-', '_')}",
                _view(resource),
                methods=["GET"],
            )
    app.register_blueprint(bp)
