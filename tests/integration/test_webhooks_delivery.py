"""Webhooks end to end: the API, real workers (threads and processes), a real receiver
that verifies every signature with the ``standardwebhooks`` package, and real state
stores (a SQLite file; PostgreSQL for several worker processes)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from helpers.backends import crm_config, make_app
from helpers.backends import pg_state as pg_state_schema
from helpers.webhook_receiver import Receiver
from legacy_bridge.events import outbox, webhook_deliveries
from legacy_bridge.events.state import NewEvent, StateStore
from legacy_bridge.events.webhooks import Settings
from legacy_bridge.events.worker import Worker
from legacy_bridge.facades.webhooks import store_of

FAST = {
    "allow_networks": ["127.0.0.0/8"],
    "backoff": "200ms",
    "max_backoff": "1s",
    "timeout": "2s",
    "claim_ttl": "4s",
    "poll_interval": "100ms",
    "max_attempts": 50,
}
PG_SCHEMA = f"lb_webhooks_test_{os.getpid()}"  # per run: suites run side by side share the server


def _app(connection: str, state: str, **webhooks):
    config = crm_config(connection)
    config["service"]["state"] = state
    config["webhooks"] = {**FAST, **webhooks}
    config["resources"]["customers"]["changes"] = True  # webhooks carry change events
    return make_app(config)


def _subscribe(client, receiver: Receiver, path: str, events: list[str]) -> dict:
    response = client.post("/v1/webhooks", json={"url": receiver.url + path, "events": events})
    assert response.status_code == 201, response.get_json()
    sub = response.get_json()
    receiver.secrets[path] = sub["secret"]
    return sub


def _emit(store: StateStore, count: int, kind: str = "updated") -> list[str]:
    """Change events as the change feed appends them; their webhook-ids."""
    with store.begin() as conn:
        store.append_events(
            conn, [NewEvent("customers", kind, {"id": n}, {"id": n, "name": f"C{n}"}) for n in range(count)]
        )
    return [outbox.webhook_id(e.id) for e in store.events(limit=100_000)[-count:]]


@contextmanager
def _worker_thread(store: StateStore, app) -> Iterator[Worker]:
    worker = Worker(store, Settings.from_config(app.extensions["legacy_bridge"].config.webhooks))
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield worker
    finally:
        stop.set()
        thread.join(15)
        worker.close()


def _statuses(store: StateStore, sub_id: str) -> Counter:
    return Counter(r["status"] for r in webhook_deliveries.list_deliveries(store, sub_id, limit=10_000))


def test_receiver_down_for_a_while_then_up_gets_every_event_once(sqlite_backend, tmp_path):
    app = _app(sqlite_backend.connection, f"sqlite:///{tmp_path / 'state.db'}")
    client, store = app.test_client(), store_of(app)
    receiver = Receiver()  # not listening yet: connections are refused
    sub = _subscribe(client, receiver, "/hooks/tms", ["customers.*"])
    expected = _emit(store, 20)
    with _worker_thread(store, app):

        def refused_twice() -> bool:  # read once: the worker keeps writing meanwhile
            rows = webhook_deliveries.list_deliveries(store, sub["id"], limit=100)
            return len(rows) == 20 and all(
                r["attempts"] >= 2 and r["status"] == "pending" and "Connection" in (r["last_error"] or "")
                for r in rows
            )

        assert receiver.wait_for(refused_twice, 20), webhook_deliveries.list_deliveries(store, sub["id"], limit=3)
        with receiver:
            assert receiver.wait_for(lambda: _statuses(store, sub["id"]) == {"delivered": 20}, 30)
    assert sorted(receiver.ids()) == sorted(expected)  # every one, none twice
    assert not [r for r in receiver.received if r.error]  # every signature verified
    first = receiver.verified()[0].payload
    assert first["type"] == "customers.updated" and first["data"]["resource"] == "customers"
    app.extensions["legacy_bridge"].close()


def test_a_dead_lettered_event_is_redelivered_by_the_api_with_the_same_id(sqlite_backend, tmp_path):
    app = _app(sqlite_backend.connection, f"sqlite:///{tmp_path / 'state.db'}", max_attempts=3)
    client, store = app.test_client(), store_of(app)
    with Receiver() as receiver, _worker_thread(store, app):
        receiver.status = 500
        sub = _subscribe(client, receiver, "/hooks/dead", ["customers.updated"])
        ids = _emit(store, 2)
        assert receiver.wait_for(lambda: _statuses(store, sub["id"]) == {"dead": 2}, 20)
        dead = client.get(f"/v1/webhooks/{sub['id']}/deliveries?status=dead").get_json()["data"]
        assert [(d["attempts"], d["last_status"]) for d in dead] == [(3, 500), (3, 500)]
        assert Counter(receiver.ids()) == {ids[0]: 3, ids[1]: 3}  # every attempt carried the same id
        receiver.status = 204
        target = next(d for d in dead if d["webhook_id"] == ids[0])
        again = client.post(f"/v1/webhooks/{sub['id']}/deliveries/{target['id']}/redeliver")
        assert again.status_code == 202 and again.get_json()["status"] == "pending"
        assert receiver.wait_for(lambda: _statuses(store, sub["id"]) == {"dead": 1, "delivered": 1}, 20)
    assert Counter(receiver.ids()) == {ids[0]: 4, ids[1]: 3}
    assert client.get(f"/v1/webhooks/{sub['id']}/deliveries/{target['id']}").get_json()["attempts"] == 1
    app.extensions["legacy_bridge"].close()


def _worker_process(config: Path, log: Path, name: str) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "legacy_bridge.cli", "worker", "--config", str(config), "--name", name],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def _config_file(tmp_path: Path, state: str, **webhooks) -> Path:
    path = tmp_path / "worker.yaml"
    path.write_text(yaml.safe_dump({"service": {"state": state}, "webhooks": {**FAST, **webhooks}}))
    return path


def test_a_worker_killed_mid_delivery_delivers_after_restart(sqlite_backend, tmp_path):
    state = f"sqlite:///{tmp_path / 'state.db'}"
    app = _app(sqlite_backend.connection, state)
    client, store = app.test_client(), store_of(app)
    config, log = _config_file(tmp_path, state), tmp_path / "worker.log"
    with Receiver() as receiver:
        receiver.delay = 10  # the answer comes long after the kill
        sub = _subscribe(client, receiver, "/hooks/kill", ["customers.*"])
        [event_id] = _emit(store, 1)
        first = _worker_process(config, log, "first")
        try:
            assert receiver.arrived.wait(20), log.read_text()
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(5)
        assert first.returncode == -signal.SIGKILL
        assert _statuses(store, sub["id"]) == {"pending": 1}  # no 2xx was recorded
        receiver.delay = 0
        second = _worker_process(config, log, "second")
        try:
            assert receiver.wait_for(lambda: _statuses(store, sub["id"]) == {"delivered": 1}, 30), log.read_text()
        finally:
            _stop(second)
    assert receiver.ids() == [event_id, event_id]  # at-least-once, the same webhook-id
    [row] = webhook_deliveries.list_deliveries(store, sub["id"])
    assert row["last_worker"] == "second"
    assert row["attempts"] == 2  # the attempt the killed worker made counts too
    app.extensions["legacy_bridge"].close()


@pytest.fixture
def pg_state() -> Iterator[str]:
    """A fresh schema on the PostgreSQL server for the state store."""
    with pg_state_schema(PG_SCHEMA) as url:
        yield url


def test_two_workers_on_postgresql_never_deliver_an_event_twice(sqlite_backend, tmp_path, pg_state):
    app = _app(sqlite_backend.connection, pg_state)
    client, store = app.test_client(), store_of(app)
    assert store.dialect == "postgresql"
    config, log = _config_file(tmp_path, pg_state, batch=5), tmp_path / "workers.log"
    with Receiver() as receiver:
        receiver.delay = 0.2  # deliveries overlap in time: claims must keep them apart
        sub = _subscribe(client, receiver, "/hooks/pg", ["customers.*"])
        expected = _emit(store, 60)
        workers = [_worker_process(config, log, name) for name in ("w1", "w2")]
        try:
            assert receiver.wait_for(lambda: _statuses(store, sub["id"]) == {"delivered": 60}, 60), log.read_text()
        finally:
            for worker in workers:
                _stop(worker)
    assert receiver.overlaps == []
    assert sorted(receiver.ids()) == sorted(expected)  # each exactly once
    by = Counter(r["last_worker"] for r in webhook_deliveries.list_deliveries(store, sub["id"], limit=100))
    assert set(by) == {"w1", "w2"}, by  # both did share the work
    store.close()
    app.extensions["legacy_bridge"].close()


def _scanned(store: StateStore) -> bool:
    from legacy_bridge.events.state import scan_state

    with store.connect() as conn:
        return conn.execute(select(scan_state.c.last_scan_at)).scalar() is not None


def test_a_legacy_row_updated_reaches_the_subscriber_as_a_signed_webhook(tmp_path):
    from helpers.backends import backend_named, create_legacy_tables

    legacy = backend_named("sqlite", tmp_path)  # a legacy database of this test's own
    create_legacy_tables(legacy, rows=20)
    state = f"sqlite:///{tmp_path / 'state.db'}"
    raw = crm_config(legacy.connection)
    raw["service"]["state"] = state
    raw["webhooks"] = FAST
    raw["resources"]["customers"]["changes"] = {"mode": "snapshot", "every": "200ms"}
    config = tmp_path / "legacy.yaml"
    config.write_text(yaml.safe_dump(raw))
    app = make_app(raw)
    client, log = app.test_client(), tmp_path / "worker.log"
    with Receiver() as receiver:
        _subscribe(client, receiver, "/hooks/crm", ["customers.updated"])
        worker = _worker_process(config, log, "scanner")
        try:  # the first scan is the baseline: no events
            assert receiver.wait_for(lambda: _scanned(store_of(app)), 20), log.read_text()
            legacy.execute(
                f"UPDATE {legacy.q('LGCY_CUST')} SET {legacy.q('CUST_NM')} = ? WHERE {legacy.q('CUST_NO')} = ?",
                "RENAMED CUSTOMER".ljust(40),
                7,
            )
            assert receiver.wait_for(lambda: receiver.verified(), 15), log.read_text()
        finally:
            _stop(worker)
    [hook] = receiver.verified()
    assert hook.payload["type"] == "customers.updated"
    assert hook.payload["data"]["key"] == {"id": 7}
    assert hook.payload["data"]["record"]["name"] == "RENAMED CUSTOMER"
    app.extensions["legacy_bridge"].close()
