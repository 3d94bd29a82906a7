"""The grace a stopping worker gives the streams it serves.

When a gunicorn worker begins to stop (SIGTERM: a stop, or a reload replacing it), the
requests in flight may finish; a stream that is still going when the grace ends stops
itself between two chunks with its documented error line, so the worker ends before
the master's graceful timeout kills it (see :mod:`legacy_bridge.ops.gunicorn_worker`).
"""

from __future__ import annotations

import time

__all__ = ["begin", "due", "stream_grace", "cut_after"]

_ends_at: float | None = None


def stream_grace(graceful_timeout: float) -> float:
    """How long streams may go on after a stop began: the graceful timeout less a fifth
    of it (at most 5 s), left to cut them, close connections and exit."""
    return max(0.0, graceful_timeout - min(5.0, graceful_timeout * 0.2))


def cut_after(graceful_timeout: float) -> float:
    """When, after a stop began, responses still blocked on their client are ended: half
    way between the streams' grace and the graceful timeout."""
    grace = stream_grace(graceful_timeout)
    return grace + (graceful_timeout - grace) / 2


def begin(grace: float) -> None:
    """This process stops: streams may go on for ``grace`` seconds more."""
    global _ends_at
    ends = time.monotonic() + grace
    if _ends_at is None or ends < _ends_at:
        _ends_at = ends


def due() -> bool:
    """Whether streams must end now."""
    return _ends_at is not None and time.monotonic() >= _ends_at
