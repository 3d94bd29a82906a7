"""EBCDIC copybook files served through the app (JRecord's DTAR020), and bad records
under both policies: reject refuses the file naming the record, quarantine skips and
lists it.  Never a crash, never a silent drop, never a 500."""

from __future__ import annotations

import shutil

import pytest
import yaml
from click.testing import CliRunner

from helpers.backends import make_app
from helpers.dtar020 import DATA, SIZE, config, corrupt, expected_rows
from helpers.vb_files import VB_COPYBOOK, vb_file
from legacy_bridge.cli import main


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "DTAR020.bin"
    shutil.copy(DATA, path)
    return path


def walk(client, url):
    seen = []
    while url:
        body = client.get(url).get_json()
        seen += body["data"]
        url = body["next"] and url.split("&cursor=")[0] + "&cursor=" + body["next"]
    return seen


def test_every_record_of_dtar020_reads_as_jrecord_decodes_it(data):
    app = make_app(config(data))
    try:
        assert walk(app.test_client(), "/v1/sales?limit=50") == expected_rows()
    finally:
        app.extensions["legacy_bridge"].close()


def test_filters_and_get_by_key_on_ebcdic_records(data):
    app = make_app(config(data))
    try:
        client = app.test_client()
        rows = expected_rows()
        got = walk(client, "/v1/sales?qty[lt]=0&limit=5")
        assert got == [r for r in rows if r["qty"] < 0] and got
        first = next(r for r in rows if r["keycode"] == rows[100]["keycode"])
        assert client.get(f"/v1/sales/{rows[100]['keycode']}").get_json() == first
        assert client.get("/v1/sales/00000000").status_code == 404
    finally:
        app.extensions["legacy_bridge"].close()


BAD = {  # what is broken: (record number, byte in the record, bytes written, field named)
    "bad packed nibble": (5, 8, b"\x2a", "DTAR020_STORE_NO"),
    "bad code point": (9, 2, b"\x05", "DTAR020_KEYCODE_NO"),
}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_reject_refuses_the_file_naming_the_record_and_why(data, kind):
    record, at, value, field = BAD[kind]
    corrupt(data, record, at, value)
    app = make_app(config(data, "reject"))
    try:
        client = app.test_client()
        ready = client.get("/readyz")
        assert ready.status_code == 503
        report = ready.get_json()["sources"]["sales"]
        assert report["error"] == "file-rejected" and report["record"] == record
        assert report["offset"] == (record - 1) * SIZE and report["field"] == field
        for url in ("/v1/sales?limit=500", "/v1/sales/69684558"):
            response = client.get(url)
            assert response.status_code == 503, url
            body = response.get_json()
            assert body["file"] == "DTAR020.bin" and body["record"] == record and body["reason"]
            assert f"record {record}" in body["detail"]
    finally:
        app.extensions["legacy_bridge"].close()


def test_a_list_reaching_a_bad_record_is_refused_even_before_any_survey(data):
    corrupt(data, 30, 8, b"\x2a")
    app = make_app(config(data, "reject"))
    try:
        client = app.test_client()
        assert client.get("/v1/sales?limit=10").status_code == 200  # records 1-10 are sound
        refused = client.get("/v1/sales?limit=100")
        assert refused.status_code == 503 and refused.get_json()["record"] == 30
    finally:
        app.extensions["legacy_bridge"].close()


def test_quarantine_skips_bad_records_and_lists_them(data):
    for record, at, value, _ in BAD.values():
        corrupt(data, record, at, value)
    with open(data, "ab") as f:
        f.write(b"\xf1" * 10)  # a truncated last record
    app = make_app(config(data, "quarantine"))
    try:
        client = app.test_client()
        bad_numbers = {r for r, *_ in BAD.values()}
        good = [r for i, r in enumerate(expected_rows(), 1) if i not in bad_numbers]
        assert walk(client, "/v1/sales?limit=40") == good
        assert client.get("/readyz").status_code == 200
        body = client.get("/v1/sales/quarantine").get_json()
        assert body["total"] == 3 and body["policy"] == "quarantine"
        listed = {(b["file"], b["record"], b["offset"]) for b in body["data"]}
        assert listed == {("DTAR020.bin", 5, 4 * SIZE), ("DTAR020.bin", 9, 8 * SIZE), ("DTAR020.bin", 380, 379 * SIZE)}
        assert all(b["reason"] for b in body["data"])
        assert next(b for b in body["data"] if b["record"] == 380)["reason"].startswith("truncated")
    finally:
        app.extensions["legacy_bridge"].close()


def test_check_says_which_record_is_bad_and_why(data, tmp_path):
    corrupt(data, 5, 8, b"\x2a")
    for policy, code in (("reject", 1), ("quarantine", 0)):
        path = tmp_path / f"{policy}.yaml"
        path.write_text(yaml.safe_dump(config(data, policy)))
        result = CliRunner().invoke(main, ["check", "--config", str(path)])
        assert result.exit_code == code, result.output
        assert "DTAR020.bin" in result.output and "record 5" in result.output


def test_a_vb_file_walks_page_by_page_each_page_entering_its_block(tmp_path):
    (tmp_path / "REC.cpy").write_text(VB_COPYBOOK)
    (tmp_path / "rec.vb").write_bytes(vb_file(200, per_block=9))
    app = make_app(
        {
            "service": {"secret": "s"},
            "sources": {
                "recs": {
                    "kind": "flatfile",
                    "path": str(tmp_path / "rec.vb"),
                    "copybook": str(tmp_path / "REC.cpy"),
                    "record_format": "VB",
                }
            },
            "resources": {
                "recs": {
                    "source": "recs",
                    "key": ["no"],
                    "fields": {
                        "no": {"column": "REC-NO", "converter": "int"},
                        "name": {"column": "REC-NM", "converter": "trim", "filter": True},
                    },
                }
            },
        }
    )
    try:
        seen = walk(app.test_client(), "/v1/recs?limit=13")
        assert [r["no"] for r in seen] == list(range(1, 201))
        assert seen[150] == {"no": 151, "name": "NAME 151"}
        assert walk(app.test_client(), "/v1/recs?name[startswith]=NAME%2019&limit=3") == [
            {"no": n, "name": f"NAME {n}"} for n in [19] + list(range(190, 200))
        ]
    finally:
        app.extensions["legacy_bridge"].close()
