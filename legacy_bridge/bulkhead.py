"""Bulkheads: at most so many calls at once, each source on its own, in each worker.

A source that goes silent keeps every call to it waiting until its deadline; without a
limit, every request thread of a worker would end up waiting on it and the healthy
sources would stop answering too.  A :class:`Bulkhead` gives a source ``limit`` places;
a call that finds none is refused at once (:class:`~legacy_bridge.errors.SourceBusy`, a
503 with ``Retry-After``), never queued.  A call abandoned at its deadline but still
running on a helper thread keeps its place until it ends (:meth:`Bulkhead.keep`), so a
silent source cannot pile up threads either.

:class:`Throttled` logs a repeated refusal at most once per interval, with the count.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from .errors import SourceBusy

__all__ = ["Bulkhead", "Throttled", "threads_left_for_short_requests"]

log = logging.getLogger("legacy_bridge.resilience")
LOG_INTERVAL = 10.0


def threads_left_for_short_requests(threads: int) -> int:
    """The default place count of a source in a worker of ``threads`` threads: all but one,
    so one source can never hold every thread."""
    return max(1, threads - 1)


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


class Bulkhead:
    """``limit`` places for the calls of one source in this process."""

    def __init__(self, source: str, limit: int) -> None:
        self.source = source
        self.limit = limit
        self.in_flight = 0
        self._lock = threading.Lock()
        self._refused = Throttled(f"source {source}: %d calls already running in this worker: call refused")

    def enter(self) -> None:
        """Take a place, or raise :class:`SourceBusy` at once."""
        with self._lock:
            if self.in_flight >= self.limit:
                refused = True
            else:
                refused = False
                self.in_flight += 1
        if refused:
            self._refused.note(self.limit)
            raise SourceBusy(f"source {self.source!r} already has {self.limit} calls running in this worker; "
                             f"try again shortly", self.source)

    def leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def keep(self) -> Callable[[], None]:
        """One more place, held by an abandoned call; the function it returns gives it back."""
        with self._lock:
            self.in_flight += 1
        given_back = threading.Event()

        def release() -> None:
            if not given_back.is_set():
                given_back.set()
                self.leave()
        return release
