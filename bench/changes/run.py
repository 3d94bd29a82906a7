"""Snapshot diff of the anchors' 1M-row LGCY_CUST against a plain full-table fetch.

    bash bench/run.sh data                     # once: builds bench/data/legacy.db and legacy_bench
    .venv/bin/python bench/changes/run.py sqlite|postgresql [--rows-changed 10000]

The table is copied into a scratch table first (SQLite: a copy of the file; PostgreSQL:
lgcy_cust_chg in legacy_bench, dropped after), so the anchors' data is never written.
Steps, one process: a plain fetch (Resource.stream of every field, the export path without
serialization), the baseline scan, 1% of rows changed (a third updated, a third deleted,
a third inserted), the timed diff scan.  Prints and writes JSON to bench/changes/results/.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource as rlimit
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from legacy_bridge.config import validate  # noqa: E402
from legacy_bridge.events.changes import Scanner  # noqa: E402
from legacy_bridge.events.state import StateStore  # noqa: E402
from legacy_bridge.query.model import ListQuery  # noqa: E402
from legacy_bridge.resources import Bridge  # noqa: E402

PG_DSN = "postgresql://postgres@127.0.0.1:5432/legacy_bench"


def scratch(backend: str, work: Path) -> tuple[dict, object]:
    """A copy of the table to change; (resource config, a cleanup callable)."""
    base = yaml.safe_load((ROOT / "bench" / "legacy-bridge.yaml").read_text())
    if backend == "sqlite":
        db = work / "legacy.db"
        shutil.copyfile(ROOT / "bench" / "data" / "legacy.db", db)
        source = {"kind": "odbc", "connection": f"Driver={{SQLite3}};Database={db};StepAPI=1"}
        spec = dict(base["resources"]["customers-sqlite"], source="legacy")
        return {"source": source, "resource": spec, "db": db}, lambda: None
    import psycopg

    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS lgcy_cust_chg")
        conn.execute("CREATE TABLE lgcy_cust_chg (LIKE lgcy_cust INCLUDING ALL)")
        conn.execute("INSERT INTO lgcy_cust_chg SELECT * FROM lgcy_cust")
        conn.execute("ANALYZE lgcy_cust_chg")
    source = {
        "kind": "odbc",
        "timeout": "60s",
        "stream_options": "UseDeclareFetch=1;Fetch=10000",
        "connection": "Driver={PostgreSQL Unicode};Server=127.0.0.1;Port=5432;Database=legacy_bench;Uid=postgres",
    }
    spec = dict(base["resources"]["customers"], source="legacy", table="lgcy_cust_chg")

    def drop() -> None:
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute("DROP TABLE IF EXISTS lgcy_cust_chg")

    return {"source": source, "resource": spec}, drop


def change(backend: str, target: dict, n: int) -> None:
    """n rows changed: n/3 updated, n/3 deleted, the rest inserted (new keys)."""
    third = n // 3
    if backend == "sqlite":
        conn = sqlite3.connect(target["db"])
        t, c = "LGCY_CUST", str.upper
    else:
        import psycopg

        conn = psycopg.connect(PG_DSN)
        t, c = "lgcy_cust_chg", str.lower
    top = list(conn.execute(f"SELECT MAX({c('cust_no')}) FROM {t}"))[0][0]
    step = top // (2 * third)
    conn.execute(
        f"UPDATE {t} SET {c('crdt_lmt')} = {c('crdt_lmt')} + 1 WHERE {c('cust_no')} % {step} = 0 "
        f"AND {c('cust_no')} <= {step * third}"
    )
    conn.execute(f"DELETE FROM {t} WHERE {c('cust_no')} % {step} = 1 AND {c('cust_no')} <= {step * third}")
    cols = f"{c('cust_no')} + {top}"
    rest = [
        x
        for x in ("cust_nm", "addr_ln1", "city_nm", "st_cd", "zip_cd", "open_dt", "actv_flg", "crdt_lmt", "last_upd_ts")
    ]
    conn.execute(
        f"INSERT INTO {t} SELECT {cols}, {', '.join(c(x) for x in rest)} FROM {t} "
        f"WHERE {c('cust_no')} <= {n - 2 * third}"
    )
    conn.commit()
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("backend", choices=["sqlite", "postgresql"])
    parser.add_argument("--rows-changed", type=int, default=10_000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lb-changes-bench-"))
    target, cleanup = scratch(args.backend, work)
    try:
        config = validate(
            {
                "service": {"secret": "bench", "state": f"sqlite:///{work}/state.db"},
                "sources": {"legacy": target["source"]},
                "resources": {"customers": {**target["resource"], "changes": {"every": 0}}},
            }
        )
        bridge = Bridge(config, "bench")
        resource = bridge.resources["customers"]
        store = StateStore(config.service["state"])
        store.migrate()
        scanner = Scanner(store, resource)

        started = time.perf_counter()
        rows = sum(1 for _ in resource.stream(ListQuery(fields=list(resource.mapping.fields))))
        fetch = time.perf_counter() - started
        baseline = scanner.scan()
        change(args.backend, target, args.rows_changed)
        diff = scanner.scan()
        events = store.last_event_id("customers")
        out = {
            "backend": args.backend,
            "rows": rows,
            "fetch_s": round(fetch, 2),
            "baseline_s": baseline.seconds,
            "diff_s": diff.seconds,
            "diff_over_fetch": round(diff.seconds / fetch, 2),
            "changed": {"created": diff.created, "updated": diff.updated, "deleted": diff.deleted},
            "events": events,
            "peak_rss_mb": round(rlimit.getrusage(rlimit.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "machine": f"{platform.machine()} {platform.processor() or ''} python {platform.python_version()}",
            "at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        print(json.dumps(out, indent=2))
        results = ROOT / "bench" / "changes" / "results"
        results.mkdir(exist_ok=True)
        (results / f"{args.backend}.json").write_text(json.dumps(out, indent=2) + "\n")
        bridge.close()
        store.close()
    finally:
        cleanup()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
