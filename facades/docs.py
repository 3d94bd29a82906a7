"""``/openapi.json`` and the ``/docs`` page, whose Swagger UI assets are served from here."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template, send_from_directory
from swagger_ui_bundle import swagger_ui_path

from legacy_bridge.jsonio import dumps

from .openapi import build_spec

bp = Blueprint("docs", __name__)
_ASSETS = ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js",
           "favicon-32x32.png", "favicon-16x16.png")


@bp.get("/openapi.json")
def openapi_json() -> Response:
    bridge = current_app.extensions["legacy_bridge"]
    if bridge.openapi is None:        # built once per process, on first ask
        bridge.openapi = dumps(build_spec(bridge.resources, bridge.config.service))
    return Response(bridge.openapi, mimetype="application/json")


@bp.get("/docs")
def docs() -> str:
    return render_template("docs.html", title=current_app.extensions["legacy_bridge"].config.service["title"])


@bp.get("/docs/assets/<name>")
def asset(name: str) -> Response:
    if name not in _ASSETS:
        return Response(status=404)
    return send_from_directory(swagger_ui_path, name, max_age=86400)
