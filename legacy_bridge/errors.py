"""The domain errors of the whole service, in its own terms and without HTTP.

Each class says what went wrong (rejected input, not found, source unavailable, ...);
:mod:`legacy_bridge.problems` maps each one to its problem type and HTTP status, in one
table.  An error carries what a client needs (a stable ``slug``: the problem type's last
part, also the label of logs and metrics) and what ops need (the legacy system's own code).
Whether a retry is safe is encoded in the type, as Singer SDK does with ``RetriableAPIError``.
"""

from __future__ import annotations

from typing import Any


class LegacyBridgeError(Exception):
    """Root of every error legacy-bridge raises on purpose."""

    slug = "internal-error"
    retry_safe = False
    #: seconds after which a retry may succeed, when the error knows (Retry-After)
    retry_after: int | None = None
    #: a refusal its raiser logs itself, at most once per interval: the error handler does not
    quiet = False

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = {k: v for k, v in extra.items() if v is not None}


class ConfigError(LegacyBridgeError):
    """The config file is invalid; ``problems`` lists every (path, message)."""

    slug = "invalid-config"

    def __init__(self, problems: list[tuple[str, str]], origin: str = "config") -> None:
        self.problems = problems
        self.origin = origin
        lines = "\n".join(f"  {path}: {msg}" if path else f"  {msg}" for path, msg in problems)
        super().__init__(f"{origin}: {len(problems)} problem(s)\n{lines}")


class MappingMismatch(LegacyBridgeError):
    """A field's mapping does not fit what the source delivers (a SOAP element with children
    mapped as a scalar field): the config needs a fix; ``column`` names the column."""

    slug = "mapping-mismatch"

    def __init__(self, detail: str, column: str) -> None:
        super().__init__(detail, column=column)


class InvalidInput(LegacyBridgeError):
    """The caller sent something we refuse; ``parameter`` names it."""

    slug = "invalid-parameter"

    def __init__(self, detail: str, parameter: str | None = None, slug: str | None = None) -> None:
        super().__init__(detail, parameter=parameter)
        if slug:
            self.slug = slug


class TargetRefused(InvalidInput):
    """A webhook's target URL is not one events may be sent to (scheme, host or address)."""

    slug = "webhook-target-refused"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, parameter="url", slug=self.slug)


class NotFound(LegacyBridgeError):
    slug = "not-found"


class RecordQuarantined(NotFound):
    """No readable record has the key, but a bad record skipped under the ``quarantine``
    policy has it: which file, which record (number and byte offset) and why."""

    slug = "record-quarantined"

    def __init__(self, source: str, file: str, bad: dict) -> None:
        text, where = bad_record(file, bad)
        super().__init__(f"the record with this key is quarantined: {file} {text}", source=source, **where)


def bad_record(file: str, bad: dict) -> tuple[str, dict[str, Any]]:
    """A bad record of a data file (a survey's entry) as text and as a problem's members."""
    field = f", field {bad['field']}" if bad.get("field") else ""
    text = f"record {bad['record']} (byte offset {bad['offset']}){field}: {bad['reason']}"
    return text, {
        "file": file,
        "record": bad["record"],
        "offset": bad["offset"],
        "reason": bad["reason"],
        "field": bad.get("field"),
    }


class NotAuthenticated(LegacyBridgeError):
    """No credential, or one no key or token matches; ``challenge`` is the OAuth error code
    a client is told (``invalid_token``), if any."""

    slug = "unauthorized"

    def __init__(self, detail: str, challenge: str | None = None) -> None:
        super().__init__(detail)
        self.challenge = challenge


class NotPermitted(LegacyBridgeError):
    """The caller's scopes do not allow the call; ``required_scope`` says which would."""

    slug = "forbidden"

    def __init__(self, detail: str, required_scope: str) -> None:
        super().__init__(detail, required_scope=required_scope)


