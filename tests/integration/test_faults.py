"""PostgreSQL "restarted" while requests keep coming: only its own resources fail,
each with a 503/504 problem, and they come back by themselves within 5 s of it.

The shared server is never restarted: a TCP proxy on a free loopback port, owned by
the test, stands between the app and 127.0.0.1:5432.  Cutting it closes its listener
and every open connection (what clients see when a database restarts); restoring it
listens again on the same port.
"""

from __future__ import annotations

import threading
import time

import pyodbc
import pytest

from helpers.backends import PG, crm_config, make_app, unavailable
from helpers.servers import HOST, TcpProxy

UPSTREAM = (HOST, 5432)
TABLE = "LB_FAULT_CUST"


@pytest.fixture(scope="module")
def pg_table():
    try:
        conn = pyodbc.connect(PG, autocommit=True)
    except pyodbc.Error as exc:
        unavailable(f"PostgreSQL is not reachable: {exc}")
    cur = conn.cursor()
    cur.execute(f'DROP TABLE IF EXISTS "{TABLE}"')
    cur.execute(f'CREATE TABLE "{TABLE}" ("CUST_NO" INTEGER PRIMARY KEY, "CUST_NM" CHAR(20))')
    cur.executemany(f'INSERT INTO "{TABLE}" VALUES (?, ?)', [(n, f"CUSTOMER {n}") for n in range(1, 51)])
    yield
    cur.execute(f'DROP TABLE IF EXISTS "{TABLE}"')
    conn.close()


def _config(pg_connection: str, sqlite_connection: str) -> dict:
    config = crm_config(sqlite_connection)  # "crm": SQLite, must keep serving
    config["sources"]["pg"] = {
        "kind": "odbc",
        "connection": pg_connection,
        "timeout": "2s",
        "connect_timeout": "2s",
        "retries": {"attempts": 2, "backoff": "50ms"},
        "breaker": {"failures": 3, "cooldown": "1s"},
    }
    config["resources"]["pg-customers"] = {
        "source": "pg",
        "table": TABLE,
        "key": ["id"],
        "fields": {"id": {"column": "CUST_NO", "converter": "int"}, "name": {"column": "CUST_NM", "converter": "trim"}},
    }
    return config


def test_a_database_restart_fails_only_its_resources_with_503_504_and_they_recover_within_5s(pg_table, sqlite_backend):
    proxy = TcpProxy(UPSTREAM)
    pg = PG.replace("Port=5432", f"Port={proxy.port}")
    assert pg != PG
    app = make_app(_config(pg, sqlite_backend.connection))
    bridge = app.extensions["legacy_bridge"]
    log: list[tuple[float, str, int, str]] = []  # (time, which, status, content type)
    stop = threading.Event()

    def hammer(which: str, paths: list[str]) -> None:
        client = app.test_client()
        i = 0
        while not stop.is_set():
            response = client.get(paths[i % len(paths)])
            log.append((time.monotonic(), which, response.status_code, response.mimetype))
            i += 1
            time.sleep(0.01)

    threads = [
        threading.Thread(target=hammer, args=("pg", ["/v1/pg-customers?limit=5", "/v1/pg-customers/7"])),
        threading.Thread(target=hammer, args=("pg", ["/v1/pg-customers/9", "/v1/pg-customers?limit=2"])),
        threading.Thread(target=hammer, args=("crm", ["/v1/customers?limit=5", "/v1/customers/3"])),
    ]
    try:
        for t in threads:
            t.start()
        time.sleep(1.5)
        cut_at = time.monotonic()
        proxy.cut()
        time.sleep(3)
        restored_at = time.monotonic()
        proxy.restore()
        time.sleep(6)
    finally:
        stop.set()
        for t in threads:
            t.join(10)
        proxy.close()
        bridge.close()

    pg_log = [entry for entry in log if entry[1] == "pg"]
    crm_log = [entry for entry in log if entry[1] == "crm"]
    failures = [entry for entry in pg_log if entry[2] != 200]
    assert failures, "cutting the database made no request fail: the proxy was not in the path"
    # errors only while it is down (and while it comes back), each a 503/504 problem
    assert all(cut_at <= t for t, *_ in failures), "a request failed before the database went down"
    assert {status for _, _, status, _ in failures} <= {503, 504}, failures
    assert {mime for *_, mime in failures} == {"application/problem+json"}
    assert max(t for t, *_ in failures) < restored_at + 5.0, "not recovered within 5 s"
    recovered = [entry for entry in pg_log if entry[0] >= restored_at + 5.0]
    assert recovered and all(status == 200 for _, _, status, _ in recovered)
    # the other source served throughout
    assert len(crm_log) > 50 and all(status == 200 for _, _, status, _ in crm_log)
    assert any(cut_at < t < restored_at for t, *_ in crm_log)
