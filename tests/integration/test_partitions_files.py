"""Partitions of a flat-file resource: record-aligned byte ranges of the file version served at
the planning, whose reads put together are the export (F by arithmetic, V and VB by their
descriptors, CSV one range), each record once and with its own record number."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from helpers import dtar020
from helpers.backends import make_app
from helpers.vb_files import VB_COPYBOOK, vb_file
from legacy_bridge.drivers.flatfile.copybook import make_encoder, parse_copybook


def export(client, url: str) -> list[dict]:
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)
    return [json.loads(line) for line in response.get_data(as_text=True).splitlines()]


def union(client, resource: str, n: int, extra: str = "") -> tuple[list[list[dict]], list[dict]]:
    planned = client.get(f"/v1/{resource}/partitions?n={n}{extra}")
    assert planned.status_code == 200, planned.get_data(as_text=True)
    parts = [export(client, f"/v1/{resource}/export?partition={p['partition']}{extra}") for p in planned.json["data"]]
    return parts, planned.json["data"]


@pytest.fixture
def sales(tmp_path):
    """DTAR020 (F, 27-byte EBCDIC records) served from a copy."""
    data = tmp_path / "DTAR020.bin"
    shutil.copyfile(dtar020.DATA, data)
    app = make_app(dtar020.config(data))
    yield app.test_client(), data
    app.extensions["legacy_bridge"].close()


@pytest.mark.parametrize("n", [1, 3, 7])
def test_fixed_records_split_by_arithmetic_and_the_union_is_the_export(sales, n):
    client, data = sales
    parts, planned = union(client, "sales", n)
    assert sum(parts, []) == export(client, "/v1/sales/export") == dtar020.expected_rows()
    assert len(planned) == n and all(p["bytes"] % dtar020.SIZE == 0 for p in planned[:-1])
    assert max(map(len, parts)) - min(map(len, parts)) <= 1
    filtered, _ = union(client, "sales", n, "&store=20")
    assert sum(filtered, []) == export(client, "/v1/sales/export?store=20")


def test_a_partition_of_a_replaced_file_is_a_409_and_a_new_plan_reads_the_new_version(sales):
    client, data = sales
    token = client.get("/v1/sales/partitions?n=2").json["data"][1]["partition"]
    raw = data.read_bytes()
    tmp = data.with_suffix(".tmp")
    tmp.write_bytes(raw[: dtar020.SIZE * 100])
    os.replace(tmp, data)
    assert client.get(f"/v1/sales/export?partition={token}").status_code == 409
    parts, _ = union(client, "sales", 2)
    assert sum(parts, []) == dtar020.expected_rows()[:100]


def test_a_bad_record_in_a_later_partition_is_named_by_its_own_record_number(sales):
    client, data = sales
    dtar020.corrupt(data, 300, 16, b"\xff\xff")  # a packed field with bad nibbles
    last = client.get("/v1/sales/partitions?n=3").json["data"][-1]["partition"]
    body = client.get(f"/v1/sales/export?partition={last}").get_data(as_text=True)
    assert "record 300 " in body


def _variable_file(n: int, blocked: bool) -> bytes:
    if blocked:
        return vb_file(n, per_block=9)
    encode = make_encoder(parse_copybook(VB_COPYBOOK), "cp037")
    records = [encode((i, f"NAME {i}")) for i in range(1, n + 1)]
    return b"".join((len(r) + 4).to_bytes(2, "big") + b"\0\0" + r for r in records)


@pytest.mark.parametrize("record_format", ["V", "VB"])
def test_variable_records_split_at_their_descriptors_and_pages_walk_each_partition(tmp_path, record_format):
    (tmp_path / "REC.cpy").write_text(VB_COPYBOOK)
    (tmp_path / "rec.bin").write_bytes(_variable_file(500, record_format == "VB"))
    source = {"kind": "flatfile", "path": str(tmp_path / "rec.bin"), "copybook": str(tmp_path / "REC.cpy")}
    fields = {"no": {"column": "REC-NO", "converter": "int"}, "name": {"column": "REC-NM", "converter": "trim"}}
    app = make_app(
        {
            "service": {"secret": "s"},
            "sources": {"recs": {**source, "record_format": record_format}},
            "resources": {"recs": {"source": "recs", "key": ["no"], "fields": fields}},
        }
    )
    client = app.test_client()
    try:
        parts, planned = union(client, "recs", 4)
        assert [r["no"] for r in sum(parts, [])] == list(range(1, 501))
        assert len(planned) == 4 and min(map(len, parts)) > 100  # balanced by bytes
        token = planned[2]["partition"]
        url, walked = f"/v1/recs?partition={token}&limit=11", []
        while url:
            page = client.get(url).json
            walked += page["data"]
            url = page["next"] and f"/v1/recs?partition={token}&limit=11&cursor={page['next']}"
        assert walked == parts[2]
    finally:
        app.extensions["legacy_bridge"].close()


def test_a_csv_file_is_one_partition(tmp_path):
    (tmp_path / "c.csv").write_text("id,name\n" + "".join(f"{i},N{i}\n" for i in range(1, 51)))
    app = make_app(
        {
            "service": {"secret": "s"},
            "sources": {"f": {"kind": "flatfile", "format": "csv", "path": str(tmp_path / "c.csv")}},
            "resources": {"c": {"source": "f", "key": ["id"], "fields": {"id": {"column": "id", "converter": "int"}}}},
        }
    )
    client = app.test_client()
    try:
        parts, planned = union(client, "c", 4)
        assert len(planned) == 1 and [r["id"] for r in parts[0]] == list(range(1, 51))
    finally:
        app.extensions["legacy_bridge"].close()


def test_every_file_of_a_drop_folder_is_split_and_the_union_reads_them_in_order(tmp_path):
    drops = tmp_path / "drops"
    drops.mkdir()
    shutil.copyfile(dtar020.DATA, drops / "A.bin")
    (drops / "B.bin").write_bytes(dtar020.DATA.read_bytes()[: dtar020.SIZE * 50])
    config = dtar020.config(drops)
    config["sources"]["sales"]["pick"] = "all"
    app = make_app(config)
    client = app.test_client()
    try:
        parts, planned = union(client, "sales", 6)
        assert (
            sum(parts, [])
            == export(client, "/v1/sales/export")
            == dtar020.expected_rows() + dtar020.expected_rows()[:50]
        )
        assert len(planned) >= 6 and all(parts)
    finally:
        app.extensions["legacy_bridge"].close()
