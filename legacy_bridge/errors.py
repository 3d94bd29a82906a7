"""One error tree for the whole service; one handler turns it into problem+json.

Each class carries what a client needs (a stable ``type``, the HTTP status) and what
ops need (the legacy system's own code).  Whether a retry is safe is encoded in the
type, as Singer SDK does with ``RetriableAPIError``.
"""
from __future__ import annotations

from typing import Any

PROBLEM_BASE = "urn:legacy-bridge:problem:"


class LegacyBridgeError(Exception):
    """Root of every error legacy-bridge raises on purpose."""

    status = 500
    slug = "internal-error"
    title = "Internal error"
    retry_safe = False
    #: a refusal its raiser logs itself, at most once per interval: the error handler does not
    quiet = False

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = {k: v for k, v in extra.items() if v is not None}

    @property
    def type(self) -> str:
        return PROBLEM_BASE + self.slug

    def to_problem(self) -> dict[str, Any]:
        """The RFC 9457 body, without ``instance`` (the handler adds it)."""
        return {"type": self.type, "title": self.title, "status": self.status,
                "detail": self.detail, **self.extra}


class ConfigError(LegacyBridgeError):
    """The config file is invalid; ``problems`` lists every (path, message)."""

    slug = "invalid-config"
    title = "Invalid configuration"

    def __init__(self, problems: list[tuple[str, str]], origin: str = "config") -> None:
        self.problems = problems
        self.origin = origin
        lines = "\n".join(f"  {path}: {msg}" if path else f"  {msg}" for path, msg in problems)
        super().__init__(f"{origin}: {len(problems)} problem(s)\n{lines}")


class BadRequest(LegacyBridgeError):
    """The client sent something we refuse; ``parameter`` names it."""

    status = 400
    slug = "invalid-parameter"
    title = "Invalid parameter"

    def __init__(self, detail: str, parameter: str | None = None, slug: str | None = None) -> None:
        super().__init__(detail, parameter=parameter)
        if slug:
            self.slug = slug


class NotFound(LegacyBridgeError):
    status = 404
    slug = "not-found"
    title = "Not found"


class SourceError(LegacyBridgeError):
    """The legacy system answered with an error; ``legacy_code`` keeps its own code."""

    status = 502
    slug = "source-error"
    title = "Legacy source error"

    def __init__(self, detail: str, source: str, legacy_code: str | None = None,
                 **extra: Any) -> None:
        super().__init__(detail, source=source, legacy_code=legacy_code, **extra)
        self.source = source
        self.legacy_code = legacy_code


class SourceUnavailable(SourceError):
    """The legacy system cannot be reached; safe to retry after a pause."""

    status = 503
    slug = "source-unavailable"
    title = "Legacy source unavailable"
    retry_safe = True
    retry_after = 5


class SourceBusy(SourceError):
    """The source's bulkhead is full: this worker already runs as many calls to it as it
    may (``max_calls``).  Not a failure of the source: never retried, never counted by
    its breaker."""

    status = 503
    slug = "source-busy"
    title = "Legacy source busy"
    retry_safe = True
    retry_after = 1
    quiet = True


class Busy(LegacyBridgeError):
    """This worker already streams as many exports as it may (``service.max_exports``)."""

    status = 503
    slug = "busy"
    title = "Busy"
    retry_safe = True
    retry_after = 1
    quiet = True


class Stopping(LegacyBridgeError):
    """The worker is stopping and the grace of in-flight streams is over (the last line
    of an NDJSON export cut this way)."""

    status = 503
    slug = "service-stopping"
    title = "Service stopping"
    retry_safe = True


class SourceTimeout(SourceError):
    """The legacy system did not answer within the source's timeout."""

    status = 504
    slug = "source-timeout"
    title = "Legacy source timed out"
    retry_safe = True


class SourceFault(SourceError):
    """The legacy system refused the call with a fault of its own (a SOAP fault).

    The problem keeps ``fault_code`` and ``fault_string``.  A source's config may say
    that some codes mean "not found" (404) or "invalid input" (400); any other is 502.
    """

    slug = "source-fault"
    title = "Legacy source fault"
    _BY_STATUS = {404: ("not-found", "Not found"), 400: ("invalid-input", "Invalid input")}

    def __init__(self, detail: str, source: str, fault_code: str, fault_string: str,
                 status: int = 502) -> None:
        super().__init__(detail, source, fault_code, fault_code=fault_code, fault_string=fault_string)
        self.status = status
        self.slug, self.title = self._BY_STATUS.get(status, (self.slug, self.title))
