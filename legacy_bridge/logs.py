"""JSON logs, one object a line, each tied to the request that caused it."""
from __future__ import annotations

import logging
import re
import sys
import time
import uuid

import orjson
from flask import Flask, g, has_request_context, request

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")   # fullmatch: no trailing newline slips in
access_log = logging.getLogger("legacy_bridge.access")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"), "level": record.levelname,
                 "logger": record.name, "message": record.getMessage()}
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


def init_app(app: Flask) -> None:
    """Honour or generate ``X-Request-ID``, echo it, and log one access line per request."""

    @app.before_request
    def _start() -> None:
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        g.started = time.perf_counter()

    @app.after_request
    def _finish(response):
        response.headers["X-Request-ID"] = g.get("request_id", "")
        if access_log.isEnabledFor(logging.INFO):
            access_log.info("request", extra={"fields": {
                "method": request.method, "path": request.path, "status": response.status_code,
                "duration_ms": round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 2),
                "route": request.url_rule.rule if request.url_rule else None}})
        return response
