"""Many hosts, proven: two app instances (their own gunicorn and `legacy-bridge worker`
processes, each in its own working folder, as two hosts would be) behind a real load balancer
(Debian's haproxy, round robin), sharing the secret, a PostgreSQL state store and Redis rate
limits.  A cursor issued by one host is valid on the other, rate limits count across both, one
change scan runs at a time, each webhook event is delivered once, and a walk through the load
balancer goes on, without a duplicate or a missing row, when one instance is killed mid-walk.

Everything listens on loopback ports; every process started here is stopped here."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from contextlib import ExitStack, contextmanager
from pathlib import Path

import orjson
import pytest
import redis
import yaml

from helpers.auth import FULL, KEYS
from helpers.backends import create_legacy_tables, crm_config, pg_state, unavailable
from helpers.servers import HOST, Server, child_pids, free_port, get, serve_process, stop, wait_until
from helpers.webhook_receiver import Receiver

ROOT = Path(__file__).resolve().parents[2]
REDIS = "redis://127.0.0.1:6379/0"
TABLE = "LB_HOSTS_ITEM"
ITEMS = 50
AUTH = {"X-API-Key": FULL}
HOSTS = ("host-a", "host-b")


def _need(tool: str) -> str:
    found = shutil.which(tool) or (f"/usr/sbin/{tool}" if os.path.exists(f"/usr/sbin/{tool}") else None)
    if found is None:
        unavailable(f"{tool} is not installed (scripts/bootstrap.sh test installs it)", "CI needs it")
    return found or tool


def _create_items(b) -> None:
    b.drop("TABLE", TABLE)
    b.execute(
        f"CREATE TABLE {b.q(TABLE)} ({b.q('ITM_NO')} INTEGER NOT NULL PRIMARY KEY, {b.q('QTY')} INTEGER NOT NULL)"
    )
    b.executemany(f"INSERT INTO {b.q(TABLE)} VALUES (?, ?)", [(n, n) for n in range(1, ITEMS + 1)])


def _config(backend, state: str, prefix: str) -> dict:
    config = crm_config(backend.connection)
    config["service"].update({"secret": "shared-by-every-host", "state": state})
    config["auth"] = {"keys": KEYS}
    config["rate_limits"] = {"storage_uri": REDIS, "key_prefix": prefix, "resources": {"order-lines": "6/minute"}}
    config["webhooks"] = {
        "allow_networks": ["127.0.0.0/8"],
        "backoff": "200ms",
        "timeout": "2s",
        "claim_ttl": "4s",
        "poll_interval": "100ms",
    }
    config["resources"]["items"] = {
        "source": "crm",
        "table": TABLE,
        "key": ["item_no"],
        "changes": {"mode": "snapshot", "every": 0, "scan_on_request": True},
        "fields": {
            "item_no": {"column": "ITM_NO", "converter": "int"},
            "quantity": {"column": "QTY", "converter": "int"},
        },
    }
    return config


HAPROXY = """global
    maxconn 256
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    retries 3
    option redispatch
    retry-on conn-failure empty-response response-timeout
frontend api
    bind {host}:{port}
    default_backend hosts