class RateLimited(LegacyBridgeError):
    """The caller went past a rate limit (``limit``); ``retry_after`` seconds until it resets."""

    slug = "rate-limited"
    retry_safe = True

    def __init__(self, detail: str, limit: str, retry_after: int) -> None:
        super().__init__(detail, limit=limit)
        self.retry_after = retry_after


class Conflict(LegacyBridgeError):
    """The call cannot be done in the state things are in (it may be later)."""

    slug = "conflict"


class CursorExpired(Conflict):
    """The cursor's file was replaced by a new version (or is gone) since it was issued."""

    slug = "cursor-expired"


class ScanLost(Conflict):
    """Another change scan took the resource over (this one outlived its lease)."""

    slug = "scan-lost"


class DuplicateKey(Conflict):
    """A write would create a second record with a key that exists."""

    slug = "duplicate-key"


class ConstraintViolated(Conflict):
    """The source refused a write: a constraint of its table does not hold."""

    slug = "constraint-violated"


class WriteConflict(Conflict):
    """A write kept meeting concurrent writers (deadlocks, locked tables); it may pass later."""

    slug = "write-conflict"


class BatchNotClosed(Conflict):
    """A drop's batch cannot close: its header or trailer cannot hold the batch's values."""

    slug = "batch-not-closed"


class IdempotencyKeyReused(LegacyBridgeError):
    """An Idempotency-Key already used for a call with another payload (or another path)."""

    slug = "idempotency-key-reused"


class IdempotencyKeyInUse(Conflict):
    """The first call with this Idempotency-Key is still running: retry after it ends."""

    slug = "idempotency-key-in-use"
    retry_after = 1


