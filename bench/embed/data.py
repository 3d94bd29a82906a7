#!/usr/bin/env python3
"""Make sure the child table of the embed benchmark exists: ``lgcy_ord``, 4 to 6 orders (5 on
average) per customer of the anchors' ``lgcy_cust`` in PostgreSQL (database legacy_bench).

    python bench/embed/data.py --anchors ../shared/anchors/bench --rows 1000000

Built in the database itself (generate_series), indexed on the join column; rebuilt when it
is missing or holds another number of rows.  Prints one JSON line: rows, and whether it was built.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

BUILD = """
DROP TABLE IF EXISTS lgcy_ord;
CREATE TABLE lgcy_ord (
  ord_no BIGINT NOT NULL PRIMARY KEY, cust_no INTEGER NOT NULL, ord_dt INTEGER NOT NULL,
  amt NUMERIC(11,2) NOT NULL, stat_cd CHAR(1) NOT NULL);
INSERT INTO lgcy_ord
  SELECT c * 10 + k, c, 20200101 + (c * 7 + k) % 28 + ((c + k) % 12) * 100,
         ((c * 31 + k * 17) % 100000) / 100.0, substr('OSC', (c + k) % 3 + 1, 1)
  FROM generate_series(1, {rows}) AS c, generate_series(1, 6) AS k
  WHERE k <= 4 + c % 3;
CREATE INDEX lgcy_ord_cust ON lgcy_ord (cust_no, ord_no);
ANALYZE lgcy_ord;
"""


def expected(rows: int) -> int:
    """4 + c % 3 orders for customer c."""
    return 4 * rows + sum(c % 3 for c in range(1, rows + 1))


def psql(conf, sql: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PGPASSWORD=conf.PG_PASSWORD)
    cmd = ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", conf.PG_HOST, "-p", conf.PG_PORT]
    return subprocess.run(
        [*cmd, "-U", conf.PG_USER, "-d", conf.PG_DB, "-c", sql], env=env, capture_output=True, text=True
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--anchors", required=True, type=Path, help="the anchors' bench folder")
    ap.add_argument("--rows", type=int, default=1_000_000, help="customers (lgcy_cust rows)")
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args()
    sys.path.insert(0, str(args.anchors.resolve()))
    import benchconf as conf  # the anchors' settings, with the same env overrides

    want = expected(args.rows)
    found = psql(conf, "SELECT count(*) FROM lgcy_ord")
    have = int(found.stdout) if found.returncode == 0 else None
    built, started = False, time.monotonic()
    if args.force or have != want:
        print(f"building lgcy_ord: {want:,} orders of {args.rows:,} customers", file=sys.stderr, flush=True)
        done = psql(conf, BUILD.format(rows=int(args.rows)))
        if done.returncode != 0:
            sys.exit(f"building lgcy_ord failed: {done.stderr}")
        have, built = int(psql(conf, "SELECT count(*) FROM lgcy_ord").stdout), True
    if have != want:
        sys.exit(f"lgcy_ord holds {have} rows, expected {want}")
    print(
        json.dumps({"table": "lgcy_ord", "rows": have, "built": built, "seconds": round(time.monotonic() - started, 1)})
    )


if __name__ == "__main__":
    main()
