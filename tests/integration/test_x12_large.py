"""A generated folder of 100,000 204 load tenders (10 files of one interchange of 10,000 sets each)
served by gunicorn: the NDJSON export gives every tender value for value while the worker's peak
memory stays flat, and a tender of the last file is found by its key once its index is built."""

from __future__ import annotations

import json
import sys
import time

import pytest
import requests
import yaml

from helpers.backends import ROOT
from helpers.servers import HOST, child_pids, free_port, peak_rss_mb, serve_process
from helpers.x12 import TENDER204, interchange, tender

FILES, PER_FILE = 10, 10_000
MAX_GROWTH_MB = 100  # the records held at once would be several hundred MB


def shipment(n: int) -> str:
    return f"SH{n:06d}"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("x12-large")
    inbound = tmp / "inbound"
    inbound.mkdir()
    for f in range(FILES):
        sets = [tender(f"{i + 1:04d}", shipment(f * PER_FILE + i), "ABCD", 1 + i % 20) for i in range(PER_FILE)]
        (inbound / f"tenders-{f:02d}.x12").write_text(interchange(f"{f + 1:09d}", str(f + 1), sets))
    config = {
        "service": {"secret": "s"},
        "sources": {
            "tenders": {"kind": "flatfile", "format": "x12", "path": str(inbound), "pick": "all", "x12": TENDER204}
        },
        "resources": {
            "tenders": {
                "source": "tenders",
                "key": ["shipment_id"],
                "fields": {
                    "shipment_id": "shipment_id",
                    "pickup_on": {"column": "pickup", "converter": "date"},
                    "stops": {
                        "type": "array",
                        "column": "stops",
                        "fields": {"seq": {"column": "seq", "converter": "int"}},
                    },
                },
            }
        },
    }
    (tmp / "config.yaml").write_text(yaml.safe_dump(config))
    port = free_port()
    argv = [sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"{HOST}:{port}", "--timeout", "300", "wsgi:app"]
    env = {"LEGACY_BRIDGE_CONFIG": str(tmp / "config.yaml"), "LEGACY_BRIDGE_LOG_LEVEL": "WARNING"}
    with serve_process(argv, port, tmp / "gunicorn.log", cwd=ROOT, env=env) as server:
        yield server


def test_100k_tenders_export_in_order_with_flat_worker_memory(served):
    (worker,) = child_pids(served.process.pid)
    assert requests.get(f"{served.url}/v1/tenders?limit=10", timeout=60).status_code == 200  # warm up
    before = peak_rss_mb(worker)
    started = time.monotonic()
    count = 0
    with requests.get(f"{served.url}/v1/tenders/export?format=ndjson", stream=True, timeout=600) as response:
        assert response.status_code == 200
        for count, line in enumerate(response.iter_lines(chunk_size=1 << 16), 1):
            record = json.loads(line)
            n = count - 1
            expected = {"shipment_id": shipment(n), "pickup_on": f"2024-03-{1 + n % PER_FILE % 20:02d}"}
            assert {k: record[k] for k in expected} == expected, f"record {count}"
            assert record["stops"] == [{"seq": 1}, {"seq": 2}]
    elapsed = time.monotonic() - started
    growth = peak_rss_mb(worker) - before
    assert count == FILES * PER_FILE
    assert growth < MAX_GROWTH_MB, f"peak RSS grew {growth:.0f} MB exporting {count} transaction sets"
    print(f"\n{count} transaction sets in {elapsed:.1f}s ({count / elapsed:,.0f}/s), peak RSS +{growth:.1f} MB")


def test_a_tender_of_the_last_file_is_found_by_its_key(served):
    wanted = shipment(FILES * PER_FILE - 3)
    deadline = time.monotonic() + 240
    while True:  # the background index builds answer 503 index-building meanwhile
        answer = requests.get(f"{served.url}/v1/tenders/{wanted}", timeout=60)
        if answer.status_code != 503 or time.monotonic() > deadline:
            break
        time.sleep(min(5, int(answer.headers.get("Retry-After", "1"))))
    assert answer.status_code == 200, answer.text
    assert answer.json()["shipment_id"] == wanted
