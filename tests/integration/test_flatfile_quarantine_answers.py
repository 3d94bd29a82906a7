"""What a client is told about a bad record: a key lookup that finds only a quarantined record
says so (and where: file, record number, byte offset) instead of a plain 404, and an export
under ``reject`` that meets a bad record before anything was sent is the ordinary 503 problem,
not a 200 holding only an error line (NDJSON) or nothing (CSV)."""

from __future__ import annotations

import pytest

from helpers.backends import make_app
from helpers.vb_files import VB_COPYBOOK, vb_file

N, BAD = 60, 17  # records; the one whose name holds a byte cp037 has no character for


def served(tmp_path, policy: str):
    raw = bytearray(vb_file(N))
    name = "NAME 17".encode("cp037")
    at = raw.index(name)
    raw[at + 2] = 0x05  # a control code point in REC-NM: the key REC-NO still reads
    (tmp_path / "recs.vb").write_bytes(bytes(raw))
    (tmp_path / "recs.cpy").write_text(VB_COPYBOOK)
    source = {
        "kind": "flatfile",
        "path": str(tmp_path / "recs.vb"),
        "copybook": str(tmp_path / "recs.cpy"),
        "record_format": "VB",
        "bad_records": policy,
    }
    fields = {"no": {"column": "REC-NO", "converter": "int"}, "name": {"column": "REC-NM", "converter": "trim"}}
    return make_app(
        {
            "service": {"secret": "s", "max_limit": 500},
            "sources": {"f": source},
            "resources": {"recs": {"source": "f", "key": ["no"], "fields": fields}},
        }
    )


def test_the_key_of_a_quarantined_record_answers_that_it_is_quarantined_and_where(tmp_path):
    app = served(tmp_path, "quarantine")
    try:
        client = app.test_client()
        assert client.get("/v1/recs/16").get_json()["name"] == "NAME 16"
        response = client.get(f"/v1/recs/{BAD}")
        assert response.status_code == 404 and response.mimetype == "application/problem+json"
        body = response.get_json()
        assert body["type"] == "urn:legacy-bridge:problem:record-quarantined"
        assert body["title"] == "Record quarantined"
        assert (body["file"], body["record"], body["field"]) == ("recs.vb", BAD, "REC_NM")
        listed = client.get("/v1/recs/quarantine").get_json()["data"]
        assert [(r["record"], r["offset"]) for r in listed] == [(body["record"], body["offset"])]
        assert "quarantined" in body["detail"] and f"record {BAD}" in body["detail"]
        missing = client.get("/v1/recs/999")  # no record at all has this key: the plain 404
        assert missing.status_code == 404 and missing.get_json()["type"].endswith(":not-found")
        spec = client.get("/openapi.json").get_json()
        assert "record-quarantined" in spec["paths"]["/v1/recs/{no}"]["get"]["responses"]["404"]["description"]
    finally:
        app.extensions["legacy_bridge"].close()


@pytest.mark.parametrize("fmt", ["ndjson", "csv"])
def test_an_export_meeting_a_bad_record_before_sending_anything_is_a_503_problem(tmp_path, fmt):
    app = served(tmp_path, "reject")  # nothing surveyed the file yet
    try:
        response = app.test_client().get(f"/v1/recs/export?format={fmt}")
        assert response.status_code == 503 and response.mimetype == "application/problem+json"
        body = response.get_json()
        assert body["type"].endswith(":file-rejected") and (body["file"], body["record"]) == ("recs.vb", BAD)
    finally:
        app.extensions["legacy_bridge"].close()
