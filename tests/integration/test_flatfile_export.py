"""Streamed exports of a flat-file resource through gunicorn: a generated 300,000-record
EBCDIC file (DTAR020 layout, unique keys) exported as NDJSON and CSV has every record,
in file order, while the serving worker's peak memory stays flat; under ``reject`` an
export that reaches a bad record ends visibly, naming it, instead of dropping the rest."""

from __future__ import annotations

import csv
import io
import json
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml

from helpers.backends import ROOT, SHARED_TESTDATA
from helpers.servers import HOST, free_port, peak_rss_mb, serve_process

EXAMPLES = SHARED_TESTDATA / "cobol" / "cobol-to-csv" / "Examples"
COPYBOOK, TEMPLATES = EXAMPLES / "DTAR020.cbl", EXAMPLES / "in" / "DTAR020.bin"
SIZE, RECORDS, BAD = 27, 300_000, 250_000
MAX_GROWTH_MB = 50


def generate(path: Path, records: int) -> None:
    """DTAR020's 379 records as templates, each copy with its own KEYCODE-NO (00000001...)."""
    raw = TEMPLATES.read_bytes()
    rows = [raw[i : i + SIZE] for i in range(0, len(raw), SIZE)]
    with open(path, "wb") as f:
        for start in range(0, records, 50_000):
            f.write(
                b"".join(
                    f"{i + 1:08d}".encode("cp037") + rows[i % len(rows)][8:]
                    for i in range(start, min(records, start + 50_000))
                )
            )


def expected_rows() -> list[tuple]:
    """The 379 template records decoded (keycode, store, ...)."""
    from legacy_bridge.drivers.flatfile.copybook import iter_records, make_decoder, parse_copybook

    decode = make_decoder(parse_copybook(COPYBOOK.read_text()), "cp037")
    with open(TEMPLATES, "rb") as f:
        return [decode(record) for _, record in iter_records(f, "F", SIZE)]


def worker_of(master: int) -> int:
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == master:
                return int(stat.parent.name)
        except (OSError, ValueError, IndexError):
            continue
    raise AssertionError("no gunicorn worker")


FIELDS = {
    "keycode": {"column": "DTAR020-KEYCODE-NO", "converter": "trim"},
    "store": {"column": "DTAR020-STORE-NO", "converter": "int", "filter": True},
    "qty": {"column": "DTAR020-QTY-SOLD", "converter": "int"},
    "price": {"column": "DTAR020-SALE-PRICE", "converter": "decimal"},
}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """gunicorn (one sync worker) over the generated file (``sales``) and a copy with a bad
    packed nibble in record BAD under ``reject`` (``broken``)."""
    tmp = tmp_path_factory.mktemp("flatfile-export")
    generate(tmp / "sales.bin", RECORDS)
    raw = bytearray((tmp / "sales.bin").read_bytes())
    raw[(BAD - 1) * SIZE + 8] = 0x2A  # DTAR020-STORE-NO: not a packed digit
    (tmp / "drops").mkdir()
    (tmp / "drops" / "broken.bin").write_bytes(bytes(raw))
    config = {
        "service": {"secret": "s"},
        "sources": {
            "sales": {"kind": "flatfile", "path": str(tmp / "sales.bin"), "copybook": str(COPYBOOK)},
            "broken": {
                "kind": "flatfile",
                "path": str(tmp / "drops"),
                "copybook": str(COPYBOOK),
                "bad_records": "reject",
            },
        },
        "resources": {
            "sales": {"source": "sales", "key": ["keycode"], "fields": FIELDS},
            "broken": {"source": "broken", "key": ["keycode"], "fields": FIELDS},
        },
    }
    (tmp / "config.yaml").write_text(yaml.safe_dump(config))
    port = free_port()
    argv = [sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"{HOST}:{port}", "--timeout", "120", "wsgi:app"]
    with serve_process(
        argv,
        port,
        tmp / "gunicorn.log",
        cwd=ROOT,
        env={"LEGACY_BRIDGE_CONFIG": str(tmp / "config.yaml"), "LEGACY_BRIDGE_LOG_LEVEL": "WARNING"},
    ) as server:
        yield server


def test_an_ndjson_export_of_300k_ebcdic_records_has_every_one_in_flat_memory(exported):
    worker = worker_of(exported.process.pid)
    warm = requests.get(f"{exported.url}/v1/sales/export?format=ndjson&store=20", timeout=60)
    assert warm.status_code == 200 and warm.text.count("\n") > 0
    before = peak_rss_mb(worker)
    started = time.monotonic()
    with requests.get(f"{exported.url}/v1/sales/export?format=ndjson", stream=True, timeout=120) as response:
        assert response.status_code == 200 and "Content-Length" not in response.headers
        count = 0
        for count, line in enumerate(response.iter_lines(chunk_size=1 << 16), 1):
            if count in (1, 123_456, RECORDS):
                assert json.loads(line)["keycode"] == f"{count:08d}"
    growth = peak_rss_mb(worker) - before
    assert count == RECORDS
    assert growth < MAX_GROWTH_MB, f"peak RSS grew {growth:.0f} MB exporting {RECORDS} records"
    print(f"\n{RECORDS} records in {time.monotonic() - started:.1f}s, peak RSS +{growth:.1f} MB")


def test_a_csv_export_with_a_filter_streams_the_matching_records(exported):
    response = requests.get(
        f"{exported.url}/v1/sales?fields=keycode,store&store=20", headers={"Accept": "text/csv"}, timeout=120
    )
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.text, newline="")))
    assert rows[0] == ["keycode", "store"]
    stores = [row[1] for row in expected_rows()]
    full, rest = divmod(RECORDS, len(stores))
    assert len(rows) - 1 == stores.count(20) * full + stores[:rest].count(20) > 0
    assert all(r[1] == "20" for r in rows[1:])


def test_an_export_reaching_a_rejected_record_ends_visibly_naming_it(exported):
    with requests.get(f"{exported.url}/v1/broken/export?format=ndjson", stream=True, timeout=120) as response:
        assert response.status_code == 200  # the first records were sound
        lines = list(response.iter_lines(chunk_size=1 << 16))
    # sound records in order (the export encodes in batches: the one the error broke is not sent),
    # then the error line; never a stream that just stops
    assert 0 < len(lines) - 1 < BAD
    assert json.loads(lines[-2])["keycode"] == f"{len(lines) - 1:08d}"
    error = json.loads(lines[-1])["error"]
    assert error["status"] == 503 and error["record"] == BAD and error["file"] == "broken.bin"
