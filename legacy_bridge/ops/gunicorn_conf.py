"""gunicorn settings for legacy-bridge in production.

    LEGACY_BRIDGE_CONFIG=/etc/legacy-bridge.yaml gunicorn -c gunicorn.conf.py wsgi:app
    gunicorn -c python:legacy_bridge.ops.gunicorn_conf 'legacy_bridge.app:create_app()'

(the repository's ``gunicorn.conf.py`` imports this module; ``legacy-bridge demo`` uses it too).
The module is imported once per master: a reload (SIGHUP) keeps these settings and the
metrics directory of the running server; restart the master to change them.

Every default can be changed from the environment (README, "Running in production"):

    GUNICORN_BIND              127.0.0.1:8000      where to listen (0.0.0.0:8000 behind a proxy)
    WEB_CONCURRENCY            2 x CPU cores       worker processes
    GUNICORN_THREADS           4                   threads per worker (gthread); 1 = sync workers
    GUNICORN_TIMEOUT           60                  seconds a silent worker lives before it is restarted
    GUNICORN_GRACEFUL_TIMEOUT  30                  seconds in-flight requests get after SIGTERM
    GUNICORN_KEEPALIVE         5                   seconds an idle keep-alive connection stays open
    GUNICORN_MAX_REQUESTS      0                   recycle a worker after so many requests (0: never)
    GUNICORN_CONTROL_SOCKET    (none)              path of gunicorn's control socket (off without it)
    PROMETHEUS_MULTIPROC_DIR   a fresh temp dir    where workers write their metrics

Legacy calls wait on I/O, so each worker serves several requests on threads; every
worker keeps its own connection pools (pool size x workers connections per source).

Sizing (per worker, README "Running in production"): of GUNICORN_THREADS threads, each
source may hold threads - 1 at once (its bulkhead, ``max_calls``) and exports may hold
half (``service.max_exports``), so a silent source or a burst of exports always leaves
threads for short requests.  Memory: a worker's base (~65 MiB) plus, per export
streaming at once, its batch and the driver's fetch buffer (~7.5 MiB with psqlODBC's
Fetch=1000, ~13 MiB with Fetch=10000; bench/export): ~80 MiB for 4 threads, 2 exports.

Stop and reload: SIGTERM and SIGHUP give in-flight requests the same grace.  The worker
(legacy_bridge.ops.gunicorn_worker) stops listening at once, lets streams run for the
graceful timeout less a fifth (at most 5 s), then ends them with their documented
error and exits before GUNICORN_GRACEFUL_TIMEOUT.
The app writes one JSON access line per request (request id, key id, route, status,
duration, source) on stderr; gunicorn's own access log would repeat it and is off, and
its error log is JSON too.
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = _int("WEB_CONCURRENCY", 2 * (os.cpu_count() or 1))
threads = _int("GUNICORN_THREADS", 4)
# gthread that stops listening when it drains and ends its streams in time (see above)
worker_class = "legacy_bridge.ops.gunicorn_worker.ThreadWorker" if threads > 1 else "sync"
timeout = _int("GUNICORN_TIMEOUT", 60)  # above every source's timeout x retry attempts
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
max_requests = _int("GUNICORN_MAX_REQUESTS", 0)
max_requests_jitter = max_requests // 10
preload_app = True  # a bad config stops the master at once, not every worker in a loop
# gunicorn's control socket sits at one fixed path per user, which several servers on a
# host would share: only where GUNICORN_CONTROL_SOCKET names a path of its own
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET") or None
control_socket_disable = control_socket is None
if control_socket is None:
    del control_socket

accesslog = None
errorlog = "-"
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "legacy_bridge.ops.logs.JsonFormatter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "root": {"handlers": ["stderr"], "level": "WARNING"},
    "loggers": {"gunicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False}},
}

# Prometheus multiprocess mode: the directory must be known before prometheus_client is
# imported (by the app, preloaded in this process), so it is set here.
_OWN_METRICS_DIR = not os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if _OWN_METRICS_DIR:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="legacy-bridge-metrics-")
_METRICS_DIR = os.environ["PROMETHEUS_MULTIPROC_DIR"]
os.makedirs(_METRICS_DIR, exist_ok=True)
# samples of an earlier run would be added to this one's
for _stale in glob.glob(os.path.join(_METRICS_DIR, "*.db")):
    os.remove(_stale)


def child_exit(server, worker) -> None:
    """A worker is gone: its live gauges (pool usage, breaker state) no longer count."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker) -> None:
    """Each worker sizes its bulkheads and export limit for its threads, and publishes its
    pool sizes at once: a scrape answered by another worker would otherwise miss them
    until this one happens to answer one."""
    from legacy_bridge.ops.metrics import report_pools

    bridge = getattr(getattr(worker, "wsgi", None), "extensions", {}).get("legacy_bridge")
    if bridge is not None:
        from legacy_bridge.index_builds import start_index_builds

        bridge.fit_threads(worker.cfg.threads)
        report_pools(bridge)
        start_index_builds(bridge)  # flat-file key indexes: built in the background from now
        bridge.start_drop_timers()  # every worker closes batches on time, not only those that wrote one


def worker_exit(server, worker) -> None:
    """Close the legacy connections of a worker that stops (after its graceful timeout)."""
    bridge = getattr(getattr(worker, "wsgi", None), "extensions", {}).get("legacy_bridge")
    if bridge is not None:
        bridge.close()


def on_exit(server) -> None:
    if _OWN_METRICS_DIR:
        shutil.rmtree(_METRICS_DIR, ignore_errors=True)
