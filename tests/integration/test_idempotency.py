"""Idempotency-Key on POST: the first outcome replayed (one row), another payload a 422, a
retry while the first runs a 409, the key required where configured, and a worker killed
between the legacy commit and the stored outcome: the retry finds the row, never writes twice."""

from __future__ import annotations

import json
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest
import yaml

from helpers.backends import ROOT, Backend, Quoter, make_app
from helpers.servers import HOST, free_port, serve_process

DDL = "CREATE TABLE {q[LGCY_PAY]} ({q[PAY_NO]} INTEGER NOT NULL PRIMARY KEY, {q[AMT]} INTEGER NOT NULL)"


def _config(connection: str, **idempotency) -> dict:
    return {
        "service": {"secret": "test-secret"},
        "sources": {"erp": {"kind": "odbc", "connection": connection, "read_only": False, "timeout": "2s"}},
        "resources": {
            "payments": {
                "source": "erp",
                "table": "LGCY_PAY",
                "key": "number",
                "fields": {
                    "number": {"column": "PAY_NO", "converter": "int"},
                    "amount": {"column": "AMT", "converter": "int", "nullable": False},
                },
                "writes": {"create": True, "key": "max_plus_one"},
                **({"idempotency": idempotency} if idempotency else {}),
            }
        },
    }


@pytest.fixture()
def payments(backend: Backend):
    backend.drop("TABLE", "LGCY_PAY")
    backend.execute(DDL.format(q=Quoter(backend.quote)))
    return backend


def _count(b: Backend) -> int:
    return int(b.execute(f"SELECT COUNT(*) FROM {b.q('LGCY_PAY')}")[0][0])


@pytest.fixture()
def client(payments, tmp_path):
    config = _config(payments.connection)
    config["service"]["state"] = f"sqlite:///{tmp_path / 'state.db'}"
    app = make_app(config)
    yield app.test_client()
    app.extensions["legacy_bridge"].close()


def test_the_same_post_with_the_same_key_writes_once_and_replays_the_first_answer(client, payments):
    first = client.post("/v1/payments", json={"amount": 10}, headers={"Idempotency-Key": "pay-1"})
    again = client.post("/v1/payments", json={"amount": 10}, headers={"Idempotency-Key": "pay-1"})
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert again.get_json() == first.get_json()
    assert again.headers["Location"] == first.headers["Location"]
    assert _count(payments) == 1
    other = client.post("/v1/payments", json={"amount": 10}, headers={"Idempotency-Key": "pay-2"})
    assert other.status_code == 201 and _count(payments) == 2


def test_the_same_key_with_another_payload_is_a_422(client, payments):
    client.post("/v1/payments", json={"amount": 10}, headers={"Idempotency-Key": "k"})
    reused = client.post("/v1/payments", json={"amount": 11}, headers={"Idempotency-Key": "k"})
    assert reused.status_code == 422
    assert reused.get_json()["type"].endswith("idempotency-key-reused")
    assert _count(payments) == 1


def test_a_refused_call_is_replayed_as_refused(client, payments):
    bad = client.post("/v1/payments", json={"amount": "ten"}, headers={"Idempotency-Key": "bad"})
    again = client.post("/v1/payments", json={"amount": "ten"}, headers={"Idempotency-Key": "bad"})
    assert bad.status_code == again.status_code == 400
    assert again.headers["Idempotent-Replayed"] == "true"


def test_concurrent_calls_with_one_key_write_one_row(client, payments):
    statuses: list[int] = []
    barrier = threading.Barrier(3)

    def post() -> None:
        barrier.wait()
        statuses.append(
            client.post("/v1/payments", json={"amount": 5}, headers={"Idempotency-Key": "same"}).status_code
        )

    threads = [threading.Thread(target=post) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert statuses.count(201) >= 1 and set(statuses) <= {201, 409}
    assert _count(payments) == 1
    replay = client.post("/v1/payments", json={"amount": 5}, headers={"Idempotency-Key": "same"})
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"


def test_a_resource_can_require_the_key(payments, tmp_path):
    config = _config(payments.connection, required=True, expire="1h")
    config["service"]["state"] = f"sqlite:///{tmp_path / 'state.db'}"
    app = make_app(config)
    try:
        client = app.test_client()
        refused = client.post("/v1/payments", json={"amount": 1})
        assert refused.status_code == 400 and refused.get_json()["parameter"] == "Idempotency-Key"
        assert _count(payments) == 0
        document = client.get("/openapi.json").get_json()
        header = next(
            p for p in document["paths"]["/v1/payments"]["post"]["parameters"] if p["name"] == "Idempotency-Key"
        )
        assert header["required"] is True and "1 hour" in header["description"]
    finally:
        app.extensions["legacy_bridge"].close()


CRASHING_CONF = """
import os
from legacy_bridge.ops.gunicorn_conf import *  # noqa
from legacy_bridge.events import idempotency

MARKER = {marker!r}


def post_worker_init(worker):
    finish = idempotency.IdempotencyStore.finish

    def crash_once(self, scope, outcome):
        # the legacy commit is done; the outcome is not stored yet: the worker dies here, once
        if os.path.exists(MARKER):
            os.remove(MARKER)
            os._exit(1)
        finish(self, scope, outcome)

    idempotency.IdempotencyStore.finish = crash_once
"""


def _post(url: str, key: str) -> tuple[int, dict, dict]:
    request = urllib.request.Request(
        url,
        data=json.dumps({"amount": 42}).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Idempotency-Key": key},
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as answer:
            return answer.status, dict(answer.headers), json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read() or b"{}")


def test_a_worker_killed_after_the_legacy_commit_never_makes_a_second_row(sqlite_only, tmp_path):
    # one backend is enough for the crash: the recovery reads through the same planner on all
    payments = sqlite_only
    payments.drop("TABLE", "LGCY_PAY")
    payments.execute(DDL.format(q=Quoter(payments.quote)))
    config_path = tmp_path / "legacy-bridge.yaml"
    config = _config(payments.connection)
    config["service"]["state"] = f"sqlite:///{tmp_path / 'state.db'}"
    config_path.write_text(yaml.safe_dump(config))
    marker = tmp_path / "crash-once"
    marker.write_text("")
    conf = tmp_path / "crashing_conf.py"
    conf.write_text(CRASHING_CONF.format(marker=str(marker)))
    port = free_port()
    argv = [sys.executable, "-m", "gunicorn", "-c", str(conf), "-w", "1", "-b", f"{HOST}:{port}", "wsgi:app"]
    with serve_process(
        argv, port, tmp_path / "gunicorn.log", cwd=ROOT, env={"LEGACY_BRIDGE_CONFIG": str(config_path)}
    ) as server:
        url = f"{server.url}/v1/payments"
        with pytest.raises((urllib.error.URLError, ConnectionError)):
            _post(url, "crash-1")  # the worker dies before it answers
        assert not marker.exists(), server.log()
        assert _count(payments) == 1  # committed before the crash
        deadline = time.monotonic() + 30
        status, headers, body = _post(url, "crash-1")
        while status == 409 and time.monotonic() < deadline:  # the dead call's lease runs out (2 x timeout + 5 s)
            time.sleep(1)
            status, headers, body = _post(url, "crash-1")
        assert status == 201, body
        assert headers.get("Idempotent-Replayed") == "true"
        assert body == {"number": 1, "amount": 42}
        assert _count(payments) == 1
        status, headers, body = _post(url, "crash-1")
        assert status == 201 and body == {"number": 1, "amount": 42} and _count(payments) == 1
