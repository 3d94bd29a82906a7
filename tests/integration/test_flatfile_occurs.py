"""100,000 generated invoices, each with 0-3 lines under OCCURS DEPENDING ON and a total after
them, served by gunicorn from a YAML config alone (``lines`` a ``type: array`` field): in a V
and a VB file whose records are only as long as their lines (``variable_size_occurs``) and an F
file padded to the maximum.  Pages walked by cursor, key lookups through the index, NDJSON and
CSV exports and a filter on an inner field all give every invoice as generated.  And Cobrix's
test21 (records packed back to back, arrays in arrays) served the same way."""

from __future__ import annotations

import csv
import io
import json
import sys
import time

import pytest
import requests
import yaml

from helpers.backends import ROOT, SHARED_TESTDATA, make_app
from helpers.invoices import INVOICE, invoice, write
from helpers.servers import HOST, free_port, serve_process
from legacy_bridge.drivers.flatfile.copybook import make_encoder, parse_copybook

N = 100_000
FORMATS = {"v": ("V", True), "vb": ("VB", True), "f": ("F", False)}
FIELDS = {
    "no": {"column": "INV-NO", "converter": "int"},
    "total": {"column": "TOTAL", "converter": "decimal"},
    "lines": {
        "type": "array",
        "column": "LINES",
        "fields": {
            "sku": {"column": "ITEM_SKU", "converter": "trim", "filter": True},
            "qty": {"column": "ITEM_QTY", "converter": "int"},
        },
    },
}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("flatfile-occurs")
    (tmp / "invoice.cpy").write_text(INVOICE)
    sources, resources = {}, {}
    for name, (record_format, variable) in FORMATS.items():
        write(tmp / f"invoices.{name}", N, record_format)
        sources[name] = {
            "kind": "flatfile",
            "path": str(tmp / f"invoices.{name}"),
            "copybook": str(tmp / "invoice.cpy"),
            "record_format": record_format,
            **({"variable_size_occurs": True} if variable else {}),
        }
        resources[f"invoices-{name}"] = {"source": name, "key": ["no"], "fields": FIELDS}
    config = {"service": {"secret": "s", "max_limit": 5000}, "sources": sources, "resources": resources}
    (tmp / "config.yaml").write_text(yaml.safe_dump(config))
    port = free_port()
    argv = [sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"{HOST}:{port}", "--timeout", "120", "wsgi:app"]
    env = {"LEGACY_BRIDGE_CONFIG": str(tmp / "config.yaml"), "LEGACY_BRIDGE_LOG_LEVEL": "WARNING"}
    with serve_process(argv, port, tmp / "gunicorn.log", cwd=ROOT, env=env) as server:
        yield server


def test_every_file_shape_is_read_by_its_length_not_the_maximum(tmp_path):
    for name, (record_format, _) in FORMATS.items():
        write(tmp_path / name, 100, record_format)
    sizes = {name: (tmp_path / name).stat().st_size for name in FORMATS}
    assert sizes["f"] == 100 * 30  # padded: 6 + 2 + 3 x 6 + 4
    assert sizes["v"] == sum(4 + 12 + 6 * (no % 4) for no in range(1, 101))  # RDW + head + lines + total


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_pages_walked_by_cursor_give_every_invoice(served, name):
    url, seen = f"{served.url}/v1/invoices-{name}?limit=5000", []
    while url:
        body = requests.get(url, timeout=60).json()
        seen += body["data"]
        url = body["next"] and f"{served.url}/v1/invoices-{name}?limit=5000&cursor={body['next']}"
    assert len(seen) == N
    assert seen == [invoice(no) for no in range(1, N + 1)]


def _get_when_indexed(url: str) -> requests.Response:
    """A get by key, again while the file's key index is still built (503 index-building)."""
    deadline = time.monotonic() + 120
    while True:
        response = requests.get(url, timeout=60)
        if response.status_code != 503 or time.monotonic() > deadline:
            return response
        assert response.json()["type"].endswith(":index-building"), response.text
        time.sleep(min(float(response.headers.get("Retry-After", "1")), 2.0))


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_key_lookups_find_invoices_of_every_length(served, name):
    for no in (1, 2, 3, 4, 4_999, 50_000, 77_777, 99_998, N):
        response = _get_when_indexed(f"{served.url}/v1/invoices-{name}/{no}")
        assert response.status_code == 200, no
        assert response.json() == invoice(no)
    assert requests.get(f"{served.url}/v1/invoices-{name}/{N + 1}", timeout=60).status_code == 404


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_an_ndjson_export_has_every_invoice_with_its_lines(served, name):
    with requests.get(f"{served.url}/v1/invoices-{name}/export?format=ndjson", stream=True, timeout=120) as response:
        assert response.status_code == 200
        got = [json.loads(line) for line in response.iter_lines(chunk_size=1 << 16)]
    assert got == [invoice(no) for no in range(1, N + 1)]


