"""gunicorn.conf.py: workers and threads from the environment, JSON logs, Prometheus
metrics added up over every worker (multiprocess mode), dead workers' gauges dropped,
and a clean stop on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from helpers.backends import ROOT, crm_config
from helpers.servers import HOST, child_pids, free_port, get, serve_process


def _until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


def metrics(url: str) -> dict[tuple, float]:
    status, _, body = get(url + "/metrics")
    assert status == 200, body
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
    }


def _pids_with(directory: Path, prefix: str) -> set[int]:
    return {int(p.stem.rsplit("_", 1)[1]) for p in directory.glob(f"{prefix}*.db")}


@pytest.fixture(scope="module")
def served(sqlite_backend, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gunicorn-conf")
    config = tmp / "legacy-bridge.yaml"
    config.write_text(yaml.safe_dump(crm_config(sqlite_backend.connection)))
    metrics_dir = tmp / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"left by an earlier run")  # must be wiped
    port = free_port()
    argv = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "wsgi:app"]
    env = {
        "LEGACY_BRIDGE_CONFIG": str(config),
        "GUNICORN_BIND": f"{HOST}:{port}",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "2",
        "GUNICORN_GRACEFUL_TIMEOUT": "5",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    with serve_process(argv, port, tmp / "gunicorn.log", cwd=ROOT, env=env) as server:
        server.metrics_dir = metrics_dir
        _until(lambda: len(child_pids(server.process.pid)) == 2)
        yield server
    assert server.process.returncode == 0, server.log()


def test_workers_and_threads_come_from_the_environment(served):
    assert len(child_pids(served.process.pid)) == 2
    assert "Using worker: legacy_bridge.ops.gunicorn_worker.ThreadWorker" in served.log()  # gthread, draining cleanly


def test_metrics_add_up_every_workers_requests(served):
    before = metrics(served.url)
    key = ("legacy_bridge_http_requests_total", (("method", "GET"), ("route", "/v1/customers"), ("status", "200")))
    sent = 0
    # until both workers have answered some (the kernel picks which one accepts)
    while len(_pids_with(served.metrics_dir, "histogram_")) < 2 or sent < 20:
        assert get(served.url + "/v1/customers?limit=2")[0] == 200
        sent += 1
        assert sent < 500, "one worker answered everything"
    assert 1 not in _pids_with(served.metrics_dir, "counter_")  # the stale file was wiped
    for _ in range(4):  # whichever worker answers the scrape, the sum is the same
        after = metrics(served.url)
        assert after[key] - before.get(key, 0) == sent
    assert after[("legacy_bridge_pool_size", (("source", "crm"),))] == 10  # 5 per worker, summed
    assert after[("legacy_bridge_breaker_state", (("source", "crm"),))] == 0


def test_every_log_line_is_json(served):
    get(served.url + "/v1/customers/1")
    lines = [line for line in served.log().splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]
    assert any(e.get("logger") == "gunicorn.error" and "Booting worker" in e["message"] for e in entries)
    access = [e for e in entries if e.get("logger") == "legacy_bridge.access"]
    assert access and {"request_id", "route", "status", "duration_ms", "source", "key_id"} <= set(access[-1])


def test_a_dead_workers_live_gauges_are_dropped_and_its_counts_kept(served):
    key = ("legacy_bridge_http_requests_total", (("method", "GET"), ("route", "/v1/customers"), ("status", "200")))
    get(served.url + "/v1/customers?limit=1")
    before = metrics(served.url)[key]
    victim = next(
        pid for pid in child_pids(served.process.pid) if pid in _pids_with(served.metrics_dir, "gauge_livesum_")
    )
    os.kill(victim, signal.SIGTERM)
    _until(lambda: victim not in child_pids(served.process.pid) and len(child_pids(served.process.pid)) == 2)
    _until(lambda: victim not in _pids_with(served.metrics_dir, "gauge_livesum_"))
    assert victim not in _pids_with(served.metrics_dir, "gauge_livemax_")
    assert metrics(served.url)[key] == before  # its requests still count


def test_without_a_metrics_dir_gunicorn_makes_one_and_removes_it_on_exit(sqlite_backend, tmp_path):
    config = tmp_path / "legacy-bridge.yaml"
    config.write_text(yaml.safe_dump(crm_config(sqlite_backend.connection)))
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    port = free_port()
    env = {
        "LEGACY_BRIDGE_CONFIG": str(config),
        "GUNICORN_BIND": f"{HOST}:{port}",
        "WEB_CONCURRENCY": "1",
        "TMPDIR": str(scratch),
        "GUNICORN_GRACEFUL_TIMEOUT": "5",
    }
    argv = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "wsgi:app"]
    saved = os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)  # the server inherits this env
    try:
        with serve_process(argv, port, tmp_path / "gunicorn.log", cwd=ROOT, env=env) as server:
            assert get(server.url + "/v1/customers?limit=1")[0] == 200
            made = list(scratch.glob("legacy-bridge-metrics-*"))
            assert len(made) == 1 and list(made[0].glob("*.db"))
            assert metrics(server.url)  # multiprocess scrape works
    finally:
        if saved is not None:
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = saved
    assert server.process.returncode == 0, server.log()
    assert not made[0].exists()
