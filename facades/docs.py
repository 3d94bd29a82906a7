"""``/openapi.json`` and the ``/docs`` page, whose Swagger UI assets are served from here; and
each API version's own document and page (``/v2/openapi.json``, ``/v2/docs``).

``/openapi.json`` lists every version the service serves (every route, as the URL map has
them); a version's document lists that version's routes only."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from flask import Blueprint, Flask, Response, current_app, render_template, send_from_directory, url_for
from swagger_ui_bundle import swagger_ui_path

from legacy_bridge.config.model import ApiVersion
from legacy_bridge.formats.jsonio import dumps
from legacy_bridge.resources import Bridge, Resource

from .openapi import build_spec

bp = Blueprint("docs", __name__)
_ASSETS = (
    "swagger-ui.css",
    "swagger-ui-bundle.js",
    "swagger-ui-standalone-preset.js",
    "favicon-32x32.png",
    "favicon-16x16.png",
)


@bp.get("/openapi.json")
def openapi_json() -> Response:
    bridge = current_app.extensions["legacy_bridge"]
    if bridge.openapi is None:  # built once per process, on first ask
        bridge.openapi = dumps(
            build_spec(
                bridge.resources, bridge.config.service, bridge.config, versions=bridge.versions, actions=bridge.actions
            )
        )
    return Response(bridge.openapi, mimetype="application/json")


# The page may only load what this service serves: a CDN or injected script is refused
# by the browser itself, not only absent from the template.
_CSP = (
    "default-src 'none'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)


@bp.get("/docs")
def docs() -> Response:
    return _page(url_for("docs.openapi_json"), current_app.extensions["legacy_bridge"].config.service["title"])


def _page(document_url: str, title: str) -> Response:
    nonce = secrets.token_urlsafe(16)
    page = render_template("docs.html", nonce=nonce, title=title, document_url=document_url)
    response = Response(page, mimetype="text/html")
    response.headers["Content-Security-Policy"] = _CSP.format(nonce=nonce)
    return response


@bp.get("/docs/assets/<name>")
def asset(name: str) -> Response:
    if name not in _ASSETS:
        return Response(status=404)
    return send_from_directory(swagger_ui_path, name, max_age=86400)


def register_versions(app: Flask, bridge: Bridge) -> None:
    """``<version>/openapi.json`` and ``<version>/docs`` for every API version ``bridge`` serves."""
    versions_bp = Blueprint("version_docs", __name__)
    for version, resources in bridge.versions:
        if not version.name:  # base_path "/": /openapi.json and /docs are the version's
            continue
        versions_bp.add_url_rule(
            f"{version.path}/openapi.json",
            f"openapi_{version.name}",
            _version_document(bridge, version, resources),
            methods=["GET"],
        )
        versions_bp.add_url_rule(
            f"{version.path}/docs", f"docs_{version.name}", _version_page(bridge, version), methods=["GET"]
        )
    app.register_blueprint(versions_bp)


def _version_document(bridge: Bridge, version: ApiVersion, resources: dict[str, Resource]) -> Callable[[], Response]:
    built: list[bytes] = []

    def view() -> Response:
        if not built:  # built once per process, on first ask
            built.append(
                dumps(
                    build_spec(
                        resources,
                        bridge.config.service,
                        bridge.config,
                        versions=[(version, resources)],
                        operations=False,
                        actions=bridge.actions,
                    )
                )
            )
        return Response(built[0], mimetype="application/json")

    return view


def _version_page(bridge: Bridge, version: ApiVersion) -> Callable[[], Response]:
    def view() -> Response:
        return _page(f"{version.path}/openapi.json", f"{bridge.config.service['title']} ({version.name})")

    return view
