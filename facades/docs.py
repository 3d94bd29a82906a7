"""``/openapi.json`` and the ``/docs`` page, whose Swagger UI assets are served from here."""
from __future__ import annotations

import secrets

from flask import Blueprint, Response, current_app, render_template, send_from_directory
from swagger_ui_bundle import swagger_ui_path

from legacy_bridge.formats.jsonio import dumps

from .openapi import build_spec

bp = Blueprint("docs", __name__)
_ASSETS = ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js",
           "favicon-32x32.png", "favicon-16x16.png")


@bp.get("/openapi.json")
def openapi_json() -> Response:
    bridge = current_app.extensions["legacy_bridge"]
    if bridge.openapi is None:        # built once per process, on first ask
        bridge.openapi = dumps(build_spec(bridge.resources, bridge.config.service, bridge.config))
    return Response(bridge.openapi, mimetype="application/json")


# The page may only load what this service serves: a CDN or injected script is refused
# by the browser itself, not only absent from the template.
_CSP = ("default-src 'none'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'")


@bp.get("/docs")
def docs() -> Response:
    nonce = secrets.token_urlsafe(16)
    page = render_template("docs.html", nonce=nonce,
                           title=current_app.extensions["legacy_bridge"].config.service["title"])
    response = Response(page, mimetype="text/html")
    response.headers["Content-Security-Policy"] = _CSP.format(nonce=nonce)
    return response


@bp.get("/docs/assets/<name>")
def asset(name: str) -> Response:
    if name not in _ASSETS:
        return Response(status=404)
    return send_from_directory(swagger_ui_path, name, max_age=86400)
