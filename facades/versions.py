"""API versions side by side: what every response of a version carries, and its calls counted.

A deprecated version answers every request (errors included) with ``Deprecation: @<epoch>``
(RFC 9745), ``Sunset: <HTTP-date>`` (RFC 8594, when it has one) and ``Link: <...>;
rel="deprecation"``; its operations are ``deprecated: true`` in the OpenAPI documents.  Each
call to a version is counted per key id (``legacy_bridge_api_version_requests_total``), so ops
know who still calls an old version before they switch it off.
"""

from __future__ import annotations

from email.utils import format_datetime

from flask import Flask, Response, g, request

from legacy_bridge.config.model import ApiVersion
from legacy_bridge.ops import metrics

__all__ = ["init_app", "deprecation_headers", "document_deprecation"]


def deprecation_headers(version: ApiVersion) -> dict[str, str]:
    """The headers of every response of ``version`` (none unless it is deprecated)."""
    if version.deprecated is None:
        return {}
    headers = {"Deprecation": f"@{int(version.deprecated.timestamp())}"}
    if version.sunset is not None:
        headers["Sunset"] = format_datetime(version.sunset, usegmt=True)
    headers["Link"] = f'<{version.link or version.path + "/docs"}>; rel="deprecation"'
    return headers


def _version_of(path: str, versions: list[ApiVersion]) -> ApiVersion | None:
    return next((v for v in versions if path == v.path or path.startswith(v.path + "/")), None)


def init_app(app: Flask, versions: list[ApiVersion], measured: bool = True) -> None:
    """Mark the responses of deprecated versions; count calls per version and key id."""
    versions = [v for v in versions if v.name]  # base_path "/": no version prefix to tell
    headers = {v.name: deprecation_headers(v) for v in versions}

    @app.after_request
    def _mark(response: Response) -> Response:
        version = _version_of(request.path, versions)
        if version is None:
            return response
        for name, value in headers[version.name].items():
            if name == "Link" and response.headers.get("Link"):  # beside rel="next"
                value = f"{response.headers['Link']}, {value}"
            response.headers[name] = value
        if measured:
            metrics.version_called(version.name, g.get("key_id"))
        return response


def document_deprecation(document: dict, version: ApiVersion) -> None:
    """Mark the operations of a deprecated ``version`` and document its headers (in place)."""
    headers = deprecation_headers(version)
    if not headers:
        return
    described = {
        "Deprecation": "RFC 9745: @<epoch> of the day this version was deprecated",
        "Sunset": "RFC 8594: when this version stops answering",
        "Link": 'rel="deprecation": what to use instead',
    }
    for path, operations in document.get("paths", {}).items():
        if not (path == version.path or path.startswith(version.path + "/")):
            continue
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            operation["deprecated"] = True
            for response in operation["responses"].values():
                documented = response.setdefault("headers", {})
                for name in headers:
                    documented.setdefault(name, {"schema": {"type": "string"}, "description": described[name]})
