"""The demo: its legacy CRM has every legacy trait, its config validates, its app
answers the URLs it prints, and ``legacy-bridge demo`` serves them on a real port."""

from __future__ import annotations

import json
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from legacy_bridge import create_app
from legacy_bridge.config import load
from legacy_bridge.demo.crm import DEMO_WRITE_KEY, build, curl_lines, event_lines, sample_urls, write_lines
from legacy_bridge.drivers.odbc.driver import OdbcDriver

CLI = str(Path(sys.executable).with_name("legacy-bridge"))


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return build(tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="module")
def client(demo):
    app = create_app({"LEGACY_BRIDGE_CONFIG": str(demo.config), "TESTING": True})
    yield app.test_client()
    app.extensions["legacy_bridge"].close()


def raw(demo, sql: str) -> list[tuple]:
    with sqlite3.connect(demo.database) as conn:
        return conn.execute(sql).fetchall()


def test_demo_config_validates_and_declares_cp1252(demo):
    config = load(demo.config)
    assert set(config.resources) == {"customers", "orders", "order-lines", "open-orders", "invoices"}
    source = config.sources["crm"]
    assert source["encoding"] == "cp1252"
    assert source["connection"] == f"Driver={{SQLite3}};Database={demo.database};StepAPI=1"


def test_demo_database_holds_the_legacy_traits(demo):
    assert 3000 <= demo.rows <= 10000
    # cp1252 bytes, not UTF-8: 0x80 is the euro sign, 0xFC u-umlaut
    assert raw(demo, "SELECT count(*) FROM LGCY_CUST WHERE instr(CAST(CUST_NM AS BLOB), x'80') > 0")[0][0] > 0
    assert raw(demo, "SELECT count(*) FROM LGCY_CUST WHERE instr(CAST(CUST_NM AS BLOB), x'fc') > 0")[0][0] > 0
    assert raw(demo, "SELECT count(*) FROM LGCY_CUST WHERE instr(CAST(CUST_NM AS BLOB), x'c3') > 0")[0][0] == 0
    assert raw(demo, "SELECT DISTINCT length(CAST(CUST_NM AS BLOB)) FROM LGCY_CUST") == [(40,)]  # CHAR padding
    assert raw(demo, "SELECT count(*) FROM LGCY_CUST WHERE OPEN_DT = 0")[0][0] > 0
    assert raw(demo, "SELECT count(*) FROM LGCY_ORD WHERE SHIP_DT = 99999999")[0][0] > 0
    assert raw(demo, "SELECT DISTINCT ACTV_FLG FROM LGCY_CUST ORDER BY 1") == [("N",), ("Y",)]


def test_demo_view_has_no_key_and_order_lines_a_composite_one(demo):
    driver = OdbcDriver("crm", load(demo.config).sources["crm"])
    try:
        assert driver.describe("V_OPEN_ORD", 0)["key"] == []
        assert driver.describe("LGCY_ORD_LN", 0)["key"] == ["ORD_NO", "LN_NO"]
    finally:
        driver.close()


def test_demo_app_answers_the_three_printed_urls(demo, client):
    first, by_key, next_page = sample_urls(demo.config)
    responses = [client.get(url) for url in (first, by_key, next_page)]
    assert [r.status_code for r in responses] == [200, 200, 200]
    page1, record, page2 = (r.get_json() for r in responses)
    for row in page1["data"] + page2["data"]:
        assert row["opened_on"] >= "2000-01-01"
    limits = [row["credit_limit"] for row in page1["data"] + page2["data"]]
    assert [float(x) for x in limits] == sorted((float(x) for x in limits), reverse=True)
    assert not {r["id"] for r in page1["data"]} & {r["id"] for r in page2["data"]}
    assert record["name"] == "Björk & Søn GmbH"  # cp1252 in the file, UTF-8 on the wire
    assert responses[1].headers["ETag"]


def test_demo_decodes_cp1252_and_reads_legacy_values(client):
    line = client.get("/v1/order-lines/100001/1").get_json()
    assert line["description"] and line["unit_price"].count(".") == 1
    names = [r["name"] for r in client.get("/v1/customers?limit=16").get_json()["data"]]
    assert "€uro Supplies GmbH" in names and "Peña Hermanos GmbH" in names
    assert all("\ufffd" not in name for name in names)
    backordered = client.get("/v1/orders?status=backordered&limit=5").get_json()["data"]
    assert backordered and all(o["shipped_on"] is None for o in backordered)
    unopened = client.get("/v1/customers?opened_on[isnull]=true&limit=5").get_json()["data"]
    assert unopened and all(c["opened_on"] is None for c in unopened)


