"""`gunicorn -w 2 wsgi:app` serves the configured resources, logs JSON and stops cleanly."""

from __future__ import annotations

import json
import sys
import time

import pytest
import yaml

from helpers.backends import ROOT, crm_config
from helpers.servers import HOST, child_pids, free_port, get, serve_process


@pytest.fixture(scope="module")
def gunicorn(sqlite_backend, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gunicorn")
    config = tmp / "legacy-bridge.yaml"
    config.write_text(yaml.safe_dump(crm_config(sqlite_backend.connection)))
    port = free_port()
    argv = [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"{HOST}:{port}", "--graceful-timeout", "5", "wsgi:app"]
    with serve_process(
        argv,
        port,
        tmp / "gunicorn.log",
        cwd=ROOT,
        env={"LEGACY_BRIDGE_CONFIG": str(config), "LEGACY_BRIDGE_LOG_LEVEL": "INFO"},
    ) as server:
        yield server
    assert server.process.returncode == 0, server.log()  # SIGTERM is a clean shutdown


def test_gunicorn_runs_two_workers(gunicorn):
    # with preload_app (gunicorn.conf.py) a first worker can answer before the second forks
    deadline = time.monotonic() + 5
    while len(child_pids(gunicorn.process.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(child_pids(gunicorn.process.pid)) == 2


def test_gunicorn_serves_a_list_page_and_its_next_page(gunicorn):
    status, headers, body = get(gunicorn.url + "/v1/customers?limit=3&sort=id")
    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    page = json.loads(body)
    assert [r["id"] for r in page["data"]] == [1, 2, 3]
    assert page["data"][0]["name"] == "CUSTOMER 0001"  # CHAR padding trimmed
    assert 'rel="next"' in headers["Link"]
    # several pages in a row land on both workers: each must accept the other's cursor
    cursor, seen = page["next"], [1, 2, 3]
    for _ in range(6):
        status, _, body = get(f"{gunicorn.url}/v1/customers?limit=3&sort=id&cursor={cursor}")
        assert status == 200, body
        page = json.loads(body)
        seen += [r["id"] for r in page["data"]]
        cursor = page["next"]
    assert seen == list(range(1, 22))


def test_gunicorn_serves_a_record_with_its_etag(gunicorn):
    status, headers, body = get(gunicorn.url + "/v1/customers/7")
    assert status == 200
    record = json.loads(body)
    assert record["id"] == 7 and record["name"] == "CUSTOMER 0007" and record["state"] == "CA"
    assert get(gunicorn.url + "/v1/customers/7", {"If-None-Match": headers["ETag"]})[0] == 304
    status, headers, body = get(gunicorn.url + "/v1/order-lines/3/2")
    assert status == 200 and json.loads(body)["quantity"] == 4


def test_gunicorn_answers_a_missing_record_with_problem_json(gunicorn):
    status, headers, body = get(gunicorn.url + "/v1/customers/999999")
    assert status == 404
    assert headers["Content-Type"] == "application/problem+json"
    assert json.loads(body)["status"] == 404


def test_gunicorn_writes_one_json_access_line_per_request(gunicorn):
    status, headers, _ = get(gunicorn.url + "/v1/customers?limit=1", {"X-Request-ID": "gunicorn-log-check"})
    assert status == 200 and headers["X-Request-ID"] == "gunicorn-log-check"
    status, headers, _ = get(gunicorn.url + "/healthz")
    generated = headers["X-Request-ID"]
    # the worker writes (and flushes) the line before it sends the response
    entries = [json.loads(line) for line in gunicorn.log().splitlines() if line.startswith("{")]
    access = {e["request_id"]: e for e in entries if e.get("logger") == "legacy_bridge.access"}
    assert access["gunicorn-log-check"]["path"] == "/v1/customers"
    assert access["gunicorn-log-check"]["status"] == 200
    assert access[generated]["path"] == "/healthz"
    for entry in access.values():
        assert {"request_id", "method", "path", "status", "duration_ms"} <= set(entry)
