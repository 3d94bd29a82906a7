"""``legacy-bridge export RESOURCE --format ndjson|csv -o FILE``: in-process, with progress."""

from __future__ import annotations

import json
import subprocess
import sys

import yaml

from helpers.backends import ROWS, crm_config, customer_record


def _run(tmp_path, config: dict, *args: str) -> subprocess.CompletedProcess:
    path = tmp_path / "legacy-bridge.yaml"
    path.write_text(yaml.safe_dump(config))
    return subprocess.run(
        [sys.executable, "-m", "legacy_bridge.cli", "export", *args, "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_export_writes_every_record_and_reports_rows_and_rate(sqlite_backend, tmp_path):
    out = tmp_path / "customers.ndjson"
    done = _run(tmp_path, crm_config(sqlite_backend.connection), "customers", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert [json.loads(line) for line in out.read_text().splitlines()] == [
        customer_record(n) for n in range(1, ROWS + 1)
    ]
    assert f"customers: {ROWS:,} rows" in done.stderr and "rows/s" in done.stderr
    assert f"exported {ROWS:,} rows to {out}" in done.stderr


def test_export_takes_filters_fields_and_csv(sqlite_backend, tmp_path):
    out = tmp_path / "ma.csv"
    done = _run(
        tmp_path,
        crm_config(sqlite_backend.connection),
        "customers",
        "--format",
        "csv",
        "--filter",
        "state=MA",
        "--filter",
        "id[lte]=20",
        "--fields",
        "id,state",
        "-o",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == b"id,state\r\n4,MA\r\n8,MA\r\n12,MA\r\n16,MA\r\n20,MA\r\n"


def test_export_since_resumes_after_the_watermark(sqlite_backend, tmp_path):
    config = crm_config(sqlite_backend.connection)
    config["resources"]["customers"]["watermark"] = "id"  # a sequence number
    out = tmp_path / "new.ndjson"
    done = _run(tmp_path, config, "customers", "--since", str(ROWS - 2), "--fields", "id", "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert out.read_text() == f'{{"id":{ROWS - 1}}}\n{{"id":{ROWS}}}\n'
    assert f"resume with --since '{ROWS}'" in done.stderr


def test_export_errors_leave_no_file_and_say_why(sqlite_backend, tmp_path):
    out = tmp_path / "x.ndjson"
    unknown = _run(tmp_path, crm_config(sqlite_backend.connection), "nope", "-o", str(out))
    assert unknown.returncode == 2 and "resources: active-customers, customers" in unknown.stderr
    bad = _run(tmp_path, crm_config(sqlite_backend.connection), "customers", "--filter", "bogus=1", "-o", str(out))
    assert bad.returncode == 2 and "'bogus'" in bad.stderr
    down = _run(
        tmp_path,
        crm_config("Driver={PostgreSQL Unicode};Server=127.0.0.1;Port=1;Database=x;Uid=x", connect_timeout="1s"),
        "customers",
        "-o",
        str(out),
    )
    assert down.returncode == 1 and "cannot be reached" in down.stderr
    assert not out.exists() and not (tmp_path / "x.ndjson.part").exists()
