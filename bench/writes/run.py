"""Writes through the API beside raw pyodbc on the same PostgreSQL table, in one run.

    .venv/bin/python bench/writes/run.py [--rows 2000] [--array 10000] [--rounds 3]

- single-row POST under gunicorn (2 workers, the production settings), one client keeping its
  connection, against a raw pyodbc INSERT + COMMIT per row on the same connection string;
  the HTTP hop alone is measured by GET /healthz on the same server.  Target: POST p50 <=
  2 x the raw insert's p50 + the hop's p50.
- a 10,000-row array POST (one transaction) against raw ``executemany`` in one transaction.
  Target: >= 0.5x the raw rows/s.

Needs PostgreSQL on 127.0.0.1:5432 (trust, database ``test``); the table is named per run and
dropped after.  Prints a summary and writes JSON to bench/writes/results/.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import pyodbc

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from serving import medians, p50_ms, serving, write_results  # noqa: E402

PG = "Driver={PostgreSQL Unicode};Server=127.0.0.1;Port=5432;Database=test;Uid=postgres"
TABLE = f"LB_BENCH_WR_{os.getpid()}"


def _sql(statement: str, *params) -> None:
    with pyodbc.connect(PG, autocommit=True) as conn:
        conn.cursor().execute(statement, *params)


def _reset() -> None:
    _sql(f'DROP TABLE IF EXISTS "{TABLE}"')
    _sql(f'CREATE TABLE "{TABLE}" ("ORD_NO" INTEGER PRIMARY KEY, "CUST_CD" CHAR(8) NOT NULL, "AMT" NUMERIC(11,2))')


def _config(state: Path) -> dict:
    return {
        "service": {"secret": "bench", "max_body": "8MiB", "state": f"sqlite:///{state}"},
        "sources": {"pg": {"kind": "odbc", "connection": PG, "read_only": False, "timeout": "60s"}},
        "resources": {
            "orders": {
                "source": "pg",
                "table": TABLE,
                "key": "number",
                "fields": {
                    "number": {"column": "ORD_NO", "converter": "int"},
                    "customer": {"column": "CUST_CD", "converter": {"trim": {"width": 8}}, "nullable": False},
                    "amount": {"column": "AMT", "converter": {"decimal": {"scale": 2}}},
                },
                "writes": {"create": True},
            }
        },
    }


def raw_single(rows: int, start: int) -> list[float]:
    conn = pyodbc.connect(PG, autocommit=False)
    cur = conn.cursor()
    times = []
    for n in range(start, start + rows):
        began = time.perf_counter()
        cur.execute(
            f'INSERT INTO "{TABLE}" ("ORD_NO", "CUST_CD", "AMT") VALUES (?, ?, ?)', n, f"C{n % 1000:05d}", "12.50"
        )
        conn.commit()
        times.append(time.perf_counter() - began)
    conn.close()
    return times


def raw_array(rows: int, start: int) -> float:
    conn = pyodbc.connect(PG, autocommit=False)
    cur = conn.cursor()
    values = [(n, f"C{n % 1000:05d}", "12.50") for n in range(start, start + rows)]
    began = time.perf_counter()
    cur.executemany(f'INSERT INTO "{TABLE}" ("ORD_NO", "CUST_CD", "AMT") VALUES (?, ?, ?)', values)
    conn.commit()
    seconds = time.perf_counter() - began
    conn.close()
    return seconds


def api_single(port: int, rows: int, start: int) -> tuple[list[float], list[float]]:
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    posts, hops = [], []
    for n in range(start, start + rows):
        body = json.dumps({"number": n, "customer": f"C{n % 1000:05d}", "amount": "12.50"})
        began = time.perf_counter()
        client.request("POST", "/v1/orders", body, {"Content-Type": "application/json"})
        answer = client.getresponse()
        answer.read()
        posts.append(time.perf_counter() - began)
        assert answer.status == 201, answer.status
        began = time.perf_counter()
        client.request("GET", "/healthz")
        client.getresponse().read()
        hops.append(time.perf_counter() - began)
    client.close()
    return posts, hops


def api_array(port: int, rows: int, start: int) -> float:
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    body = json.dumps(
        [{"number": n, "customer": f"C{n % 1000:05d}", "amount": "12.50"} for n in range(start, start + rows)]
    )
    began = time.perf_counter()
    client.request("POST", "/v1/orders", body, {"Content-Type": "application/json"})
    answer = client.getresponse()
    answer.read()
    seconds = time.perf_counter() - began
    assert answer.status == 201, (answer.status, answer.read()[:300])
    client.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--array", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="lb-bench-writes-"))
    rounds = []
    try:
        _reset()
        with serving(_config(folder / "state.db")) as (port, _):
            api_single(port, 50, 10_000_000)  # warm both workers' pools and statements
            for r in range(args.rounds):
                base = r * 1_000_000
                raw = raw_single(args.rows, base + 1)
                posts, hops = api_single(port, args.rows, base + 200_000)
                raw_seconds = raw_array(args.array, base + 400_000)
                api_seconds = api_array(port, args.array, base + 600_000)
                rounds.append(
                    {
                        "raw_insert_p50_ms": p50_ms(raw),
                        "post_p50_ms": p50_ms(posts),
                        "hop_p50_ms": p50_ms(hops),
                        "raw_inserts_per_s": args.rows / sum(raw),
                        "posts_per_s": args.rows / sum(posts),
                        "raw_array_rows_per_s": args.array / raw_seconds,
                        "api_array_rows_per_s": args.array / api_seconds,
                    }
                )
    finally:
        _sql(f'DROP TABLE IF EXISTS "{TABLE}"')
    med = medians(rounds)
    budget = 2 * med["raw_insert_p50_ms"] + med["hop_p50_ms"]
    summary = {
        **med,
        "post_p50_budget_ms": budget,
        "post_p50_within_budget": med["post_p50_ms"] <= budget,
        "array_ratio": med["api_array_rows_per_s"] / med["raw_array_rows_per_s"],
    }
    print(
        f"single-row POST p50 {med['post_p50_ms']:.2f} ms (budget 2 x raw {med['raw_insert_p50_ms']:.2f} ms "
        f"+ hop {med['hop_p50_ms']:.2f} ms = {budget:.2f} ms): {'OK' if summary['post_p50_within_budget'] else 'OVER'}"
    )
    print(f"  POST {med['posts_per_s']:.0f}/s vs raw INSERT+COMMIT {med['raw_inserts_per_s']:.0f}/s")
    print(
        f"array of {args.array}: API {med['api_array_rows_per_s']:.0f} rows/s vs raw executemany "
        f"{med['raw_array_rows_per_s']:.0f} rows/s = {summary['array_ratio']:.2f}x (target >= 0.5x)"
    )
    write_results("writes", args, rounds, summary)


if __name__ == "__main__":
    main()