def test_a_csv_export_names_the_array_or_leaves_it_out(served):
    refused = requests.get(f"{served.url}/v1/invoices-v/export?format=csv", timeout=60)
    assert refused.status_code == 400 and "lines" in refused.json()["detail"]
    response = requests.get(f"{served.url}/v1/invoices-v/export?format=csv&fields=no,total", timeout=120)
    rows = list(csv.reader(io.StringIO(response.text, newline="")))
    assert rows[0] == ["no", "total"] and len(rows) == N + 1
    assert rows[12_345] == ["12345", invoice(12_345)["total"]]


def test_a_filter_on_an_inner_field_matches_any_line(served):
    body = requests.get(f"{served.url}/v1/invoices-vb?lines.sku=S042&limit=5000", timeout=120).json()
    wanted = [invoice(no) for no in range(1, N + 1) if any(li["sku"] == "S042" for li in invoice(no)["lines"])]
    assert body["data"] == wanted[:5000] and wanted


TEST21 = SHARED_TESTDATA / "cobol" / "cobrix" / "data"


def _lower(value):
    """Cobrix's expected JSON with the keys our YAML gives them (INNER_COUNT -> inner_count)."""
    if isinstance(value, dict):
        return {k.lower(): _lower(v) for k, v in value.items()}
    return [_lower(v) for v in value] if isinstance(value, list) else value


def test_cobrix_test21_is_served_with_arrays_in_arrays_pages_and_gets(tmp_path):
    source = {
        "kind": "flatfile",
        "path": str(TEST21 / "test21_data" / "data.dat"),
        "copybook": str(TEST21 / "test21_copybook.cob"),
        "codepage": "ascii",
        "record_format": "F",
        "variable_size_occurs": True,
        "index_dir": str(tmp_path / "index"),
    }
    inner_group = {"type": "array", "column": "INNER_GROUP", "fields": {"field": "FIELD"}}
    group = {
        "type": "array",
        "column": "GROUP",
        "fields": {"inner_count": {"column": "INNER_COUNT", "converter": "int"}, "inner_group": inner_group},
    }
    fields = {"count": {"column": "COUNT", "converter": "int"}, "group": group}
    app = make_app(
        {"sources": {"t21": source}, "resources": {"records": {"source": "t21", "key": ["count"], "fields": fields}}}
    )
    expected = [
        _lower(json.loads(line)["RECORD"])
        for line in (TEST21 / "test21_expected" / "test21.txt").read_text().splitlines()
    ]
    try:
        client = app.test_client()
        first = client.get("/v1/records?limit=2").get_json()
        rest = client.get(f"/v1/records?limit=5&cursor={first['next']}").get_json()
        assert first["data"] + rest["data"] == expected
        assert client.get("/v1/records/2").get_json() == expected[3]  # the first record with the key
    finally:
        app.extensions["legacy_bridge"].close()


SHIPMENT = """\
       01  SHIPMENT.
           05  SHIP-NO         PIC 9(4).
           05  SHIP-TO.
               10  CITY        PIC X(10).
               10  ZIP         PIC 9(5).
           05  CODES           PIC X(2) OCCURS 3 TIMES.
"""


def test_a_group_is_an_object_field_and_an_elementary_occurs_an_array_of_values(tmp_path):
    encode = make_encoder(parse_copybook(SHIPMENT), "cp037")
    (tmp_path / "ship.cpy").write_text(SHIPMENT)
    (tmp_path / "ship.bin").write_bytes(
        encode((1, "BOSTON", 2101, "AA", "BB", "CC")) + encode((2, "AUSTIN", 73301, "XY", "", "ZZ"))
    )
    source = {"kind": "flatfile", "path": str(tmp_path / "ship.bin"), "copybook": str(tmp_path / "ship.cpy")}
    fields = {
        "no": {"column": "SHIP-NO", "converter": "int"},
        "ship_to": {
            "type": "object",
            "column": "SHIP-TO",
            "fields": {"city": "CITY", "zip": {"column": "ZIP", "converter": "int"}},
        },
        "codes": {"type": "array", "column": "CODES", "converter": "trim", "filter": True},
    }
    app = make_app(
        {"sources": {"s": source}, "resources": {"shipments": {"source": "s", "key": ["no"], "fields": fields}}}
    )
    try:
        client = app.test_client()
        assert client.get("/v1/shipments").get_json()["data"] == [
            {"no": 1, "ship_to": {"city": "BOSTON", "zip": 2101}, "codes": ["AA", "BB", "CC"]},
            {"no": 2, "ship_to": {"city": "AUSTIN", "zip": 73301}, "codes": ["XY", "", "ZZ"]},
        ]
        assert [r["no"] for r in client.get("/v1/shipments?codes=ZZ").get_json()["data"]] == [2]
        assert client.get("/v1/shipments/1").get_json()["ship_to"]["city"] == "BOSTON"
    finally:
        app.extensions["legacy_bridge"].close()
