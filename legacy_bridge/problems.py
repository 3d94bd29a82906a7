"""The one place errors become ``application/problem+json`` (RFC 9457) responses: the table
from each domain error (legacy_bridge.errors) to its HTTP status and title, the one builder
of problem bodies (also for auth, rate limits, exports and change scans), and the handlers."""

from __future__ import annotations

import logging
from urllib.parse import unquote_to_bytes

from flask import Flask, Response, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException

from legacy_bridge.formats.jsonio import dumps

from . import errors as e

log = logging.getLogger("legacy_bridge")

PROBLEM_BASE = "urn:legacy-bridge:problem:"
PROBLEM_JSON = "application/problem+json"

#: every domain error's HTTP status and problem title; a subclass not listed takes its
#: nearest listed ancestor's (the type is always ``PROBLEM_BASE + error.slug``)
STATUS_AND_TITLE: dict[type[e.LegacyBridgeError], tuple[int, str]] = {
    e.LegacyBridgeError: (500, "Internal error"),
    e.ConfigError: (500, "Invalid configuration"),
    e.MappingMismatch: (500, "Mapping does not fit the source"),
    e.InvalidInput: (400, "Invalid parameter"),
    e.TargetRefused: (400, "Webhook target refused"),
    e.NotAuthenticated: (401, "Unauthorized"),
    e.NotPermitted: (403, "Forbidden"),
    e.NotFound: (404, "Not found"),
    e.RecordQuarantined: (404, "Record quarantined"),
    e.Conflict: (409, "Conflict"),
    e.CursorExpired: (409, "Cursor expired"),
    e.ScanLost: (409, "Scan lease lost"),
    e.DuplicateKey: (409, "Duplicate key"),
    e.ConstraintViolated: (409, "Constraint violated"),
    e.WriteConflict: (409, "Write conflict"),
    e.BatchNotClosed: (409, "Batch not closed"),
    e.PreconditionFailed: (412, "Precondition failed"),
    e.IdempotencyKeyReused: (422, "Idempotency key reused"),
    e.IdempotencyKeyInUse: (409, "Idempotency key in use"),
    e.PreconditionRequired: (428, "Precondition required"),
    e.RateLimited: (429, "Too many requests"),
    e.KeyOrderError: (500, "Key order mismatch"),
    e.SourceError: (502, "Legacy source error"),
    e.SourceFault: (502, "Legacy source fault"),
    e.ActionRefused: (422, "Action refused by the source"),
    e.ValueRefused: (400, "Value refused by the source"),
    e.FaultNotFound: (404, "Not found"),
    e.FaultInvalidInput: (400, "Invalid input"),
    e.FaultConflict: (409, "Conflict"),
    e.FaultUnprocessable: (422, "Unprocessable content"),
    e.FaultUnavailable: (503, "Legacy source unavailable"),
    e.SourceUnavailable: (503, "Legacy source unavailable"),
    e.SourceBusy: (503, "Legacy source busy"),
    e.IndexBuilding: (503, "Key index being built"),
    e.FileRejected: (503, "Data file rejected"),
    e.Busy: (503, "Busy"),
    e.Stopping: (503, "Service stopping"),
    e.SourceTimeout: (504, "Legacy source timed out"),
}
_HTTP_SLUGS = {
    404: "not-found",
    405: "method-not-allowed",
    413: "payload-too-large",
    406: "not-acceptable",
    400: "bad-request",
}


def status_and_title(error: e.LegacyBridgeError) -> tuple[int, str]:
    return next(STATUS_AND_TITLE[cls] for cls in type(error).__mro__ if cls in STATUS_AND_TITLE)


def status_of(error: e.LegacyBridgeError) -> int:
    return status_and_title(error)[0]


def body(slug: str, title: str, status: int, detail: str, **extra) -> dict:
    """An RFC 9457 body, without ``instance`` (the response adds it): every problem's shape."""
    return {"type": PROBLEM_BASE + slug, "title": title, "status": status, "detail": detail, **extra}


def body_of(error: BaseException) -> dict:
    """The body for any error; one that is not ours says nothing of itself (it can hold
    connection strings or SQL: the log has it)."""
    if not isinstance(error, e.LegacyBridgeError):
        return body("internal-error", "Internal error", 500, "an unexpected error; the log has the details")
    status, title = status_and_title(error)
    return body(error.slug, title, status, error.detail, **error.extra)


def problem(status: int, content: dict, headers: dict | None = None) -> Response:
    content.setdefault("instance", request.path)
    response = Response(dumps(content), status=status, mimetype=PROBLEM_JSON)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def response_of(error: e.LegacyBridgeError) -> Response:
    """The problem+json response of a domain error, with the headers its status needs."""
    status, _ = status_and_title(error)
    headers = {}
    if error.retry_after is not None and status in (409, 429, 503):
        headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, e.PreconditionFailed) and error.etag:
        headers["ETag"] = error.etag  # the current version: what If-Match must name
    if isinstance(error, e.NotAuthenticated):
        challenge = 'Bearer realm="legacy-bridge"'
        headers["WWW-Authenticate"] = challenge + (f', error="{error.challenge}"' if error.challenge else "")
    if status >= 500 and not error.quiet:
        log.warning("%s: %s", error.slug, error.detail)
    return problem(status, body_of(error), headers)


def openapi_response(description: str, headers: dict | None = None) -> dict:
    """An OpenAPI response object whose content is a problem (the ``Problem`` schema)."""
    return {
        "description": description,
        **({"headers": headers} if headers else {}),
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def _http(error: HTTPException) -> Response:
    status = error.code or 500
    # keep what the status needs besides the body (Allow on a 405, RFC 9110)
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    return problem(
        status, body(_HTTP_SLUGS.get(status, f"http-{status}"), error.name, status, error.description or ""), headers
    )


def _unexpected(error: Exception) -> Response:
    # Never the stack trace or the exception text to the client: the log has it, tied by
    # the request id.
    log.exception("unhandled error")
    return problem(500, body_of(error))


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
    return response_of(
        e.InvalidInput(
            f"{parameter or 'the path'}: {why} (percent-encode the UTF-8 bytes of the text)",
            parameter=parameter or "path",
            slug="invalid-query-encoding",
        )
    )


def init_app(app: Flask) -> None:
    app.json = _BoundedJSON(app)
    app.before_request(_utf8_query)
    app.register_error_handler(e.LegacyBridgeError, response_of)
    app.register_error_handler(HTTPException, _http)
    app.register_error_handler(Exception, _unexpected)
