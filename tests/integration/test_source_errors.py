"""A failing legacy source: 502 with its SQLSTATE, 503 + Retry-After when it is down,
``/readyz`` naming it, and its neighbours unaffected.  No driver text ever leaks."""

from __future__ import annotations

import re
import socket

import pyodbc
import pytest

from helpers.backends import MARIADB, PG, crm_config, make_app

PROBLEM = "urn:legacy-bridge:problem:"
MISSING = "LB_NO_SUCH_TABLE"
SQLSTATE = re.compile(r"^[0-9A-Z]{5}$")


def free_port() -> int:
    """A loopback port nobody listens on (bound, read, released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


DOWN = {
    "postgresql": lambda port: re.sub(r"Port=\d+", f"Port={port}", PG),
    "mariadb": lambda port: re.sub(r"Port=\d+", f"Port={port}", MARIADB),
}


def assert_no_leak(response, *secrets: str) -> None:
    text = response.get_data(as_text=True)
    for secret in (
        "Traceback",
        'File "',
        "pyodbc",
        "SQLExecDirect",
        "SQLDriverConnect",
        "Driver=",
        "Connection refused",
        "Can't connect",
        *secrets,
    ):
        assert secret not in text


@pytest.fixture(scope="module")
def broken_app(backend):
    """The CRM app plus ``ghost`` (a missing table on the healthy source) and ``remote``
    (a table on a PostgreSQL source whose port nobody listens on)."""
    config = crm_config(backend.connection)
    config["sources"]["down"] = {
        "kind": "odbc",
        "connection": DOWN["postgresql"](free_port()),
        "timeout": "2s",
        "connect_timeout": "2s",
    }
    fields = {"id": {"column": "CUST_NO", "converter": "int"}, "name": {"column": "CUST_NM"}}
    config["resources"]["ghost"] = {"source": "crm", "table": MISSING, "key": ["id"], "fields": fields}
    config["resources"]["remote"] = {"source": "down", "table": "LGCY_CUST", "key": ["id"], "fields": fields}
    app = make_app(config)
    yield app
    app.extensions["legacy_bridge"].close()


def _native_error(backend) -> pyodbc.Error:
    with pytest.raises(pyodbc.Error) as caught:
        backend.execute(f"SELECT * FROM {backend.q(MISSING)}")
    return caught.value


@pytest.mark.parametrize("path", ["/v1/ghost", "/v1/ghost/1", "/v1/ghost?id[gt]=3&sort=-id"])
def test_a_missing_table_is_a_502_keeping_the_sqlstate_and_not_the_driver_text(broken_app, backend, path):
    native = _native_error(backend)
    response = broken_app.test_client().get(path)
    assert response.status_code == 502
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["type"] == PROBLEM + "source-error" and body["status"] == 502
    assert body["source"] == "crm" and body["title"] and body["detail"]
    assert SQLSTATE.match(body["legacy_code"]) and body["legacy_code"] == native.args[0]
    assert "Retry-After" not in response.headers
    message = str(native.args[-1])
    assert_no_leak(
        response, backend.connection, message, MISSING.lower(), "no such table", "does not exist", "doesn't exist"
    )


@pytest.mark.parametrize("path", ["/v1/remote", "/v1/remote/1"])
def test_a_source_that_is_down_is_a_503_with_retry_after(broken_app, path):
    response = broken_app.test_client().get(path)
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["type"] == PROBLEM + "source-unavailable" and body["source"] == "down"
    assert SQLSTATE.match(body["legacy_code"])
    assert int(response.headers["Retry-After"]) > 0
    assert_no_leak(response, broken_app.extensions["legacy_bridge"].config.sources["down"]["connection"], "127.0.0.1")


def test_one_source_down_leaves_the_other_sources_resources_working(broken_app):
    client = broken_app.test_client()
    assert client.get("/v1/remote").status_code == 503
    assert client.get("/v1/customers?limit=3").status_code == 200
    assert client.get("/v1/order-lines/3/2").status_code == 200


def test_readyz_is_503_naming_the_failing_source_while_the_healthy_one_is_ok(broken_app):
    response = broken_app.test_client().get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["sources"]["crm"] == {"status": "ok"}
    assert body["sources"]["down"]["status"] == "failing"
    assert body["sources"]["down"]["error"] == "source-unavailable"
    assert "down" in body["detail"] and "crm" not in body["detail"]
    assert_no_leak(response, "127.0.0.1")


def test_readyz_is_200_when_every_source_answers(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json() == {"status": "ok", "sources": {"crm": {"status": "ok"}}}


@pytest.mark.parametrize("kind", sorted(DOWN))
def test_every_server_driver_reports_a_refused_connection_as_unavailable(kind):
    # MariaDB Connector/ODBC says HY000, psqlODBC 08001: both mean "cannot be reached"
    config = {
        "service": {"secret": "s"},
        "sources": {"db": {"kind": "odbc", "connection": DOWN[kind](free_port()), "timeout": "2s"}},
        "resources": {"t": {"source": "db", "table": "T", "key": ["id"], "fields": {"id": "ID"}}},
    }
    app = make_app(config)
    try:
        client = app.test_client()
        response = client.get("/v1/t")
        assert response.status_code == 503 and "Retry-After" in response.headers
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.get_json()["sources"]["db"]["error"] == "source-unavailable"
    finally:
        app.extensions["legacy_bridge"].close()
