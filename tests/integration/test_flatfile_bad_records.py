"""Bad records met by a list page before anything surveyed the file, in every format:
``reject`` answers a 503 problem naming the file, record and reason (every time, not
hidden by the circuit breaker), ``quarantine`` skips the record and lists it.  Also a
truncated record under ``reject`` and a key lookup after an EBCDIC file is swapped.
Never a crash, never a silent drop, never a 500."""

from __future__ import annotations

import os
import shutil

import pytest

from helpers.backends import make_app
from helpers.dtar020 import DATA, SIZE, corrupt, expected_rows
from helpers.dtar020 import config as dtar_config
from helpers.vb_files import VB_COPYBOOK, vb_file

N = 40
BAD = 23  # the record made bad in each format


def csv_file(path):
    lines = ["NO,NAME,AMT"] + [f"{i},Name {i},{i}.25" for i in range(1, N + 1)]
    lines[BAD] = f"{BAD},Name {BAD}"  # a field short
    path.write_bytes(("\n".join(lines) + "\n").encode())
    return {"format": "csv", "columns": [{"name": "NO", "type": "int"}, {"name": "AMT", "type": "decimal"}]}


def fixed_file(path):
    lines = [f"{i:04d}{('Name ' + str(i)).ljust(12)}" for i in range(1, N + 1)]
    path.write_bytes("\n".join(lines).encode("ascii").replace(b"Name 23", b"Nam\xff 23") + b"\n")
    return {
        "format": "fixed",
        "columns": [{"name": "NO", "start": 1, "length": 4, "type": "int"}, {"name": "NAME", "start": 5, "length": 12}],
    }


FORMATS = {"csv": csv_file, "fixed": fixed_file}


def served(tmp_path, fmt: str, policy: str):
    path = tmp_path / f"data.{fmt}"
    source = FORMATS[fmt](path)
    return make_app(
        {
            "service": {"secret": "s", "max_limit": 500},
            "sources": {"f": {"kind": "flatfile", "path": str(path), "bad_records": policy, **source}},
            "resources": {
                "recs": {"source": "f", "key": ["no"], "fields": {"no": {"column": "NO", "converter": "int"}}}
            },
        }
    )


def close(app):
    app.extensions["legacy_bridge"].close()


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_reject_a_page_reaching_the_bad_record_is_a_503_naming_it_every_time(tmp_path, fmt):
    app = served(tmp_path, fmt, "reject")
    try:
        client = app.test_client()
        first = client.get("/v1/recs?limit=10")  # records 1-10: nothing surveyed yet
        assert first.status_code == 200 and [r["no"] for r in first.get_json()["data"]] == list(range(1, 11))
        cursor = first.get_json()["next"]
        assert client.get(f"/v1/recs?limit=10&cursor={cursor}").status_code == 200  # 11-20
        for _ in range(8):  # more than a breaker's failures: still the record, never "source failing"
            response = client.get("/v1/recs?limit=30")
            assert response.status_code == 503
            body = response.get_json()
            assert body["type"].endswith("file-rejected")
            assert (body["file"], body["record"]) == (f"data.{fmt}", BAD) and body["reason"]
        assert client.get("/v1/recs/1").status_code == 503
        assert client.get("/readyz").get_json()["sources"]["f"]["record"] == BAD
    finally:
        close(app)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_quarantine_a_page_reaching_the_bad_record_skips_it_and_the_listing_names_it(tmp_path, fmt):
    app = served(tmp_path, fmt, "quarantine")
    try:
        client = app.test_client()
        page = client.get("/v1/recs?limit=30")  # the first request of all
        assert page.status_code == 200
        assert [r["no"] for r in page.get_json()["data"]] == [i for i in range(1, 32) if i != BAD]
        listed = client.get("/v1/recs/quarantine").get_json()
        assert listed["total"] == 1 and listed["data"][0]["record"] == BAD
        assert listed["data"][0]["file"] == f"data.{fmt}" and listed["data"][0]["reason"]
        assert client.get(f"/v1/recs/{BAD}").status_code == 404 and client.get("/v1/recs/24").status_code == 200
    finally:
        close(app)


def test_reject_a_truncated_last_record_names_it(tmp_path):
    path = tmp_path / "DTAR020.bin"
    shutil.copy(DATA, path)
    with open(path, "ab") as f:
        f.write(b"\xf1" * 10)
    app = make_app(dtar_config(path, "reject"))
    try:
        client = app.test_client()
        assert client.get("/v1/sales?limit=100").status_code == 200  # the start is sound
        body = client.get("/v1/sales?limit=500").get_json()
        assert body["status"] == 503 and body["record"] == 380 and body["offset"] == 379 * SIZE
        assert body["reason"].startswith("truncated")
        ready = client.get("/readyz").get_json()["sources"]["sales"]
        assert ready["record"] == 380 and ready["reason"].startswith("truncated")
    finally:
        close(app)


def test_ebcdic_key_lookup_after_a_file_swap_reads_the_new_file(tmp_path):
    path = tmp_path / "DTAR020.bin"
    shutil.copy(DATA, path)
    app = make_app(dtar_config(path, "reject"))
    try:
        client = app.test_client()
        rows = expected_rows()
        old, kept = rows[0], rows[200]
        assert client.get(f"/v1/sales/{old['keycode']}").get_json() == old  # the index is built
        staging = tmp_path / ".DTAR020.bin.part"
        raw = DATA.read_bytes()
        staging.write_bytes(raw[100 * SIZE :])  # records 101-379 only
        os.replace(staging, path)
        gone = [r["keycode"] for r in rows[:100]]
        remaining = {r["keycode"] for r in rows[100:]}
        missing = next(k for k in gone if k not in remaining)
        assert client.get(f"/v1/sales/{missing}").status_code == 404
        assert client.get(f"/v1/sales/{kept['keycode']}").get_json() == next(
            r for r in rows[100:] if r["keycode"] == kept["keycode"]
        )
        corrupt(path, 1, 8, b"\x2a")  # edited in place: a new version too (size same, mtime new)
        os.utime(path, ns=(os.stat(path).st_atime_ns, os.stat(path).st_mtime_ns + 10**9))
        assert client.get(f"/v1/sales/{kept['keycode']}").status_code == 503  # the new survey rejects it
    finally:
        close(app)


@pytest.mark.parametrize("policy", ["reject", "quarantine"])
def test_a_truncated_vb_record_follows_the_policy(tmp_path, policy):
    (tmp_path / "REC.cpy").write_text(VB_COPYBOOK)
    (tmp_path / "rec.vb").write_bytes(vb_file(30, per_block=4)[:-5])  # the last record lost 5 bytes
    app = make_app(
        {
            "service": {"secret": "s"},
            "sources": {
                "recs": {
                    "kind": "flatfile",
                    "path": str(tmp_path / "rec.vb"),
                    "bad_records": policy,
                    "copybook": str(tmp_path / "REC.cpy"),
                    "record_format": "VB",
                }
            },
            "resources": {
                "recs": {"source": "recs", "key": ["no"], "fields": {"no": {"column": "REC-NO", "converter": "int"}}}
            },
        }
    )
    try:
        client = app.test_client()
        response = client.get("/v1/recs?limit=100")
        if policy == "reject":
            body = response.get_json()
            assert response.status_code == 503 and body["record"] == 30 and "truncated" in body["reason"]
        else:
            assert [r["no"] for r in response.get_json()["data"]] == list(range(1, 30))
            listed = client.get("/v1/recs/quarantine").get_json()["data"]
            assert [(b["record"], b["reason"].split(":")[0]) for b in listed] == [(30, "truncated record")]
    finally:
        close(app)
