"""Make the benchmark's SQLite table and the two configs; print the API key (stdout).

python setup.py OUT_DIR ROWS
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import yaml

from legacy_bridge.security.scopes import hash_key, new_key


def main(out: Path, rows: int) -> None:
    db = out / "legacy.db"
    db.unlink(missing_ok=True)
    with sqlite3.connect(db) as conn:
        conn.execute(
            "CREATE TABLE LGCY_CUST (CUST_NO INTEGER PRIMARY KEY, CUST_NM CHAR(40), ST_CD CHAR(2), "
            "OPEN_DT INTEGER, ACTV_FLG CHAR(1), CRDT_LMT DECIMAL(11,2))"
        )
        conn.executemany(
            "INSERT INTO LGCY_CUST VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    n,
                    f"CUSTOMER {n:07d}".ljust(40),
                    ("MA", "NY", "CA", "TX")[n % 4],
                    20000101 + (n % 28),
                    "YN"[n % 7 == 0],
                    f"{n % 50000}.50",
                )
                for n in range(1, rows + 1)
            ],
        )
    key = new_key()
    base = {
        "service": {"secret": "bench-secret"},
        "sources": {"crm": {"kind": "odbc", "connection": f"Driver={{SQLite3}};Database={db}", "timeout": "5s"}},
        "resources": {
            "customers": {
                "source": "crm",
                "table": "LGCY_CUST",
                "key": ["id"],
                "fields": {
                    "id": {"column": "CUST_NO", "converter": "int"},
                    "name": {"column": "CUST_NM", "converter": "trim", "filter": True},
                    "state": {"column": "ST_CD", "converter": "trim", "filter": True},
                    "opened_on": {"column": "OPEN_DT", "converter": "yyyymmdd", "filter": True},
                    "active": {"column": "ACTV_FLG", "converter": "flag", "filter": True},
                    "credit_limit": {"column": "CRDT_LMT", "converter": {"decimal": {"scale": 2}}},
                },
            }
        },
    }
    full = {**base, "auth": {"keys": [{"id": "bench", "hash": hash_key(key), "scopes": ["customers:read"]}]}}
    bare = {**base, "service": {**base["service"], "metrics": False}}
    (out / "full.yaml").write_text(yaml.safe_dump(full, sort_keys=False))
    (out / "bare.yaml").write_text(yaml.safe_dump(bare, sort_keys=False))
    print(key)


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]))
