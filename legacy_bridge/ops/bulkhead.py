"""Bulkheads: at most so many calls at once, each source on its own, in each worker.

A source that goes silent keeps every call to it waiting until its deadline; without a
limit, every request thread of a worker would end up waiting on it and the healthy
sources would stop answering too.  A :class:`Bulkhead` gives a source ``limit`` places;
a call that finds none is refused at once (:class:`~legacy_bridge.errors.SourceBusy`, a
503 with ``Retry-After``), never queued.  A call abandoned at its deadline but still
running on a helper thread keeps its place until it ends (:meth:`Bulkhead.keep`), so a
silent source cannot pile up threads either.

Exports are limited the same way per worker (:func:`streams_for`, ``service.max_exports``):
a long stream holds a thread for its whole length, so a worker streams only so many at
once and keeps its other threads for short requests.

:class:`Throttled` logs a repeated refusal at most once per interval, with the count.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from legacy_bridge.errors import SourceBusy

__all__ = ["Places", "Bulkhead", "Throttled", "threads_left_for_short_requests", "streams_for"]

log = logging.getLogger("legacy_bridge.resilience")
LOG_INTERVAL = 10.0


def threads_left_for_short_requests(threads: int) -> int:
    """The default place count of a source in a worker of ``threads`` threads: all but one,
    so one source can never hold every thread."""
    return max(1, threads - 1)


def streams_for(threads: int) -> int:
    """The default number of exports a worker of ``threads`` threads streams at once: half
    of them, so the other half always serves short requests."""
    return max(1, threads // 2)


class Throttled:
    """One warning per ``interval`` for an event that repeats, saying how often it did."""

    def __init__(self, message: str, interval: float = LOG_INTERVAL) -> None:
        self.message = message
        self.interval = interval
        self._lock = threading.Lock()
        self._count = 0
        self._logged = -float("inf")

    def note(self, *args: object) -> None:
        with self._lock:
            self._count += 1
            now = time.monotonic()
            if now - self._logged < self.interval:
                return
            count, self._count, self._logged = self._count, 0, now
        log.warning(self.message + " (%d time(s) since the last such line)", *args, count)


class Places:
    """``limit`` places for calls that run at once in this process; ``refusal(limit)`` is
    the error of a call that finds none.

    The free places are tokens in a list: ``pop`` and ``append`` are atomic in CPython, so
    taking and giving back a place costs no lock (it happens on every call).  Places owed
    (an abandoned call kept one while none was free, or the limit was lowered while in
    use) are taken from the next ones given back.
    """

    def __init__(self, limit: int, refusal: Callable[[int], Exception], refused_line: str) -> None:
        self._free: list[None] = []
        self._owed = 0
        self._limit = 0
        self._lock = threading.Lock()  # for the rare paths: owing, changing the limit
        self._refusal = refusal
        self._refused = Throttled(refused_line)
        self.limit = limit

    @property
    def limit(self) -> int:
        return self._limit

    @limit.setter
    def limit(self, limit: int) -> None:
        with self._lock:
            change, self._limit = limit - self._limit, limit
            self._free.extend([None] * max(0, change))
            for _ in range(-change):
                try:
                    self._free.pop()
                except IndexError:
                    self._owed += 1

    @property
    def in_flight(self) -> int:
        """Places taken now (abandoned calls included)."""
        return self._limit - len(self._free) + self._owed

    def enter(self) -> None:
        """Take a place, or raise the refusal at once."""
        try:
            self._free.pop()
        except IndexError:
            self._refused.note(self._limit)
            raise self._refusal(self._limit) from None

    def leave(self) -> None:
        if self._owed:
            with self._lock:
                if self._owed:
                    self._owed -= 1
                    return
        self._free.append(None)

    def keep(self) -> Callable[[], None]:
        """One more place, for a call abandoned while it runs on: taken now, or owed when
        none is free; the function returned gives it back (once)."""
        try:
            self._free.pop()
        except IndexError:
            with self._lock:
                self._owed += 1
        given_back = threading.Event()

        def release() -> None:
            if not given_back.is_set():
                given_back.set()
                self.leave()

        return release


class Bulkhead(Places):
    """The places of one source's calls (``max_calls``)."""

    def __init__(self, source: str, limit: int) -> None:
        super().__init__(
            limit,
            lambda n: SourceBusy(
                f"source {source!r} already has {n} calls running in this worker; try again shortly", source
            ),
            f"source {source}: %d calls already running in this worker: call refused",
        )
        self.source = source
