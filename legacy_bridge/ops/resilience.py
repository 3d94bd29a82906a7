"""Resilience per source: a deadline and a bulkhead for every call, retries for
idempotent reads and a circuit breaker.

The Bridge puts a :class:`GuardedDriver` around each driver: the one place where a
call to a legacy system meets its source's policy, so drivers stay plain.

- Every call has a budget of the source's ``timeout`` (plus a short grace): connect,
  query and first rows (a get, a page, the start of a stream) end within it, enforced on
  the client side by the driver (:mod:`legacy_bridge.drivers.deadlines`); a stream's
  later batches get ``timeout`` each.  Retries happen only inside the budget.
- A bulkhead (:mod:`legacy_bridge.bulkhead`) lets at most ``max_calls`` calls run at
  once; the rest are refused at once (503 ``source-busy``).  A stream holds its place
  until it ends.

- Reads (``fetch`` up to its first row, ``get``) are retried with exponential backoff
  (tenacity) when the source could not be reached (:class:`SourceUnavailable`): the
  next attempt gets a fresh connection.  A timeout is not retried (the caller would
  wait ``attempts`` times the timeout), nor is a write, nor a row stream once it began.
- A circuit breaker (pybreaker) counts calls that end unreachable or timed out; after
  ``failures`` of them in a row it opens and every call fails at once with a 503 whose
  ``Retry-After`` is the rest of the cool-down.  After ``cooldown`` the next call is a
  trial (half-open): success closes the breaker, failure opens it again.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import UTC, datetime
from typing import Any, TypeVar

import pybreaker
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, stop_any, wait_exponential
from tenacity.stop import stop_base

from legacy_bridge.drivers import Driver, deadlines
from legacy_bridge.errors import SourceError, SourceTimeout, SourceUnavailable
from legacy_bridge.ops import metrics
from legacy_bridge.ops.bulkhead import Bulkhead, Throttled, threads_left_for_short_requests
from legacy_bridge.ops.policy import Policy
from legacy_bridge.query.legacy import Extent, NewKey, Quantiles, Query, Rows
from legacy_bridge.query.routines import Routine, RoutineResult

__all__ = ["GuardedDriver", "CircuitOpen", "DEFAULT_THREADS"]

T = TypeVar("T")
#: threads per worker assumed until the server says (gunicorn.conf.py's default)
DEFAULT_THREADS = 4


class CircuitOpen(SourceUnavailable):
    """The source's breaker is open: the call was not even tried."""

    quiet = True  # logged once per interval by the guard, not per request

    def __init__(self, source: str, remaining: float) -> None:
        super().__init__(
            f"source {source!r} is failing; calls are paused for {remaining:.1f}s more", source, breaker="open"
        )
        self.retry_after = max(1, math.ceil(remaining))


class _OutOfTime(stop_base):
    """Stop retrying when the next wait would outlast the call's deadline."""

    def __call__(self, retry_state: RetryCallState) -> bool:
        return deadlines.remaining(math.inf) <= retry_state.upcoming_sleep


def _retryable(error: BaseException) -> bool:
    return isinstance(error, SourceUnavailable) and not isinstance(error, CircuitOpen)


def _not_a_source_failure(error: BaseException) -> bool:
    # only "unreachable" and "timed out" say the source is unwell; a rejected query, a
    # SOAP fault or a client closing a stream early (GeneratorExit) do not
    return not isinstance(error, (SourceUnavailable, SourceTimeout))


class _StateGauge(pybreaker.CircuitBreakerListener):
    def __init__(self, guarded: GuardedDriver) -> None:
        self.guarded = guarded

    def state_change(self, cb: Any, old_state: Any, new_state: Any) -> None:
        metrics.breaker_state(self.guarded.name, new_state.name)