def test_demo_view_pages_by_its_declared_key(client):
    page = client.get("/v1/open-orders?limit=20").get_json()
    assert {o["status"] for o in page["data"]} <= {"open", "backordered"}
    nxt = client.get(f"/v1/open-orders?limit=20&cursor={page['next']}").get_json()
    assert nxt["data"][0]["order_no"] > page["data"][-1]["order_no"]


def test_rebuilding_the_demo_gives_the_same_data(tmp_path):
    first = build(tmp_path)
    checksum = "SELECT count(*), sum(CUST_NO * OPEN_DT % 1000003), group_concat(hex(CUST_NM)) FROM LGCY_CUST"
    before = raw(first, checksum)
    again = build(tmp_path)
    assert again.database == first.database and raw(again, checksum) == before
    assert not list(tmp_path.glob("*.building"))


def test_curl_lines_turn_off_globbing_for_the_bracketed_filters(demo):
    lines = curl_lines(demo.config, "http://127.0.0.1:9999")
    assert len(lines) == 3
    assert lines[0].startswith("curl -g 'http://127.0.0.1:9999/v1/customers?") and "[gte]" in lines[0]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_demo_command_serves_with_gunicorn_on_its_port_until_terminated(tmp_path):
    port = _free_port()
    log = tmp_path / "demo.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [CLI, "demo", "--dir", str(tmp_path / "data"), "--port", str(port), "--tms-port", "0", "--broker", "none"],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        printed = log.read_text()
        url = next(line.split("'")[1] for line in printed.splitlines() if line.strip().startswith("curl -g"))
        assert url.startswith(f"http://127.0.0.1:{port}/v1/customers?")
        with urllib.request.urlopen(url.replace("[", "%5B").replace("]", "%5D"), timeout=10) as response:
            assert response.status == 200
            assert len(json.loads(response.read())["data"]) == 3
        # gunicorn with the production settings: its JSON log, the threaded worker class
        assert '"logger":"gunicorn.error"' in log.read_text()
        assert "Using worker: legacy_bridge.ops.gunicorn_worker.ThreadWorker" in log.read_text()
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(15)
    assert process.returncode == 0, log.read_text()


def test_the_demo_opts_customers_into_the_change_feed_and_publishes_them_when_a_broker_is_given(tmp_path):
    with_broker = build(tmp_path / "hub", broker_url="amqp://guest:guest@127.0.0.1:5672/%2F")
    config = load(with_broker.config)
    assert config.resources["customers"].changes["mode"] == "snapshot"
    assert config.events["sinks"]["demo-hub"]["exchange"] == "legacy-bridge.demo"
    lines = event_lines(with_broker, "http://127.0.0.1:8000", "amqp://guest:guest@127.0.0.1:5672/%2F")
    assert lines[0].startswith("curl 'http://127.0.0.1:8000/v1/customers/changes'")
    assert "queue_bind(q, 'legacy-bridge.demo', 'customers.*')" in lines[-1]
    without = build(tmp_path / "plain")
    assert not load(without.config).events["sinks"]
    assert not any("pika" in line for line in event_lines(without, "http://127.0.0.1:8000", None))


def test_the_demo_reads_without_a_key_and_writes_orders_with_its_key_as_printed(demo, client):
    order = {
        "customer_id": 1,
        "ordered_on": "2026-11-30",
        "ordered_at": "09:30:00",
        "status": "open",
        "rush": False,
        "total": "99.50",
    }
    assert client.get("/v1/orders?limit=1").status_code == 200
    assert client.post("/v1/orders", json=order).status_code == 401
    key = {"X-API-Key": DEMO_WRITE_KEY}
    created = client.post("/v1/orders", json=order, headers={**key, "Idempotency-Key": "demo-test"})
    assert created.status_code == 201, created.get_json()
    number = created.get_json()["order_no"]
    replayed = client.post("/v1/orders", json=order, headers={**key, "Idempotency-Key": "demo-test"})
    assert replayed.headers["Idempotent-Replayed"] == "true" and replayed.get_json()["order_no"] == number
    assert raw(demo, f"SELECT ORD_STAT_CD, SHIP_DT, ORD_TOT_AMT FROM LGCY_ORD WHERE ORD_NO = {number}") == [
        ("OP", 0, 9950)
    ]
    etag = created.headers["ETag"]
    shipped = client.patch(f"/v1/orders/{number}", json={"status": "shipped"}, headers={**key, "If-Match": etag})
    assert shipped.status_code == 200 and shipped.get_json()["status"] == "shipped"
    stale = client.patch(f"/v1/orders/{number}", json={"status": "open"}, headers={**key, "If-Match": etag})
    assert stale.status_code == 412
    lines = write_lines("http://127.0.0.1:8000")
    assert all(DEMO_WRITE_KEY in line for line in lines)
    assert json.loads(lines[0].split("-d '", 1)[1].split("'", 1)[0]) == order
