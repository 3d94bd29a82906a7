#!/usr/bin/env python3
"""Make sure the anchors' LGCY_CUST dataset exists with ``--rows`` rows in both targets.

    python bench/dataset.py --anchors ../shared/anchors/bench --rows 1000000

A target (SQLite file at BENCH_SQLITE_PATH, PostgreSQL database legacy_bench) whose
table is missing or holds another number of rows is (re)built by the anchors' own
``make_dataset.py``, so the project measures exactly the rows the anchors measured.
Prints one JSON line: rows per target and what was rebuilt.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path


def sqlite_rows(path: Path, table: str) -> tuple[int, int] | None:
    """(count, max key) of the SQLite table, or None when it is not there."""
    if not path.exists():
        return None
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as cn:
            return tuple(cn.execute(f"SELECT count(*), max(CUST_NO) FROM {table}").fetchone())
    except sqlite3.Error:
        return None


def pg_rows(conf) -> tuple[int, int] | None:
    """(count, max key) of the PostgreSQL table, or None when it (or the database) is not there."""
    env = dict(os.environ, PGPASSWORD=conf.PG_PASSWORD)
    cmd = [
        "psql",
        "-X",
        "-q",
        "-At",
        "-F",
        " ",
        "-h",
        conf.PG_HOST,
        "-p",
        conf.PG_PORT,
        "-U",
        conf.PG_USER,
        "-d",
        conf.PG_DB,
        "-c",
        f"SELECT count(*), max(cust_no) FROM {conf.TABLE.lower()}",
    ]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        return None
    count, top = done.stdout.split()
    return int(count), int(top or 0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--anchors", required=True, type=Path, help="the anchors' bench folder")
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--force", action="store_true", help="rebuild both targets")
    args = ap.parse_args()
    sys.path.insert(0, str(args.anchors.resolve()))
    import benchconf as conf  # the anchors' settings, with the same env overrides

    want = (args.rows, args.rows)
    found = {"sqlite": sqlite_rows(conf.SQLITE_PATH, conf.TABLE), "pg": pg_rows(conf)}
    stale = [t for t, got in found.items() if args.force or got != want]
    if stale:
        target = "all" if len(stale) == 2 else stale[0]
        cmd = [sys.executable, str(args.anchors / "make_dataset.py"), "--rows", str(args.rows), "--target", target]
        print("building dataset:", " ".join(cmd), file=sys.stderr, flush=True)
        subprocess.run(cmd, check=True, stdout=sys.stderr)
        found = {"sqlite": sqlite_rows(conf.SQLITE_PATH, conf.TABLE), "pg": pg_rows(conf)}
    bad = {t: got for t, got in found.items() if got != want}
    if bad:
        sys.exit(f"dataset check failed: expected {args.rows} rows (keys 1..{args.rows}), found {bad}")
    print(json.dumps({"rows": args.rows, "sqlite_path": str(conf.SQLITE_PATH), "pg_db": conf.PG_DB, "rebuilt": stale}))


if __name__ == "__main__":
    main()
