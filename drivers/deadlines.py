"""Client-side deadlines for calls to legacy systems.

A legacy system that goes silent (a firewall dropping packets, a proxy whose backend
hangs, a half-open connection after a failover) never answers and never refuses: a
driver waiting for it waits for ever.  Server-side timeouts cannot help (the server
never got the query), so every call is bounded here, on the client side.

- A **budget** is the moment a call must have ended by.  The caller that owns the
  source's policy (:mod:`legacy_bridge.resilience`) opens one per call with
  :func:`budget`; a driver reads it with :func:`deadline` (a stream's later batches,
  read outside any call, get ``now + timeout`` each).
- The **watchdog** is one thread per process.  A driver arms it around a blocking call
  with the deadline and a way to unblock the call (shutting down the connection's
  socket); a call still running at its deadline is unblocked and fails at once.  Arming
  and disarming cost a dictionary insert and pop: nothing is handed to another thread.
- Where no such handle exists (a connect, which has no socket yet), :func:`run_bounded`
  runs the call on a helper thread and stops waiting at the deadline.  The abandoned call
  keeps its caller's bulkhead slot (:attr:`Budget.keep`) until it ends, and what it
  returns late is disposed of, never used.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any, TypeVar

__all__ = [
    "Budget",
    "budget",
    "begin",
    "end",
    "deadline",
    "remaining",
    "Watchdog",
    "WATCHDOG",
    "run_bounded",
    "Abandoned",
    "GRACE",
]

T = TypeVar("T")
#: added to a source's timeout for the client-side deadline, so that a live server's own
#: timeout (which cancels the query and keeps the connection) ends a slow call first
GRACE = 0.25
IDLE = 1.0  # how often the watchdog looks when nothing is armed


def _keep_nothing() -> Callable[[], None]:
    return _release_nothing


def _release_nothing() -> None:
    pass


class Budget:
    """A call's deadline (``time.monotonic()``) and how an abandoned helper keeps the
    caller's place: ``keep()`` holds it and returns the function that gives it back."""

    __slots__ = ("deadline", "keep")

    def __init__(self, deadline: float, keep: Callable[[], Callable[[], None]] = _keep_nothing) -> None:
        self.deadline = deadline
        self.keep = keep


_budget: ContextVar[Budget | None] = ContextVar("legacy_bridge_call_budget", default=None)


def begin(seconds: float, keep: Callable[[], Callable[[], None]] = _keep_nothing) -> Token:
    """Open a budget of ``seconds`` from now (or the enclosing one's, if sooner); close it
    with :func:`end`.  (:func:`budget` is the same as a context manager.)"""
    outer = _budget.get()
    ends = time.monotonic() + seconds
    return _budget.set(Budget(ends if outer is None or ends < outer.deadline else outer.deadline, keep))


def end(token: Token) -> None:
    _budget.reset(token)


@contextmanager
def budget(seconds: float, keep: Callable[[], Callable[[], None]] = _keep_nothing) -> Iterator[None]:
    """The calls made inside end within ``seconds`` from now (or the enclosing budget's
    deadline, if that is sooner)."""
    token = begin(seconds, keep)
    try:
        yield
    finally:
        end(token)


def deadline(default: float) -> float:
    """The current call's deadline; outside a call (a stream's next batch), ``default``
    seconds from now."""
    current = _budget.get()
    return current.deadline if current is not None else time.monotonic() + default


def remaining(default: float) -> float:
    """Seconds left until :func:`deadline` (``default`` outside a call); never negative."""
    return max(0.0, deadline(default) - time.monotonic())


class _Watch:
    __slots__ = ("deadline", "unblock", "fired")

    def __init__(self, deadline: float, unblock: Callable[[], None]) -> None:
        self.deadline = deadline
        self.unblock = unblock
        self.fired = False


class Watchdog:
    """Unblocks calls still running at their deadline; one thread per process, started
    on first use (and again in a forked child)."""

    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._armed: dict[int, _Watch] = {}
        self._wakes_at = float("inf")  # when the thread next looks, unless notified
        self._thread: threading.Thread | None = None

    def arm(self, deadline: float, unblock: Callable[[], None]) -> _Watch:
        """Watch a call that must end by ``deadline``; ``unblock()`` makes it fail."""
        watch = _Watch(deadline, unblock)
        with self._lock:
            self._armed[id(watch)] = watch
            if deadline < self._wakes_at:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="legacy-bridge-watchdog", daemon=True)
                    self._thread.start()
                self._changed.notify()
        return watch

    def disarm(self, watch: _Watch) -> bool:
        """The call has ended; True if it was unblocked (its connection is unusable)."""
        with self._lock:
            self._armed.pop(id(watch), None)
        return watch.fired

    @contextmanager
    def watching(self, deadline: float, unblock: Callable[[], None]) -> Iterator[_Watch]:
        watch = self.arm(deadline, unblock)
        try:
            yield watch
        finally:
            self.disarm(watch)

    def _run(self) -> None:
        # With nothing armed the thread still looks every IDLE seconds rather than sleep
        # for ever: a call armed next (its deadline further away) then needs no notify,
        # which would cost every call a thread switch.
        while True:
            with self._lock:
                now = time.monotonic()
                due = [w for w in self._armed.values() if w.deadline <= now]
                for watch in due:
                    watch.fired = True
                    del self._armed[id(watch)]
                if not due:
                    self._wakes_at = min((w.deadline for w in self._armed.values()), default=now + IDLE)
                    self._changed.wait(self._wakes_at - now)
                    continue
            for watch in due:
                try:
                    watch.unblock()
                except Exception:  # noqa: BLE001 - a failed unblock must not stop the watchdog
                    pass


WATCHDOG = Watchdog()


class Abandoned(TimeoutError):
    """:func:`run_bounded` stopped waiting: the call goes on without its caller."""


def run_bounded(
    call: Callable[[], T], deadline: float, dispose: Callable[[T], Any], name: str = "legacy-bridge-bounded"
) -> T:
    """``call()`` on a helper thread, waited for until ``deadline``.

    Past the deadline, raise :class:`Abandoned` at once.  The call runs on; whatever it
    returns is handed to ``dispose`` (e.g. a connection, closed), and the current
    budget's place is kept (:attr:`Budget.keep`) until then, so a silent source cannot
    pile up helper threads beyond its bulkhead.
    """
    lock = threading.Lock()
    finished = threading.Event()
    outcome: list[Any] = []  # [result] or [None, exception]
    left: list[Callable[[], None]] = []  # set once the caller is gone: give its place back

    def body() -> None:
        try:
            result: list[Any] = [call()]
        except BaseException as error:  # noqa: BLE001 - handed to the caller, or dropped
            result = [None, error]
        with lock:
            outcome[:] = result
            finished.set()
            release = left[0] if left else None
        if release is not None:
            try:
                if len(result) == 1:
                    dispose(result[0])
            finally:
                release()

    threading.Thread(target=body, name=name, daemon=True).start()
    if not finished.wait(max(0.0, deadline - time.monotonic())):
        current = _budget.get()
        with lock:
            if not finished.is_set():
                left.append((current.keep if current is not None else _keep_nothing)())
                raise Abandoned(f"no answer within the deadline ({name})")
    if len(outcome) == 2:
        raise outcome[1]
    return outcome[0]