class GuardedDriver:
    """A driver behind its source's :class:`Policy`: its calls to the source (fetch, get,
    create, probe) go through the policy.  Not a :class:`Driver` itself: what the source can do
    is declared by ``driver``, the one it guards."""

    def __init__(self, driver: Driver, policy: Policy, measured: bool = True) -> None:
        self.driver = driver
        self.name = driver.name
        self.policy = policy
        self._storage = pybreaker.CircuitMemoryStorage(pybreaker.STATE_CLOSED)
        self.breaker = pybreaker.CircuitBreaker(
            fail_max=policy.failures,
            reset_timeout=policy.cooldown,
            exclude=[_not_a_source_failure],
            listeners=[_StateGauge(self)] if measured else [],
            state_storage=self._storage,
            name=driver.name,
            throw_new_error_on_trip=False,
        )  # the caller sees the source's own error
        self.measured = measured
        self._calls = metrics.SourceCalls(driver.name) if measured else metrics.UNMEASURED
        if measured:
            metrics.breaker_state(self.name, pybreaker.STATE_CLOSED)
        self._budget = math.inf if policy.timeout is None else policy.timeout + deadlines.GRACE
        self.bulkhead = Bulkhead(self.name, policy.max_calls or threads_left_for_short_requests(DEFAULT_THREADS))
        self._refused = Throttled(f"source {self.name}: circuit breaker open, call refused")
        self._probe_lock = threading.Lock()
        self._probing: Future | None = None

    @property
    def kind(self) -> str:
        return self.driver.kind

    def fit_threads(self, threads: int) -> None:
        """Size the bulkhead for a worker of ``threads`` request threads, unless the
        source's ``max_calls`` says otherwise."""
        if self.policy.max_calls is None:
            self.bulkhead.limit = threads_left_for_short_requests(threads)

    # -- state ------------------------------------------------------------------------

    def remaining_cooldown(self) -> float:
        opened = self._storage.opened_at
        if self.breaker.current_state != pybreaker.STATE_OPEN or opened is None:
            return 0.0
        return max(0.0, opened.timestamp() + self.policy.cooldown - datetime.now(UTC).timestamp())

    def breaker_state(self) -> str:
        """``closed``, ``open`` or ``half-open`` (open with its cool-down over: the next call is a trial)."""
        state = self.breaker.current_state
        if state == pybreaker.STATE_OPEN and self.remaining_cooldown() == 0.0:
            return pybreaker.STATE_HALF_OPEN
        return state

    # -- the guarded calls ------------------------------------------------------------

    def _enter(self) -> None:
        try:
            self.bulkhead.enter()
        except SourceError:
            self._calls.busy()
            raise

    def _guard(self, generator: Callable[[], Generator[T, None, None]]) -> Generator[T, None, None]:
        """``generator()`` under the breaker.  A generator function, so pybreaker holds
        its lock only while admitting the call, never while the source works."""
        try:
            return self.breaker.call(generator)
        except pybreaker.CircuitBreakerError:
            self._calls.rejected()
            self._refused.note()
            raise CircuitOpen(self.name, self.remaining_cooldown()) from None

    def _once(
        self, operation: str, call: Callable[[], T], retry: bool, budget: float | None = None, bulkhead: bool = True
    ) -> T:
        def attempt() -> Generator[T, None, None]:
            with self._calls.timed(operation):
                yield self._retried(call) if retry else call()

        if bulkhead:
            self._enter()
        token = deadlines.begin(self._budget if budget is None else budget, self.bulkhead.keep)
        try:
            (result,) = self._guard(attempt)  # running it to the end tells the breaker "success"
        finally:
            deadlines.end(token)
            if bulkhead:
                self.bulkhead.leave()
        return result

    def _retried(self, call: Callable[[], T]) -> T:
        """``call()``; while the source is unreachable, again with backoff (first try
        untouched), as long as the call's budget leaves time for it."""
        try:
            return call()
        except SourceUnavailable as error:
            if self.policy.attempts < 2 or not _retryable(error):
                raise
            failed: list[BaseException] = [error]

        # tenacity takes over as if its own first attempt had failed with that error
        def attempt() -> T:
            if failed:
                raise failed.pop()
            return call()

        retrying = Retrying(
            stop=stop_any(stop_after_attempt(self.policy.attempts), _OutOfTime()),
            reraise=True,
            wait=wait_exponential(multiplier=self.policy.backoff, max=max(self.policy.backoff, 5)),
            retry=retry_if_exception(_retryable),
            before_sleep=lambda _: self._calls.retried(),
        )
        return retrying(attempt)

    def fetch(self, target: dict[str, Any], query: Query) -> Rows:
        """The driver's rows; the source's place in the bulkhead is held until the rows
        are read to the end or closed (iterate or close what this returns)."""

        def start() -> tuple[list[tuple], Iterator[tuple]]:
            rows = self.driver.fetch(target, query)
            try:
                return [next(rows)], rows
            except StopIteration:
                return [], iter(())
            except BaseException:
                rows.close()
                raise

        def read() -> Rows:
            rows: Iterator[tuple] = iter(())
            try:
                token = deadlines.begin(self._budget, self.bulkhead.keep)
                try:
                    with self._calls.timed("fetch"):  # up to the first row: a stream's rest is the client's pace
                        first, rows = self._retried(start)
                finally:
                    deadlines.end(token)
                yield from first
                try:
                    yield from rows
                except SourceError as error:  # a later batch cut at its deadline
                    self._calls.discarded(getattr(error, "discarded", None))
                    raise
            finally:
                self.bulkhead.leave()
                close = getattr(rows, "close", None)
                if close is not None:
                    close()

        self._enter()
        try:
            return self._guard(read)
        except BaseException:
            self.bulkhead.leave()
            raise

    def fetch_all(self, target: dict[str, Any], query: Query) -> list[tuple]:
        """A small read at once (the children of a page), retried as a get is."""
        return self._once("fetch", lambda: self.driver.fetch_all(target, query), retry=True)

    def get(self, target: dict[str, Any], key: dict[str, Any], columns: list[str]) -> tuple | None:
        return self._once("get", lambda: self.driver.get(target, key, columns), retry=True)

    def key_quantiles(self, target: dict[str, Any], query: Query, parts: int) -> Quantiles:
        return self._once("partitions", lambda: self.driver.key_quantiles(target, query, parts), retry=True)

    def byte_ranges(self, parts: int) -> list[Extent]:
        return self._once("partitions", lambda: self.driver.byte_ranges(parts), retry=True)

    def create(self, target: dict[str, Any], values: dict[str, Any], columns: list[str]) -> tuple | None:
        # a write is never retried: the source may have done it before the link broke
        return self._once("create", lambda: self.driver.create(target, values, columns), retry=False)

    def insert(
        self,
        target: dict[str, Any],
        rows: list[dict[str, Any]],
        key: NewKey,
        before_commit: Callable[[list[Any]], None] | None = None,
        read: tuple[list[str], list[str]] | None = None,
    ) -> list[Any]:
        return self._once("insert", lambda: self.driver.insert(target, rows, key, before_commit, read), retry=False)

    def update(
        self,
        target: dict[str, Any],
        key: dict[str, Any],
        values: dict[str, Any],
        columns: list[str],
        check: Callable[[tuple], None] | None = None,
    ) -> tuple[tuple, tuple] | None:
        return self._once("update", lambda: self.driver.update(target, key, values, columns, check), retry=False)

    def delete(
        self,
        target: dict[str, Any],
        key: dict[str, Any],
        columns: list[str],
        check: Callable[[tuple], None] | None = None,
    ) -> tuple | None:
        return self._once("delete", lambda: self.driver.delete(target, key, columns, check), retry=False)

    def call_routine(self, routine: Routine) -> RoutineResult:
        # retried only when declared read-only: a routine that writes may have run before the link broke
        return self._once("call", lambda: self.driver.call_routine(routine), retry=routine.read_only)

    def probe(self, timeout: float) -> None:
        """Probe the source within ``timeout``.  Probes pass by the bulkhead (a busy source
        is not an unready one), one at a time: a probe asked while another runs shares
        its outcome."""
        with self._probe_lock:
            mine = self._probing is None
            if self._probing is None:
                self._probing = Future()
            running: Future = self._probing
        if not mine:
            try:
                return running.result(timeout + deadlines.GRACE)
            except FutureTimeout:
                raise SourceTimeout(f"source {self.name!r} did not answer in time", self.name) from None
        try:
            self._once(
                "probe",
                lambda: self.driver.probe(timeout),
                retry=False,
                budget=timeout + deadlines.GRACE,
                bulkhead=False,
            )
            running.set_result(None)
        except BaseException as error:
            running.set_exception(error)
            raise
        finally:
            with self._probe_lock:
                self._probing = None

    def close(self) -> None:
        self.driver.close()

    def quarantine(self, limit: int = 1000) -> dict[str, Any]:
        """The driver's bad records (reads its own surveys, not the source: unguarded)."""
        return self.driver.quarantine(limit)

    def report_usage(self) -> None:
        """Publish the driver's pool usage (connections in use and pool size) and the calls
        running now as metrics."""
        if not self.measured:
            return
        usage = self.driver.pool_usage()
        if usage is not None:
            metrics.pool_usage(self.name, *usage)
        metrics.calls_in_flight(self.name, self.bulkhead.in_flight)


def guard(driver: Driver, options: dict[str, Any], measured: bool = True) -> GuardedDriver:
    """``driver`` behind the policy of its source config ``options``; ``measured``:
    its calls, errors and breaker state feed the Prometheus metrics."""
    return GuardedDriver(driver, Policy.of(options, driver.default_timeout), measured)
