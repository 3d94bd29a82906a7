"""Operations endpoints and logs: /healthz, /readyz per source, request ids, JSON access lines."""

from __future__ import annotations

import io
import json
import logging
import re
import socket
import threading
import time

import pytest

from helpers.backends import PG, crm_config, make_app
from helpers.servers import HOST, TcpProxy, free_port
from legacy_bridge.ops import logs

READINESS_TIMEOUT = 1


def _with_source(sqlite_backend, connection: str) -> dict:
    """The CRM over SQLite plus a second source, ``warehouse``, at ``connection``."""
    config = crm_config(sqlite_backend.connection)
    config["service"]["readiness_timeout"] = READINESS_TIMEOUT
    config["sources"]["warehouse"] = {"kind": "odbc", "connection": connection, "timeout": "2s"}
    return config


def _postgresql_at(port: int) -> str:
    return f"Driver={{PostgreSQL Unicode}};Server={HOST};Port={port};Database=test;Uid=postgres"


def _mariadb_at(port: int) -> str:
    return f"Driver={{MariaDB Unicode}};Server={HOST};Port={port};Database=test;Uid=root"


@pytest.fixture
def silent_port():
    """A port that accepts TCP connections (kernel backlog) and never says a word."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        sock.listen(8)
        yield sock.getsockname()[1]


@pytest.fixture
def app_with_dead_source(sqlite_backend):
    app = make_app(_with_source(sqlite_backend, _postgresql_at(free_port())))
    yield app
    app.extensions["legacy_bridge"].close()


def test_healthz_is_ok_even_when_a_source_is_down(app_with_dead_source):
    response = app_with_dead_source.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_is_200_when_every_source_answers(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["sources"] == {"crm": {"status": "ok"}}


def test_readyz_is_503_naming_the_unreachable_postgresql_source(app_with_dead_source):
    client = app_with_dead_source.test_client()
    started = time.monotonic()
    response = client.get("/readyz")
    assert time.monotonic() - started < READINESS_TIMEOUT + 2
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "failing"
    assert body["sources"]["crm"] == {"status": "ok"}
    warehouse = body["sources"]["warehouse"]
    assert warehouse["status"] == "failing"
    assert warehouse["error"] == "source-unavailable"
    assert warehouse["legacy_code"] == "08001"  # the ODBC SQLSTATE, kept
    assert "warehouse" in body["detail"] and "crm" not in body["detail"]
    # no connection string (or any driver text) leaks into the report
    assert "Port=" not in response.get_data(as_text=True)
    # the dead source degrades only itself
    assert client.get("/v1/customers?limit=1").status_code == 200


@pytest.mark.parametrize("connection", [_postgresql_at, _mariadb_at], ids=["postgresql", "mariadb"])
def test_readyz_answers_in_bounded_time_when_a_source_never_speaks(sqlite_backend, silent_port, connection):
    # MariaDB Connector/ODBC ignores the login timeout against a silent server (its
    # READ_TIMEOUT does not) and libpq rounds it up to 2 s: the probe's connect runs on a
    # helper thread given up at the probe's deadline, so /readyz answers in time.
    app = make_app(_with_source(sqlite_backend, connection(silent_port)))
    answers = []
    # in a thread, so a regression fails here instead of hanging the suite (closing
    # the silent socket at teardown releases the stuck driver)
    asking = threading.Thread(target=lambda: answers.append(app.test_client().get("/readyz")), daemon=True)
    started = time.monotonic()
    asking.start()
    asking.join(READINESS_TIMEOUT + 4)
    elapsed = time.monotonic() - started
    app.extensions["legacy_bridge"].close()
    assert answers, f"/readyz did not answer within {elapsed:.1f}s"
    response = answers[0]
    assert response.status_code == 503
    body = response.get_json()
    assert body["sources"]["warehouse"]["status"] == "failing"
    assert body["sources"]["crm"] == {"status": "ok"}
    assert "warehouse" in body["detail"]


def test_readyz_probes_on_pooled_connections_not_a_new_one_each_time(sqlite_backend):
    proxy = TcpProxy((HOST, 5432))  # counts the connections the app opens to PostgreSQL
    app = make_app(_with_source(sqlite_backend, PG.replace("Port=5432", f"Port={proxy.port}")))
    try:
        client = app.test_client()
        before = proxy.accepted  # a start-up check may have come and gone
        for _ in range(5):
            response = client.get("/readyz")
            assert response.status_code == 200, response.get_json()
            assert response.get_json()["sources"]["warehouse"] == {"status": "ok"}
        assert proxy.accepted - before == 1
    finally:
        app.extensions["legacy_bridge"].close()
        proxy.close()


def test_readyz_reports_a_silent_source_within_its_deadline_while_the_others_answer(sqlite_backend):
    proxy = TcpProxy((HOST, 5432))
    app = make_app(_with_source(sqlite_backend, PG.replace("Port=5432", f"Port={proxy.port}")))
    try:
        client = app.test_client()
        assert client.get("/readyz").status_code == 200  # a pooled connection, then silence
        proxy.silence()
        answers = []
        threads = [
            threading.Thread(target=lambda: answers.append((time.monotonic(), client.get("/readyz")))) for _ in range(4)
        ]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(READINESS_TIMEOUT + 5)
        assert len(answers) == 4
        for answered, response in answers:
            assert answered - started < READINESS_TIMEOUT + 1
            body = response.get_json()
            assert response.status_code == 503 and body["sources"]["crm"] == {"status": "ok"}
            assert body["sources"]["warehouse"] == {"status": "failing", "error": "source-timeout"}
    finally:
        proxy.close()
        app.extensions["legacy_bridge"].close()


# -- request ids ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def sqlite_client(sqlite_backend):
    app = make_app(crm_config(sqlite_backend.connection))
    yield app.test_client()
    app.extensions["legacy_bridge"].close()


GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.mark.parametrize("path", ["/v1/customers?limit=1", "/v1/customers/999999", "/healthz"])
def test_a_valid_request_id_is_honoured_and_echoed(sqlite_client, path):
    response = sqlite_client.get(path, headers={"X-Request-ID": "etl-run:42.7_a-b"})
    assert response.headers["X-Request-ID"] == "etl-run:42.7_a-b"


def test_a_request_id_of_128_characters_is_honoured(sqlite_client):
    given = "r" * 128
    assert sqlite_client.get("/healthz", headers={"X-Request-ID": given}).headers["X-Request-ID"] == given


def test_a_request_id_is_generated_when_absent(sqlite_client):
    first = sqlite_client.get("/healthz").headers["X-Request-ID"]
    second = sqlite_client.get("/healthz").headers["X-Request-ID"]
    assert GENERATED.fullmatch(first) and GENERATED.fullmatch(second)
    assert first != second


@pytest.mark.parametrize(
    "given",
    ["has spaces in it", "x" * 129, "semi;colon", "<script>", "ünïcode"],
    ids=["spaces", "129-chars", "semicolon", "markup", "non-ascii"],
)
def test_an_invalid_request_id_is_replaced_by_a_generated_one(sqlite_client, given):
    echoed = sqlite_client.get("/healthz", headers={"X-Request-ID": given}).headers["X-Request-ID"]
    assert echoed != given
    assert GENERATED.fullmatch(echoed)


# -- JSON access log -----------------------------------------------------------------


@pytest.fixture
def access_lines():
    """The access log as the service formats it (JsonFormatter), captured in memory."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    logs.access_log.addHandler(handler)
    try:
        yield lambda: [line for line in stream.getvalue().splitlines() if line]
    finally:
        logs.access_log.removeHandler(handler)


def test_each_access_log_line_is_json_with_request_id_method_path_status_duration(sqlite_client, access_lines):
    sent = [
        ("/v1/customers?limit=2", "lines-1", 200),
        ("/v1/customers?limit=0", "lines-2", 400),
        ("/v1/customers/999999", "lines-3", 404),
        ("/healthz", None, 200),
    ]
    echoed = []
    for path, request_id, _ in sent:
        headers = {"X-Request-ID": request_id} if request_id else {}
        echoed.append(sqlite_client.get(path, headers=headers).headers["X-Request-ID"])

    entries = [json.loads(line) for line in access_lines()]  # each line parses on its own
    assert len(entries) == len(sent)
    for entry, (path, _, status), request_id in zip(entries, sent, echoed):
        assert entry["request_id"] == request_id
        assert entry["method"] == "GET"
        assert entry["path"] == path.split("?")[0]
        assert entry["status"] == status
        assert isinstance(entry["duration_ms"], (int, float)) and entry["duration_ms"] >= 0
        assert entry["level"] == "INFO"
