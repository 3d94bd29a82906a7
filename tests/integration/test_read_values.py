"""Values as they leave and enter, on every backend: binary columns in base64 (RFC 4648, as
OpenAPI's ``format: byte`` says) in pages, exports and filters; integers past what the column
holds refused while parsing, naming the parameter."""

from __future__ import annotations

import base64
import csv
import io
import json

import pytest

from helpers.backends import crm_config, make_app

TABLE = "LB_BLOBS"
BLOBS = [(1, b"\x00\xff\x10 raw"), (2, b""), (3, b"PK\x03\x04"), (4, None)]


@pytest.fixture(scope="module")
def blobs(backend):
    binary = {"sqlite": "BLOB", "postgresql": "BYTEA", "mariadb": "VARBINARY(16)"}[backend.name]
    q = backend.q
    backend.drop("TABLE", TABLE)
    backend.execute(
        f"CREATE TABLE {q(TABLE)} ({q('ID')} INTEGER NOT NULL PRIMARY KEY, {q('DATA')} {binary}, {q('RAW')} {binary})"
    )
    backend.executemany(f"INSERT INTO {q(TABLE)} VALUES (?, ?, ?)", [(n, b, b) for n, b in BLOBS])
    app = make_app(
        {
            "service": {"secret": "blob-secret"},
            "sources": {"db": {"kind": "odbc", "connection": backend.connection}},
            "resources": {
                "blobs": {
                    "source": "db",
                    "table": TABLE,
                    "key": ["id"],
                    "fields": {
                        "id": {"column": "ID", "converter": "int"},
                        "data": {"column": "DATA", "converter": "binary", "filter": True, "sort": True},
                        "raw": {"column": "RAW"},
                    },
                }
            },
        }
    )
    yield app.test_client()
    app.extensions["legacy_bridge"].close()
    backend.drop("TABLE", TABLE)


def _b64(value: bytes | None) -> str | None:
    return None if value is None else base64.b64encode(value).decode()


def test_binary_values_are_base64_in_pages_with_or_without_converter(blobs):
    data = blobs.get("/v1/blobs").get_json()["data"]
    assert data == [{"id": n, "data": _b64(b), "raw": _b64(b)} for n, b in BLOBS]


def test_binary_values_are_base64_in_ndjson_and_csv_exports(blobs):
    lines = blobs.get("/v1/blobs/export?format=ndjson&fields=id,data").get_data(as_text=True).splitlines()
    assert [json.loads(line) for line in lines] == [{"id": n, "data": _b64(b)} for n, b in BLOBS]
    rows = list(csv.reader(io.StringIO(blobs.get("/v1/blobs/export?format=csv&fields=id,data").get_data(as_text=True))))
    assert rows[1:] == [[str(n), _b64(b) or ""] for n, b in BLOBS]


def test_a_binary_filter_takes_base64_and_a_bad_one_is_a_400(blobs):
    value = _b64(b"\x00\xff\x10 raw").replace("+", "%2B").replace("/", "%2F")
    assert [r["id"] for r in blobs.get(f"/v1/blobs?data={value}").get_json()["data"]] == [1]
    response = blobs.get("/v1/blobs?data[gt]=not*base64")
    assert response.status_code == 400 and response.get_json()["parameter"] == "data[gt]"
    assert "base64" in response.get_json()["detail"]


def test_a_binary_sort_walks_every_row(blobs):
    ids, url = [], "/v1/blobs?limit=1&fields=id&sort=-data"
    while url:
        body = blobs.get(url).get_json()
        ids += [r["id"] for r in body["data"]]
        url = body["next"] and f"/v1/blobs?limit=1&fields=id&sort=-data&cursor={body['next']}"
    assert sorted(ids) == [1, 2, 3, 4] and ids[-1] == 4  # NULL last


def test_the_document_says_base64(blobs):
    properties = blobs.get("/openapi.json").get_json()["components"]["schemas"]["Blobs"]["properties"]
    assert (properties["data"]["type"], properties["data"]["format"]) == ("string", "byte")
    assert properties["raw"] == {"type": "string", "nullable": True}


# -- integers: what the column holds ---------------------------------------------------------


@pytest.fixture(scope="module")
def order_lines(backend):
    app = make_app(crm_config(backend.connection))
    yield app.test_client()
    app.extensions["legacy_bridge"].close()


@pytest.mark.parametrize(
    "url, parameter",
    [
        ("/v1/order-lines?order_no[lt]=3000000000", "order_no[lt]"),
        ("/v1/order-lines?quantity[in]=2,3000000000", "quantity[in]"),
        ("/v1/order-lines/3000000000/1", "order_no"),
    ],
)
def test_an_integer_beyond_its_column_is_a_400_naming_the_parameter(backend, order_lines, url, parameter):
    response = order_lines.get(url)
    if backend.name == "sqlite":  # SQLite's INTEGER holds 64 bits: a value, not an error
        assert response.status_code in (200, 404)
        return
    # PostgreSQL would fail the query (22003), MariaDB match nothing: refused alike, before either
    assert response.status_code == 400, response.get_data(as_text=True)
    problem = response.get_json()
    assert problem["parameter"] == parameter
    assert "holds integers from -2147483648 to 2147483647" in problem["detail"]


@pytest.mark.parametrize(
    "url, parameter",
    [(f"/v1/order-lines/1/{1 << 64}", "line_no"), (f"/v1/order-lines?quantity={-(1 << 63) - 1}", "quantity")],
)
def test_an_integer_past_64_bits_is_a_400_naming_the_parameter_on_every_backend(order_lines, url, parameter):
    response = order_lines.get(url)
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    assert response.get_json()["parameter"] == parameter and "out of range" in response.get_json()["detail"]
