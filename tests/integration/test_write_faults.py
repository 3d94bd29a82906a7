"""The database cut while writes keep coming (a TCP proxy between the app and PostgreSQL): the
writes fail with 503/504 problems, an array is never half written, no write is run twice
behind the client's back, and writes pass again once the database is back."""

from __future__ import annotations

import itertools
import threading
import time

import pyodbc
import pytest

from helpers.backends import PG, make_app, unavailable
from helpers.servers import HOST, TcpProxy

TABLE = "LB_FAULT_ORD"
BATCH = 5


@pytest.fixture()
def pg_orders():
    try:
        conn = pyodbc.connect(PG, autocommit=True)
    except pyodbc.Error as exc:
        unavailable(f"PostgreSQL is not reachable: {exc}")
    cur = conn.cursor()
    cur.execute(f'DROP TABLE IF EXISTS "{TABLE}"')
    cur.execute(f'CREATE TABLE "{TABLE}" ("ORD_NO" INTEGER PRIMARY KEY, "BATCH" INTEGER NOT NULL)')
    yield cur
    cur.execute(f'DROP TABLE IF EXISTS "{TABLE}"')
    conn.close()


def _config(connection: str) -> dict:
    return {
        "service": {"secret": "s"},
        "sources": {
            "pg": {
                "kind": "odbc",
                "connection": connection,
                "read_only": False,
                "timeout": "2s",
                "connect_timeout": "2s",
                "retries": {"attempts": 3, "backoff": "50ms"},
                "breaker": {"failures": 3, "cooldown": "1s"},
            }
        },
        "resources": {
            "orders": {
                "source": "pg",
                "table": TABLE,
                "key": "number",
                "fields": {
                    "number": {"column": "ORD_NO", "converter": "int"},
                    "batch": {"column": "BATCH", "converter": "int", "nullable": False},
                },
                "writes": {"create": True},  # client keys: a write run twice would be a duplicate key
            }
        },
    }


def test_writes_during_a_database_cut_fail_whole_and_pass_again_after(pg_orders):
    proxy = TcpProxy((HOST, 5432))
    app = make_app(_config(PG.replace("Port=5432", f"Port={proxy.port}")))
    log: list[tuple[float, int, str, int]] = []  # (time, status, content type, batch)
    stop = threading.Event()
    numbers = itertools.count(1)
    batches = itertools.count(1)
    lock = threading.Lock()

    def write() -> None:
        client = app.test_client()
        while not stop.is_set():
            with lock:
                batch = next(batches)
                rows = [{"number": next(numbers), "batch": batch} for _ in range(BATCH)]
            answer = client.post("/v1/orders", json=rows)
            log.append((time.monotonic(), answer.status_code, answer.mimetype, batch))
            time.sleep(0.01)

    threads = [threading.Thread(target=write) for _ in range(2)]
    try:
        for t in threads:
            t.start()
        time.sleep(1.0)
        cut_at = time.monotonic()
        proxy.cut()
        time.sleep(2.5)
        restored_at = time.monotonic()
        proxy.restore()
        time.sleep(5)
    finally:
        stop.set()
        for t in threads:
            t.join(15)
        proxy.close()
        app.extensions["legacy_bridge"].close()

    failures = [entry for entry in log if entry[1] != 201]
    assert failures, "the cut made no write fail: the proxy was not in the path"
    assert all(cut_at <= t for t, *_ in failures)
    assert {status for _, status, _, _ in failures} <= {503, 504}, failures  # never a 409: nothing ran twice
    assert {mime for _, _, mime, _ in failures} == {"application/problem+json"}
    late = [entry for entry in log if entry[0] >= restored_at + 3.0]
    assert late and all(status == 201 for _, status, _, _ in late)
    counts = dict(pg_orders.execute(f'SELECT "BATCH", COUNT(*) FROM "{TABLE}" GROUP BY "BATCH"').fetchall())
    assert set(counts.values()) == {BATCH}, "an array was written in part"
    written = {batch for _, status, _, batch in log if status == 201}
    assert written <= set(counts)  # every 201 is in the table, whole
