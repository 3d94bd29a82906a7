"""The gunicorn worker legacy-bridge runs in (``gunicorn.conf.py`` names it): gunicorn's
threaded worker, stopping the way the README documents.

A stop (SIGTERM to the master) and a reload (SIGHUP: the old workers get SIGTERM) end a
worker the same way:

- It stops listening at once: gunicorn's worker only stops *accepting*, keeping its
  copy of the listening socket open while it drains, so the kernel went on accepting
  connections that nobody would serve, reset them when the worker exited.  Here the
  worker closes its copies: on a stop the socket is gone once the master and every
  worker have closed theirs (new connections are refused), on a reload the new workers
  take the new connections.
- Requests in flight may finish.  Streams get :func:`legacy_bridge.stopping.stream_grace`
  (the graceful timeout less a fifth, at most 5 s): then they end themselves with their
  documented error line.  A response still blocked on a client that stopped reading is
  ended a little later (:func:`~legacy_bridge.stopping.cut_after`) by shutting its
  connection down, so no thread outlives the graceful timeout.
- The process exits before the master's graceful timeout would kill it; its pools are
  closed by ``worker_exit``.  Uncaught exceptions in any thread are logged as JSON lines.

A worker with requests in flight leaves a new connection to an idle worker for a moment
(:data:`HANDOFF`) before it accepts it, so parallel reads (partitions) spread over the workers.
"""

from __future__ import annotations

import logging
import socket
import sys
import threading
import time

from gunicorn.workers.gthread import ThreadWorker as GunicornThreadWorker

from legacy_bridge.ops import stopping

__all__ = ["ThreadWorker"]

log = logging.getLogger("legacy_bridge")

#: how long a worker with requests in flight leaves a new connection to an idle worker
HANDOFF = 0.002


def _log_uncaught(exc_type, exc, tb) -> None:  # noqa: ANN001
    log.error("uncaught exception", exc_info=(exc_type, exc, tb))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is not SystemExit:
        log.error("uncaught exception in thread %s", getattr(args.thread, "name", "?"), exc_info=args.exc_value)


class ThreadWorker(GunicornThreadWorker):
    """gunicorn's ``gthread`` worker that stops listening when it drains and ends its
    streams within the graceful timeout."""

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self._running: dict = {}  # future -> connection, for requests in flight
        self._cut_at: float | None = None
        self._cut = False

    def init_process(self) -> None:
        sys.excepthook = _log_uncaught
        threading.excepthook = _log_uncaught_in_thread
        super().init_process()

    def handle_exit(self, sig, frame) -> None:  # noqa: ANN001
        """SIGTERM: drain (gunicorn), with a grace for streams."""
        if self.alive:
            stopping.begin(stopping.stream_grace(self.cfg.graceful_timeout))
            self._cut_at = time.monotonic() + stopping.cut_after(self.cfg.graceful_timeout)
        super().handle_exit(sig, frame)

    def set_accept_enabled(self, enabled: bool) -> None:
        super().set_accept_enabled(enabled)
        if not enabled and not self.alive:  # draining: let go of the listening sockets
            for listener in self.sockets:
                listener.close()

    def accept(self, listener) -> None:  # noqa: ANN001
        """Take a new connection; a worker with requests in flight first leaves it a moment to
        an idle one.  Every worker is woken by a connection and the first to accept takes it:
        the worker that has just taken the first of two partitions asked at once was back
        first, and the two shared its one core while the other worker idled."""
        if self._running:
            time.sleep(HANDOFF)
        super().accept(listener)

    def enqueue_req(self, conn) -> None:  # noqa: ANN001
        future = self.tpool.submit(self.handle, conn)
        self._running[future] = conn

        def done(fut) -> None:  # noqa: ANN001
            self._running.pop(fut, None)
            self.method_queue.defer(self.finish_request, conn, fut)

        future.add_done_callback(done)

    def murder_keepalived(self, force: bool = False) -> None:
        """(Called on every turn of the main loop.)  Past the streams' grace, shut down the
        connections of requests still running: their threads, blocked on clients that
        stopped reading, end now."""
        super().murder_keepalived(force)
        if self._cut or self._cut_at is None or time.monotonic() < self._cut_at:
            return
        self._cut = True
        stuck = list(self._running.values())
        if stuck:
            log.warning("worker stopping: ending %d response(s) still in flight after the grace", len(stuck))
        for conn in stuck:
            try:
                conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
