"""Streamed exports: the /export route and Accept on the list route, formats, filters,
gzip, and errors before and after the first byte."""

from __future__ import annotations

import csv
import gzip
import io
import json

import pytest

from helpers.backends import ROWS, crm_config, customer_record, make_app
from legacy_bridge.errors import SourceUnavailable

NDJSON = "application/x-ndjson"


def _lines(body: bytes) -> list[dict]:
    return [json.loads(line) for line in body.decode().splitlines()]


def test_the_export_route_streams_every_record_as_the_pages_have_them(client):
    response = client.get("/v1/customers/export?format=ndjson")
    assert response.status_code == 200
    assert response.is_streamed
    assert response.headers["Content-Type"] == NDJSON
    assert response.headers["Content-Disposition"] == 'attachment; filename="customers.ndjson"'
    assert _lines(response.data) == [customer_record(n) for n in range(1, ROWS + 1)]


def test_accept_ndjson_or_csv_on_the_list_route_streams_an_export(client):
    ndjson = client.get("/v1/customers?state=MA&fields=id,state", headers={"Accept": NDJSON})
    assert ndjson.headers["Content-Type"] == NDJSON
    assert _lines(ndjson.data) == [{"id": n, "state": "MA"} for n in range(1, ROWS + 1) if n % 4 == 0]
    text = client.get("/v1/customers?state=MA&fields=id,state", headers={"Accept": "text/csv"})
    assert text.headers["Content-Type"].startswith("text/csv")
    assert text.data.decode().split("\r\n")[:3] == ["id,state", "4,MA", "8,MA"]


@pytest.mark.parametrize(
    "accept",
    ["*/*", "application/json", "text/html,application/xhtml+xml,*/*;q=0.8", "application/json, text/csv;q=0.5"],
)
def test_accept_that_does_not_prefer_an_export_gets_a_json_page(client, accept):
    response = client.get("/v1/customers?limit=2", headers={"Accept": accept})
    assert response.headers["Content-Type"] == "application/json"
    assert len(response.get_json()["data"]) == 2


def test_an_export_honours_filters_fields_and_sort(client):
    response = client.get(
        "/v1/customers/export?format=csv&fields=id,credit_limit,opened_on"
        "&credit_limit[gte]=100&active=true&sort=-credit_limit"
    )
    rows = list(csv.reader(io.StringIO(response.data.decode(), newline="")))
    expected = sorted(
        (customer_record(n) for n in range(1, ROWS + 1)), key=lambda r: (-float(r["credit_limit"]), r["id"])
    )
    expected = [r for r in expected if float(r["credit_limit"]) >= 100 and r["active"]]
    assert rows[0] == ["id", "credit_limit", "opened_on"]
    assert rows[1:] == [[str(r["id"]), r["credit_limit"], r["opened_on"] or ""] for r in expected]


def test_csv_cells_are_iso_dates_true_false_and_empty_for_null(client):
    rows = list(
        csv.reader(io.StringIO(client.get("/v1/customers/export?format=csv&id[in]=10,11").data.decode(), newline=""))
    )
    header = rows[0]
    ten, eleven = (dict(zip(header, r)) for r in rows[1:])
    assert ten["opened_on"] == "" and ten["active"] == "true"  # legacy 0 date: null
    assert eleven["updated_at"] == customer_record(11)["updated_at"]
    assert eleven["active"] == ("true" if customer_record(11)["active"] else "false")


def test_an_export_is_gzipped_as_it_streams_when_the_client_accepts_it(client):
    response = client.get("/v1/customers/export?format=ndjson", headers={"Accept-Encoding": "gzip, br"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["Vary"]
    assert _lines(gzip.decompress(response.data)) == [customer_record(n) for n in range(1, ROWS + 1)]
    plain = client.get("/v1/customers/export?format=ndjson", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers


@pytest.mark.parametrize(
    "query, parameter",
    [
        ("format=xml", "format"),
        ("format=", "format"),  # an empty format names none: not the default taken silently
        ("format=csv&limit=10", "limit"),
        ("format=csv&cursor=abc", "cursor"),
        ("format=csv&nope=1", "nope"),
        ("format=csv&fields=id,bogus", "fields"),
        ("format=csv&updated_since=2020-01-01", "updated_since"),
    ],
)
def test_a_bad_export_request_is_a_problem_before_any_byte(client, query, parameter):
    response = client.get(f"/v1/customers/export?{query}")
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.get_json()["parameter"] == parameter


def test_a_source_down_at_the_start_is_a_503_problem_not_a_broken_stream():
    app = make_app(
        crm_config("Driver={PostgreSQL Unicode};Server=127.0.0.1;Port=1;Database=x;Uid=x", connect_timeout="1s")
    )
    try:
        response = app.test_client().get("/v1/customers/export?format=csv")
        assert response.status_code == 503
        assert response.headers["Content-Type"] == "application/problem+json"
        assert response.headers["Retry-After"]
    finally:
        app.extensions["legacy_bridge"].close()


@pytest.fixture
def failing_after(sqlite_backend, mocker):
    """An app whose source breaks after 1,500 rows of a stream (a fault injected at the
    driver's edge: a real database cannot be made to fail at a chosen row)."""
    app = make_app(crm_config(sqlite_backend.connection))
    driver = app.extensions["legacy_bridge"].drivers["crm"]
    real_fetch = driver.fetch

    def fetch(target, query):
        rows = real_fetch({"select": "SELECT a.* FROM LGCY_CUST a CROSS JOIN LGCY_CUST b"}, query)
        for n, row in enumerate(rows):
            if n == 1500:
                raise SourceUnavailable("source 'crm' cannot be reached", "crm", "08S01")
            yield row

    mocker.patch.object(driver, "fetch", fetch)
    yield app
    app.extensions["legacy_bridge"].close()


def test_an_ndjson_export_broken_mid_stream_ends_with_an_error_line(failing_after, caplog):
    response = failing_after.test_client().get("/v1/customers/export?format=ndjson")
    assert response.status_code == 200  # the status line went out long ago
    lines = _lines(response.data)
    assert 0 < len(lines) <= 1501
    assert lines[-1]["error"]["type"].endswith("source-unavailable")
    assert all("error" not in line for line in lines[:-1])
    assert "export of customers broken" in caplog.text


def test_a_csv_export_broken_mid_stream_lacks_its_final_crlf(failing_after, sqlite_backend):
    broken = failing_after.test_client().get("/v1/customers/export?format=csv").data
    assert not broken.endswith(b"\r\n")
    app = make_app(crm_config(sqlite_backend.connection))
    try:
        whole = app.test_client().get("/v1/customers/export?format=csv").data
    finally:
        app.extensions["legacy_bridge"].close()
    assert whole.endswith(b"\r\n")


@pytest.mark.parametrize("path", ["/v1/customers", "/v1/customers/export"])
def test_an_integer_beyond_64_bits_is_a_400_not_a_500(client, path):
    response = client.get(f"{path}?id[lte]=1455215109066510018030199635968")
    assert response.status_code == 400
    assert response.get_json()["type"].endswith("invalid-parameter")
