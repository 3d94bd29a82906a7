"""The streams of one process take turns at fetching a batch (and at closing their cursor).

pyodbc lets go of the GIL around every row it fetches.  Two threads fetching at once hand the
GIL back and forth at each row: two SQLite exports of 1M rows in one gunicorn worker took 76 s
of CPU, a quarter of it in the kernel, where one alone takes 11 s.  A thread waiting for its turn
here does not compete for the GIL, and the one whose turn it is not still encodes and sends what
it has.  Pages do not take turns: their one fetch is short.  The turn is the process's, whatever
the source: one core runs the Python of every stream anyway.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from legacy_bridge.drivers import deadlines

__all__ = ["FETCHING", "turn"]

FETCHING = threading.Lock()


@contextmanager
def turn(timeout: float) -> Iterator[None]:
    """This thread's turn to fetch a batch of a stream.  After a batch's deadline (``timeout``
    and the grace) of waiting, the holder's source is silent and its watchdog is about to cut
    it: the fetch goes ahead without the turn rather than wait on another source."""
    taken = FETCHING.acquire(timeout=timeout + deadlines.GRACE)
    try:
        yield
    finally:
        if taken:
            FETCHING.release()