class PreconditionFailed(LegacyBridgeError):
    """``If-Match`` names another version of the record than the current one (``etag``)."""

    slug = "precondition-failed"

    def __init__(self, detail: str, etag: str | None = None, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.etag = etag


class PreconditionRequired(LegacyBridgeError):
    """The resource takes this write only with ``If-Match``."""

    slug = "precondition-required"


class KeyOrderError(LegacyBridgeError):
    """The source returned keys out of a change snapshot's order; a diff would be wrong."""

    slug = "key-order-mismatch"


class SourceError(LegacyBridgeError):
    """The legacy system answered with an error; ``legacy_code`` keeps its own code."""

    slug = "source-error"

    def __init__(self, detail: str, source: str, legacy_code: str | None = None, **extra: Any) -> None:
        super().__init__(detail, source=source, legacy_code=legacy_code, **extra)
        self.source = source
        self.legacy_code = legacy_code


class ActionRefused(SourceError):
    """A stored procedure or function raised an error on purpose (PostgreSQL's RAISE
    EXCEPTION, SQLSTATE P0001; MariaDB's SIGNAL SQLSTATE '45000'): a business rule refused
    the call.  ``legacy_code`` is the SQLSTATE; the detail is the routine's own message."""

    slug = "action-refused"


class ValueRefused(SourceError):
    """The source refused a value a call sent with a data exception (SQLSTATE class 22: out of
    range, too long, not a date): the caller's input, not the source's failure."""

    slug = "value-refused"


class SourceUnavailable(SourceError):
    """The legacy system cannot be reached; safe to retry after a pause."""

    slug = "source-unavailable"
    retry_safe = True
    retry_after = 5


class SourceBusy(SourceError):
    """The source's bulkhead is full: this worker already runs as many calls to it as it
    may (``max_calls``).  Not a failure of the source: never retried, never counted by
    its breaker."""

    slug = "source-busy"
    retry_safe = True
    retry_after = 1
    quiet = True


class IndexBuilding(SourceError):
    """A get by key came while the file version's key index is still being built (in the
    background, by this process or another): retry after ``retry_after`` seconds.  Not a
    failure of the source: never retried here, never counted by its breaker."""

    slug = "index-building"
    retry_safe = True

    def __init__(self, source: str, file: str, progress: dict[str, Any] | None) -> None:
        progress = progress or {}
        done = f" ({progress['percent']}% read)" if progress.get("percent") is not None else ""
        super().__init__(
            f"the key index of {file} is being built{done}; retry later",
            source=source,
            file=file,
            percent=progress.get("percent"),
            eta_s=progress.get("eta_s"),
        )
        eta = progress.get("eta_s")
        self.retry_after = max(1, min(60, int(eta))) if isinstance(eta, (int, float)) else 5


class SourceTimeout(SourceError):
    """The legacy system did not answer within the source's timeout."""

    slug = "source-timeout"
    retry_safe = True
    #: what became of the call's connection when a client-side deadline ended it
    #: (``closed``: cut by the watchdog; ``abandoned``: a connect left running); None otherwise
    discarded: str | None = None


class FileRejected(SourceError):
    """A data file holds a bad record and the source's policy is ``reject``.

    Refused like an unreachable source, but not a :class:`SourceUnavailable`: retrying
    cannot help until a new drop replaces the file, and a circuit breaker counting it
    as a failure would open and hide which record of which file is bad.
    """

    slug = "file-rejected"

    def __init__(self, source: str, file: str, bad: dict) -> None:
        text, where = bad_record(file, bad)
        super().__init__(f"{file} is refused: {text}", source=source, **where)
        #: what /readyz shows besides the slug: which record of which file, and why
        self.readiness = {k: v for k, v in self.extra.items() if k in ("file", "record", "offset", "reason", "field")}


class SourceFault(SourceError):
    """The legacy system refused the call with a fault of its own (a SOAP fault).

    It keeps ``fault_code`` and ``fault_string``.  A resource's config may say what some codes
    mean (``FAULT_KINDS``: "not found", "invalid input", "conflict", ...).
    """

    slug = "source-fault"

    def __init__(self, detail: str, source: str, fault_code: str, fault_string: str) -> None:
        super().__init__(detail, source, fault_code, fault_code=fault_code, fault_string=fault_string)


class FaultNotFound(SourceFault):
    """A fault whose code the source's config lists under ``faults.not_found``."""

    slug = "not-found"


class FaultInvalidInput(SourceFault):
    """A fault whose code the source's config lists under ``faults.invalid``."""

    slug = "invalid-input"


class FaultConflict(SourceFault):
    """A fault whose code the config lists under ``faults.conflict``: the call clashes with the
    record's state in the legacy system (a duplicate, a locked record)."""

    slug = "conflict"


class FaultUnprocessable(SourceFault):
    """A fault whose code the config lists under ``faults.unprocessable``: well-formed input the
    legacy system's business rules refuse."""

    slug = "unprocessable"


class FaultUnavailable(SourceFault):
    """A fault whose code the config lists under ``faults.unavailable``: the service answered,
    saying its back end is down.  ``retry_after`` comes from the config.  Not retried at once
    nor counted by the breaker: the service itself answered and said when to come back."""

    slug = "source-unavailable"
    retry_safe = True
    retry_after = 30


#: what a resource's ``faults:`` config names, and the error each kind of listed code becomes
#: (``bad_gateway`` is what an unlisted fault is anyway: listing a code there documents it)
FAULT_KINDS: dict[str, type[SourceFault]] = {
    "not_found": FaultNotFound,
    "invalid": FaultInvalidInput,
    "conflict": FaultConflict,
    "unprocessable": FaultUnprocessable,
    "bad_gateway": SourceFault,
    "unavailable": FaultUnavailable,
}


class Busy(LegacyBridgeError):
    """This worker already streams as many exports as it may (``service.max_exports``)."""

    slug = "busy"
    retry_safe = True
    retry_after = 1
    quiet = True


class Stopping(LegacyBridgeError):
    """The worker is stopping and the grace of in-flight streams is over (the last line
    of an NDJSON export cut this way)."""

    slug = "service-stopping"
    retry_safe = True
