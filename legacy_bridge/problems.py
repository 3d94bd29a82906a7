"""The one place errors become ``application/problem+json`` (RFC 9457) responses."""
from __future__ import annotations

import logging
from urllib.parse import unquote_to_bytes

from flask import Flask, Response, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException

from .errors import PROBLEM_BASE, LegacyBridgeError
from legacy_bridge.formats.jsonio import dumps

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


def _name(pair: bytes) -> str:
    return unquote_to_bytes(pair.partition(b"=")[0].replace(b"+", b" ")).decode("utf-8", "backslashreplace")


def undecodable_parameter(query_string: bytes) -> str | None:
    """The first parameter of a raw query string whose name or value is not UTF-8 once
    percent-decoded (``+`` is a space, as in forms), or None.  Werkzeug would keep such
    bytes percent-encoded in ``request.args``, and a filter would run with that text."""
    if query_string.isascii() and b"%" not in query_string:
        return None
    for pair in query_string.split(b"&"):
        name, _, value = pair.partition(b"=")
        try:
            unquote_to_bytes(name.replace(b"+", b" ")).decode("utf-8")
            unquote_to_bytes(value.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            return _name(pair)
    return None


def unencoded_parameter(request_target: str) -> str | None:
    """The first parameter whose raw bytes in the request line (a WSGI latin-1 string) are
    above 0x7F, which RFC 3986 does not allow: the development server would pass them on
    re-encoded (``\xe9`` as ``é``), gunicorn refuses the request line before the app."""
    if request_target.isascii():
        return None
    query = request_target.partition("?")[2].encode("latin-1")
    return next((_name(pair) for pair in query.split(b"&") if not pair.isascii()), "")


def _utf8_query() -> Response | None:
    # the check runs on the raw query string (under gunicorn and the development server
    # alike), before anything reads request.args
    parameter = unencoded_parameter(request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or "")
    why = "bytes above 0x7F must be percent-encoded (RFC 3986)"
    if parameter is None:
        parameter, why = undecodable_parameter(request.query_string), "not UTF-8 once percent-decoded"
    if parameter is None:
        return None
    return problem(400, {"type": PROBLEM_BASE + "invalid-query-encoding", "title": "Invalid parameter",
                         "status": 400, "parameter": parameter or "path",
                         "detail": f"{parameter or 'the path'}: {why} (percent-encode the UTF-8 bytes "
                                   f"of the text)"})


def init_app(app: Flask) -> None:
    app.json = _BoundedJSON(app)
    app.before_request(_utf8_query)
    app.register_error_handler(LegacyBridgeError, _ours)
    app.register_error_handler(HTTPException, _http)
    app.register_error_handler(Exception, _unexpected)
