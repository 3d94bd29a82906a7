"""The one place errors become ``application/problem+json`` (RFC 9457) responses."""
from __future__ import annotations

import logging

from flask import Flask, Response, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException

from .errors import PROBLEM_BASE, LegacyBridgeError
from .jsonio import dumps

log = logging.getLogger("legacy_bridge")

_HTTP_SLUGS = {404: "not-found", 405: "method-not-allowed", 413: "payload-too-large",
               406: "not-acceptable", 400: "bad-request"}


def problem(status: int, body: dict, headers: dict | None = None) -> Response:
    body.setdefault("instance", request.path)
    response = Response(dumps(body), status=status, mimetype="application/problem+json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _ours(error: LegacyBridgeError) -> Response:
    headers = {}
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None and error.status == 503:
        headers["Retry-After"] = str(retry_after)
    if error.status >= 500 and not error.quiet:
        log.warning("%s: %s", error.slug, error.detail)
    return problem(error.status, error.to_problem(), headers)


def _http(error: HTTPException) -> Response:
    status = error.code or 500
    slug = _HTTP_SLUGS.get(status, f"http-{status}")
    # keep what the status needs besides the body (Allow on a 405, RFC 9110)
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    return problem(status, {"type": PROBLEM_BASE + slug, "title": error.name, "status": status,
                            "detail": error.description}, headers)


def _unexpected(error: Exception) -> Response:
    # Never the stack trace or the exception text to the client: it can hold
    # connection strings or SQL.  The log has it, tied by the request id.
    log.exception("unhandled error")
    return problem(500, {"type": PROBLEM_BASE + "internal-error", "title": "Internal error",
                         "status": 500, "detail": "an unexpected error; the log has the details"})


class _BoundedJSON(DefaultJSONProvider):
    """Request bodies nested past Python's recursion limit are malformed input, not a 500."""

    def loads(self, s, **kwargs):
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


def _utf8_query() -> Response | None:
    # Werkzeug decodes the query string as strict UTF-8 on first use of request.args:
    # refuse undecodable bytes up front, as a 400, instead of a UnicodeDecodeError (500).
    try:
        request.query_string.decode("utf-8")
    except UnicodeDecodeError:
        return problem(400, {"type": PROBLEM_BASE + "invalid-query-encoding", "title": "Invalid parameter",
                             "status": 400, "detail": "the query string is not valid UTF-8 "
                                                      "(percent-encode UTF-8 bytes)"})
    return None


def init_app(app: Flask) -> None:
    app.json = _BoundedJSON(app)
    app.before_request(_utf8_query)
    app.register_error_handler(LegacyBridgeError, _ours)
    app.register_error_handler(HTTPException, _http)
    app.register_error_handler(Exception, _unexpected)
