"""JSON logs, one object a line, each tied to the request that caused it."""

from __future__ import annotations

import logging
import re
import secrets
import sys
import time
import uuid

import orjson
from flask import Flask, current_app, g, has_request_context, request

from legacy_bridge.drivers.base import outgoing_headers

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")  # fullmatch: no trailing newline slips in
# W3C trace context: version-trace_id-parent_id-flags; a later version may append fields
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")
access_log = logging.getLogger("legacy_bridge.access")


class JsonFormatter(logging.Formatter):
    _second: tuple[int, str] = (-1, "")

    def _ts(self, record: logging.LogRecord) -> str:
        # one strftime per second, not per line
        second, text = self._second
        if int(record.created) != second:
            text = self.formatTime(record, "%Y-%m-%dT%H:%M:%S")
            self._second = (int(record.created), text)
        return text

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": self._ts(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context() and "request_id" in g:
            entry["request_id"] = g.request_id
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def configure(level: str = "INFO") -> None:
    """JSON lines on stderr for the ``legacy_bridge`` loggers (idempotent)."""
    root = logging.getLogger("legacy_bridge")
    if not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
        root.propagate = False
    root.setLevel(level)


def trace_context(header: str) -> tuple[str, str]:
    """``(trace id, flags)`` of a valid ``traceparent``, or of a new trace when it is not."""
    match = _TRACEPARENT.fullmatch(header.strip())
    if (
        match
        and match.group(1) != "ff"
        and (match.group(1) != "00" or not match.group(5))
        and match.group(2) != "0" * 32
        and match.group(3) != "0" * 16
    ):
        return match.group(2), match.group(4)
    return secrets.token_hex(16), "00"


def _source() -> str | None:
    """The source behind the matched route (``/v1/<resource>...``, in any API version), if any."""
    rule = request.url_rule
    bridge = current_app.extensions.get("legacy_bridge")
    if rule is None or bridge is None:
        return None
    for version, resources in bridge.versions:
        base = version.path + "/"
        if rule.rule.startswith(base):
            resource = resources.get(rule.rule[len(base) :].split("/", 1)[0])
            return resource.spec.source if resource is not None else None
    return None


def init_app(app: Flask) -> None:
    """Honour or generate ``X-Request-ID`` and the W3C ``traceparent``, echo both, pass
    the trace on to legacy calls, and log one access line per request."""

    @app.before_request
    def _start() -> None:
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        g.started = time.perf_counter()
        g.trace_id, flags = trace_context(request.headers.get("traceparent", ""))
        g.span_id = secrets.token_hex(8)  # this request's span: the parent of its legacy calls
        g.traceparent = f"00-{g.trace_id}-{g.span_id}-{flags}"
        g.trace_token = outgoing_headers.set({"traceparent": g.traceparent})

    @app.teardown_request
    def _end(_: BaseException | None) -> None:
        token = g.pop("trace_token", None)
        if token is not None:
            outgoing_headers.reset(token)

    @app.after_request
    def _finish(response):
        response.headers["X-Request-ID"] = g.get("request_id", "")
        if "traceparent" in g:
            response.headers["traceparent"] = g.traceparent
        if access_log.isEnabledFor(logging.INFO):
            # the record is made directly: Logger.info would walk the stack for a caller
            # that the JSON line does not print, on every request
            access_log.handle(
                access_log.makeRecord(
                    access_log.name,
                    logging.INFO,
                    __file__,
                    0,
                    "request",
                    (),
                    None,
                    extra={
                        "fields": {
                            "method": request.method,
                            "path": request.path,
                            "status": response.status_code,
                            "duration_ms": round(
                                (time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 2
                            ),
                            "route": request.url_rule.rule if request.url_rule else None,
                            "source": _source(),
                            "key_id": g.get("key_id"),
                            "trace_id": g.get("trace_id"),
                        }
                    },
                )
            )
        return response
