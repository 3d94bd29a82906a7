"""NDJSON and CSV encoders: RFC 4180 quoting, batches, gzip, and how a cut stream shows."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
from decimal import Decimal

import pytest

from legacy_bridge.formats.encoders import csv_chunks, encoder, error_line, gzip_chunks, ndjson_chunks

TRICKY = ["plain", "a,b", 'say "hi"', "two\nlines", "cr\r\nlf", "", " padded ", "Café ß €"]


def _csv(records, fields, batch=1000) -> bytes:
    return b"".join(csv_chunks(records, fields, batch))


def test_csv_quotes_commas_quotes_and_line_breaks_per_rfc_4180():
    body = _csv([{"id": i, "text": t} for i, t in enumerate(TRICKY)], ["id", "text"])
    assert body.decode().split("\r\n")[:4] == ["id,text", "0,plain", '1,"a,b"', '2,"say ""hi"""']
    assert b'3,"two\nlines"\r\n' in body and b'4,"cr\r\nlf"\r\n' in body
    parsed = list(csv.reader(io.StringIO(body.decode(), newline="")))
    assert parsed == [["id", "text"]] + [[str(i), t] for i, t in enumerate(TRICKY)]


def test_csv_types_are_iso_text_true_false_and_empty_for_null():
    record = {
        "d": dt.date(2020, 2, 29),
        "t": dt.time(23, 59, 1),
        "ts": dt.datetime(2020, 1, 1, 12, 0, 0, 5),
        "b": True,
        "f": False,
        "n": None,
        "x": Decimal("-1.50"),
        "i": 7,
    }
    assert (
        _csv([record], list(record)).decode().split("\r\n")[1]
        == "2020-02-29,23:59:01,2020-01-01T12:00:00.000005,true,false,,-1.50,7"
    )


def test_csv_columns_follow_the_field_list_not_the_record_order():
    assert _csv([{"b": 2, "a": 1}], ["a", "b"]) == b"a,b\r\n1,2\r\n"


def test_csv_ends_with_crlf_only_once_every_row_is_out():
    chunks = list(csv_chunks(({"i": i} for i in range(5)), ["i"], batch=2))
    assert b"".join(chunks) == b"i\r\n0\r\n1\r\n2\r\n3\r\n4\r\n"
    assert all(not c.endswith(b"\r\n") for c in chunks[:-1])  # each batch holds its last CRLF back
    assert chunks[-1] == b"\r\n"


def test_an_empty_csv_export_is_its_header_row():
    assert _csv([], ["id", "name"]) == b"id,name\r\n"


def test_a_csv_stream_cut_by_an_error_has_no_final_crlf():
    def rows():
        yield from ({"i": i} for i in range(3))
        raise RuntimeError("source gone")

    out = []
    with pytest.raises(RuntimeError):
        for chunk in csv_chunks(rows(), ["i"], batch=1):
            out.append(chunk)
    assert b"".join(out) == b"i\r\n0\r\n1\r\n2"


def test_ndjson_is_one_object_a_line_with_decimals_as_strings():
    records = [{"id": 1, "x": Decimal("1.10"), "d": dt.date(2020, 1, 2), "s": "a\nb"}, {"id": 2, "x": None}]
    body = b"".join(ndjson_chunks(records, ["id"], batch=1))
    assert body.endswith(b"\n") and body.count(b"\n") == 2
    assert [json.loads(line) for line in body.splitlines()] == [
        {"id": 1, "x": "1.10", "d": "2020-01-02", "s": "a\nb"},
        {"id": 2, "x": None},
    ]


def test_ndjson_encodes_a_batch_per_chunk_and_ends_with_its_last_newline():
    chunks = list(ndjson_chunks(({"i": i} for i in range(2500)), ["i"], batch=1000))
    assert len(chunks) == 4 and chunks[-1] == b"\n"
    assert all(not c.endswith(b"\n") for c in chunks[:-1])  # each batch holds its last newline back
    assert b"".join(chunks) == b"".join(b'{"i":%d}\n' % i for i in range(2500))


def test_an_ndjson_stream_cut_by_an_error_has_no_final_newline():
    def rows():
        yield from ({"i": i} for i in range(3))
        raise RuntimeError("source gone")

    out = []
    with pytest.raises(RuntimeError):
        for chunk in ndjson_chunks(rows(), ["i"], batch=2):
            out.append(chunk)
    assert b"".join(out) == b'{"i":0}\n{"i":1}'  # a line-reading client sees the last line unterminated


def test_an_empty_ndjson_export_is_empty():
    assert list(ndjson_chunks([], ["i"])) == []


def test_the_error_line_is_an_object_no_record_is_and_is_unterminated():
    line = error_line({"type": "t", "status": 503})
    assert json.loads(line) == {"error": {"type": "t", "status": 503}}
    assert not line.endswith(b"\n")


def test_gzip_chunks_form_one_gzip_member():
    chunks = [b"x" * 10_000, b"", b"y" * 3]
    assert gzip.decompress(b"".join(gzip_chunks(iter(chunks)))) == b"".join(chunks)


def test_unknown_format_lists_the_known_ones():
    with pytest.raises(ValueError, match="ndjson, csv"):
        encoder("xml")
