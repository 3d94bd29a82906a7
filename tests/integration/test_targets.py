"""The other shapes a resource can take: a read-only SQL select, a supplied contract, and a
source reached by DSN instead of a DSN-less connection string."""

from __future__ import annotations

import copy

import pytest
from marshmallow import Schema, fields

from helpers.backends import ROWS, crm_config, customer_row, make_app


def _select_resource(backend) -> dict:
    q = backend.q
    select = (
        f"SELECT c.{q('CUST_NO')} AS {q('NO')}, c.{q('ST_CD')} AS {q('ST')}, "
        f"COUNT(l.{q('LN_NO')}) AS {q('LINES')} FROM {q('LGCY_CUST')} c "
        f"LEFT JOIN {q('LGCY_ORD_LN')} l ON l.{q('ORD_NO')} = c.{q('CUST_NO')} "
        f"GROUP BY c.{q('CUST_NO')}, c.{q('ST_CD')}"
    )
    return {
        "source": "crm",
        "select": select,
        "key": ["id"],
        "fields": {
            "id": {"column": "NO", "converter": "int"},
            "state": {"column": "ST", "converter": "trim", "filter": True},
            "lines": {"column": "LINES", "converter": "int", "filter": True, "sort": True},
        },
    }


@pytest.fixture(scope="module")
def select_client(backend):
    config = crm_config(backend.connection)
    config["resources"]["line-counts"] = _select_resource(backend)
    app = make_app(config)
    yield app.test_client()
    app.extensions["legacy_bridge"].close()


def test_a_select_resource_pages_filters_and_sorts_like_a_table(select_client):
    # customers 1..40 have 5 order lines each (the order number is the customer number)
    seen, url = [], "/v1/line-counts?lines[gt]=0&sort=-lines&limit=7&fields=id,lines"
    while url:
        response = select_client.get(url)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        seen += body["data"]
        url = response.headers["Link"].split(">")[0].lstrip("<") if body["next"] else None
    assert [r["id"] for r in seen] == list(range(1, 41))
    assert {r["lines"] for r in seen} == {5}


def test_a_select_resource_gets_by_key(select_client):
    record = select_client.get("/v1/line-counts/41").get_json()
    assert record == {"id": 41, "state": customer_row(41)[2], "lines": 0}


class CustomerContract(Schema):
    """A hand-written contract: fewer fields, its own names for the outside world."""

    id = fields.Integer(required=True)
    display_name = fields.Function(lambda r: r["name"].title())
    state = fields.String()


def test_a_supplied_contract_shapes_records_and_the_openapi_document(backend):
    config = crm_config(backend.connection)
    config["resources"]["customers"]["contract"] = f"{__name__}:CustomerContract"
    app = make_app(config)
    try:
        client = app.test_client()
        record = client.get("/v1/customers/7").get_json()
        assert record == {"id": 7, "display_name": "Customer 0007", "state": customer_row(7)[2]}
        page = client.get("/v1/customers?limit=2").get_json()["data"]
        assert [r["id"] for r in page] == [1, 2] and set(page[0]) == {"id", "display_name", "state"}
        schemas = client.get("/openapi.json").get_json()["components"]["schemas"]
        assert set(schemas["CustomerContract"]["properties"]) == {"id", "display_name", "state"}
    finally:
        app.extensions["legacy_bridge"].close()


def test_a_source_reached_by_dsn(sqlite_backend, tmp_path, monkeypatch):
    database = sqlite_backend.connection.split("Database=")[1].split(";")[0]
    ini = tmp_path / "odbc.ini"
    ini.write_text(f"[legacy_crm]\nDriver=SQLite3\nDatabase={database}\nStepAPI=1\n")
    monkeypatch.setenv("ODBCINI", str(ini))  # unixODBC's user DSN file
    config = copy.deepcopy(crm_config("DSN=legacy_crm"))
    app = make_app(config)
    try:
        client = app.test_client()
        assert client.get("/v1/customers/3").get_json()["id"] == 3
        assert len(client.get(f"/v1/customers?limit={ROWS}").get_json()["data"]) == ROWS
        assert client.get("/readyz").status_code == 200
    finally:
        app.extensions["legacy_bridge"].close()