backend hosts
    balance roundrobin
    option httpchk GET /healthz
    http-response set-header X-Served-By %s
{servers}
"""


@contextmanager
def _haproxy(tmp: Path, hosts: dict[str, Server]):
    port = free_port()
    servers = "\n".join(
        f"    server {name} {server.url.removeprefix('http://')} check inter 200ms fall 1 rise 2"
        for name, server in hosts.items()
    )
    cfg = tmp / "haproxy.cfg"
    cfg.write_text(HAPROXY.format(host=HOST, port=port, servers=servers))
    argv = [_need("haproxy"), "-db", "-f", str(cfg)]
    with serve_process(argv, port, tmp / "haproxy.log", ready_path="/healthz") as server:
        yield server


@contextmanager
def _host(name: str, tmp: Path, config_path: Path):
    """One host: its own folder (cwd, metrics), gunicorn with 2 workers and a worker process."""
    folder = tmp / name
    folder.mkdir()
    env = {
        "LEGACY_BRIDGE_CONFIG": str(config_path),
        "LEGACY_BRIDGE_LOG_LEVEL": "INFO",
        "PROMETHEUS_MULTIPROC_DIR": "",
        "WEB_CONCURRENCY": "2",
        "PYTHONPATH": str(ROOT),
    }
    port = free_port()
    argv = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "-b", f"{HOST}:{port}"]
    argv += ["--graceful-timeout", "5", "--pythonpath", str(ROOT), "wsgi:app"]
    with open(folder / "worker.log", "wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "legacy_bridge.cli", "worker", "--config", str(config_path), "--name", name],
            cwd=folder,
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        with serve_process(argv, port, folder / "gunicorn.log", env=env, cwd=folder) as server:
            yield server
    finally:
        stop(worker)


@pytest.fixture(scope="module")
def hosts(postgresql_only, tmp_path_factory):
    try:
        redis.Redis.from_url(REDIS, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        unavailable(f"Redis unreachable: {exc}", "CI needs it")
    _need("haproxy")
    create_legacy_tables(postgresql_only)
    _create_items(postgresql_only)
    tmp = tmp_path_factory.mktemp("many-hosts")
    with ExitStack() as stack:
        state = stack.enter_context(pg_state(f"lb_hosts_test_{os.getpid()}"))
        config_path = tmp / "legacy-bridge.yaml"
        config_path.write_text(yaml.safe_dump(_config(postgresql_only, state, f"lb-hosts-{uuid.uuid4().hex}")))
        servers = {name: stack.enter_context(_host(name, tmp, config_path)) for name in HOSTS}
        lb = stack.enter_context(_haproxy(tmp, servers))
        yield {"lb": lb, **servers, "backend": postgresql_only}


def _json(url: str, headers: dict | None = None) -> tuple[int, dict, dict]:
    status, answered, body = get(url, {**AUTH, **(headers or {})})
    # haproxy sends header names in lower case (HTTP/1 names are case-insensitive)
    return status, {k.lower(): v for k, v in answered.items()}, orjson.loads(body) if body else {}


def test_a_cursor_issued_by_one_host_is_valid_on_the_other(hosts):
    status, _, first = _json(hosts["host-a"].url + "/v1/customers?limit=7&sort=id")
    assert status == 200
    status, _, second = _json(hosts["host-b"].url + f"/v1/customers?limit=7&sort=id&cursor={first['next']}")
    assert status == 200, second
    ids = [r["id"] for r in first["data"] + second["data"]]
    assert ids == list(range(1, 15))


def test_the_load_balancer_spreads_requests_round_robin(hosts):
    served = Counter(_json(hosts["lb"].url + "/v1/customers/1")[1].get("x-served-by") for _ in range(6))
    assert served == {"host-a": 3, "host-b": 3}


def test_rate_limits_count_across_both_hosts(hosts):
    answers = [_json(hosts["lb"].url + "/v1/order-lines?limit=1") for _ in range(7)]
    assert [status for status, _, _ in answers[:6]] == [200] * 6
    assert {headers["x-served-by"] for _, headers, _ in answers[:6]} == set(HOSTS)  # both counted
    status, headers, body = answers[6]
    assert status == 429 and body["type"].endswith("rate-limited") and int(headers["retry-after"]) >= 1


def _changes(base: str) -> list[dict]:
    """The whole change feed, page by page (each request may run a scan first)."""
    events, url = [], base + "/v1/items/changes?limit=100"
    while True:
        status, _, page = _json(url)
        assert status == 200, page
        events += page["data"]
        if not page["data"]:
            return events
        url = base + f"/v1/items/changes?limit=100&cursor={page['next']}"


def test_one_change_scan_runs_at_a_time_and_each_change_is_one_event(hosts):
    b = hosts["backend"]
    before = len(_changes(hosts["lb"].url))
    b.execute(f"UPDATE {b.q(TABLE)} SET {b.q('QTY')} = {b.q('QTY')} + 1000 WHERE {b.q('ITM_NO')} <= 10")
    barrier, answers = threading.Barrier(8), []

    def scan(host: str) -> None:
        barrier.wait()
        answers.append(_json(hosts[host].url + "/v1/items/changes?limit=1"))

    threads = [threading.Thread(target=scan, args=(HOSTS[i % 2],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert all(status == 200 for status, _, _ in answers), [body for status, _, body in answers if status != 200]
    assert wait_until(lambda: len(_changes(hosts["lb"].url)) >= before + 10, 20)
    time.sleep(1)  # a second scan, were one running beside the first, would have written by now
    events = _changes(hosts["lb"].url)[before:]
    updated = Counter(e["key"]["item_no"] for e in events if e["kind"] == "updated")
    assert updated == {n: 1 for n in range(1, 11)}


def test_each_webhook_event_is_delivered_once_by_the_two_hosts_workers(hosts):
    b = hosts["backend"]
    with Receiver() as receiver:
        response = _post(hosts["lb"].url + "/v1/webhooks", {"url": receiver.url + "/hooks", "events": ["items.*"]})
        receiver.secrets["/hooks"] = response["secret"]
        b.execute(f"UPDATE {b.q(TABLE)} SET {b.q('QTY')} = {b.q('QTY')} + 1 WHERE {b.q('ITM_NO')} > 20")
        _changes(hosts["lb"].url)  # a scan (on request) turns the updates into events
        assert receiver.wait_for(lambda: len(set(receiver.ids("/hooks"))) >= ITEMS - 20, 30)
        time.sleep(1.5)  # room for a second delivery, were a second worker to send one
        counts = Counter(receiver.ids("/hooks"))
    assert len(counts) == ITEMS - 20 and set(counts.values()) == {1}
    assert not receiver.overlaps


def _post(url: str, body: dict) -> dict:
    import urllib.request

    request = urllib.request.Request(
        url, data=orjson.dumps(body), headers={**AUTH, "Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
        return orjson.loads(response.read())


def test_a_walk_goes_on_without_duplicate_or_missing_rows_when_a_host_is_killed(hosts):
    lb, victim = hosts["lb"], hosts["host-a"]
    first = lb.url + "/v1/customers?limit=25&sort=id"
    url: str | None = first
    seen: list[int] = []
    pages = 0
    while url:
        status, _, page = _json(url)
        assert status == 200, page
        seen += [r["id"] for r in page["data"]]
        pages += 1
        if pages == 3:  # mid-walk: host A dies at once (its gunicorn master and workers)
            for pid in [victim.process.pid, *child_pids(victim.process.pid)]:
                os.kill(pid, signal.SIGKILL)
            victim.process.wait(10)
        url = f"{first}&cursor={page['next']}" if page.get("next") else None
    assert (
        seen == list(range(1, len(seen) + 1))
        and len(seen) == hosts["backend"].execute(f"SELECT COUNT(*) FROM {hosts['backend'].q('LGCY_CUST')}")[0][0]
    )
    assert pages > 3
