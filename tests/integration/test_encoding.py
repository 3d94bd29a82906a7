"""Legacy code pages: cp1252 bytes in CHAR columns come out as proper UTF-8 JSON.

The bytes are written with the sqlite3 module as ``CAST(x'..' AS TEXT)``, so the file
holds exactly what a legacy Windows application wrote, including 0x81, a byte cp1252
leaves undefined: that one reads as U+FFFD, never as a 500.
"""

from __future__ import annotations

import re
import sqlite3
from urllib.parse import quote

import pytest

from helpers.backends import make_app

TABLE = "LGCY_NOTE_1252"
# (key, raw cp1252 bytes of NOTE_TX, what the API must return)
NOTES = [
    (1, b"Caf\xe9", "Café"),
    (2, b"\x80 12,50", "€ 12,50"),
    (3, b"A\x81B", "A\ufffdB"),
    (4, b"na\xefve \x93quoted\x94 \x96 d\xe9j\xe0 vu", "naïve “quoted” – déjà vu"),
    (5, b"plain ascii", "plain ascii"),
]


def _database(backend) -> str:
    return re.search(r"Database=([^;]+)", backend.connection).group(1)


@pytest.fixture(scope="module")
def notes_db(sqlite_backend):
    """The legacy table, raw bytes and CHAR(30) padding included."""
    with sqlite3.connect(_database(sqlite_backend)) as db:
        db.execute(f"DROP TABLE IF EXISTS {TABLE}")
        db.execute(
            f"CREATE TABLE {TABLE} (NOTE_NO INTEGER NOT NULL PRIMARY KEY, NOTE_TX CHAR(30) NOT NULL,"
            " NOTE_VC VARCHAR(30))"
        )
        for key, raw, _ in NOTES:
            padded = raw.ljust(30)
            db.execute(
                f"INSERT INTO {TABLE} VALUES (?, CAST(x'{padded.hex()}' AS TEXT), CAST(x'{raw.hex()}' AS TEXT))", (key,)
            )
    return sqlite_backend


def _client(backend, **source):
    config = {
        "service": {"secret": "encoding-secret"},
        "sources": {"legacy": {"kind": "odbc", "connection": backend.connection, **source}},
        "resources": {
            "notes": {
                "source": "legacy",
                "table": TABLE,
                "key": ["no"],
                "fields": {
                    "no": {"column": "NOTE_NO", "converter": "int"},
                    "text": {"column": "NOTE_TX", "converter": "trim", "filter": True},
                    "short": {"column": "NOTE_VC"},
                },
            }
        },
    }
    return make_app(config)


@pytest.fixture(scope="module")
def cp1252(notes_db):
    app = _client(notes_db, encoding="cp1252")
    yield app.test_client()
    app.extensions["legacy_bridge"].close()


def test_the_raw_bytes_are_really_cp1252_in_the_file(notes_db):
    with sqlite3.connect(_database(notes_db)) as db:
        db.text_factory = bytes
        raw = db.execute(f"SELECT NOTE_VC FROM {TABLE} WHERE NOTE_NO = 3").fetchone()[0]
    assert raw == b"A\x81B"


def test_list_decodes_cp1252_and_undefined_bytes_become_replacement_characters(cp1252):
    response = cp1252.get("/v1/notes")
    assert response.status_code == 200
    assert response.get_data().decode("utf-8")  # strict UTF-8 on the wire
    assert response.get_json()["data"] == [{"no": k, "text": text, "short": text} for k, _, text in NOTES]


@pytest.mark.parametrize("key, raw, text", NOTES, ids=[str(n[0]) for n in NOTES])
def test_get_decodes_each_record(cp1252, key, raw, text):
    response = cp1252.get(f"/v1/notes/{key}")
    assert response.status_code == 200
    assert response.get_json() == {"no": key, "text": text, "short": text}


def test_ascii_filters_still_work_over_an_encoded_column(cp1252):
    body = cp1252.get("/v1/notes?text[startswith]=Caf").get_json()
    assert body["data"] == [{"no": 1, "text": "Café", "short": "Café"}]


def test_without_the_encoding_bad_bytes_are_still_never_a_500(notes_db):
    app = _client(notes_db)
    try:
        client = app.test_client()
        assert client.get("/v1/notes").status_code == 200
        assert all(client.get(f"/v1/notes/{key}").status_code == 200 for key, _, _ in NOTES)
    finally:
        app.extensions["legacy_bridge"].close()


def test_non_ascii_filters_are_sent_in_the_source_code_page(cp1252):
    # (as a client sends them: percent-encoded UTF-8; raw bytes above 0x7F are refused)
    assert cp1252.get(f"/v1/notes?text[startswith]={quote('Café')}").get_json()["data"][0]["no"] == 1
    assert [r["no"] for r in cp1252.get(f"/v1/notes?text[contains]={quote('€')}").get_json()["data"]] == [2]
    assert [r["no"] for r in cp1252.get(f"/v1/notes?text[contains]={quote('“quoted”')}").get_json()["data"]] == [4]


def test_a_filter_value_the_code_page_cannot_hold_is_a_400(cp1252):
    response = cp1252.get(f"/v1/notes?text[contains]={quote('中')}")
    assert response.status_code == 400
    assert response.content_type == "application/problem+json"
    assert "cp1252" in response.get_json()["detail"]
    assert response.get_json()["parameter"] == "text[contains]"
