"""Actions (stored procedures and functions) through the API beside raw pyodbc, in one run.

    .venv/bin/python bench/actions/run.py [--calls 2000] [--rows 50000] [--rounds 3]

- one call of a PostgreSQL procedure (IN, INOUT, OUT parameters and a refcursor of 5 rows, one
  INSERT) as ``POST /v1/allocate`` under gunicorn (2 workers, the production settings), one
  client keeping its connection, against raw pyodbc ``CALL`` + ``FETCH ALL`` + ``COMMIT`` on the
  same connection string; the HTTP hop alone is ``GET /healthz`` on the same server.  Target: the
  POST's p50 <= 2 x the raw call's p50 + the hop's p50.
- a set-returning function's rows (``GET /v1/rows?count=N``: 3 columns, each through a converter)
  against raw ``SELECT * FROM f(?)`` + ``fetchall``.  Target: >= 0.5x the raw rows/s.
- the peak resident memory (VmHWM) of each gunicorn worker after the run.

Needs PostgreSQL on 127.0.0.1:5432 (trust, database ``test``); the routines and the table are
named per run and dropped after.  Prints a summary and writes JSON to bench/actions/results/.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import time
from pathlib import Path

import pyodbc

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from serving import medians, p50_ms, serving, write_results  # noqa: E402

PG = "Driver={PostgreSQL Unicode};Server=127.0.0.1;Port=5432;Database=test;Uid=postgres"
RUN = f"lb_bench_pr_{os.getpid()}"


def _sql(statement: str) -> None:
    with pyodbc.connect(PG, autocommit=True) as conn:
        conn.cursor().execute(statement)


def _create() -> None:
    _drop()
    _sql(f"CREATE TABLE {RUN}_calls (call_no SERIAL PRIMARY KEY, cust INTEGER NOT NULL)")
    _sql(
        f"""CREATE PROCEDURE {RUN}_alloc(IN p_cust INTEGER, INOUT p_amt INTEGER, OUT p_ord INTEGER,
  INOUT r_lines refcursor) LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO {RUN}_calls (cust) VALUES (p_cust) RETURNING call_no INTO p_ord;
  p_amt := p_amt + 100;
  OPEN r_lines FOR SELECT g AS ln_no, rpad('SKU-' || g, 8) AS sku, g * 150 AS amt FROM generate_series(1, 5) g;
END $$"""
    )
    _sql(
        f"""CREATE FUNCTION {RUN}_rows(p_n INTEGER) RETURNS TABLE(ln_no INTEGER, sku CHAR(8), amt INTEGER)
LANGUAGE sql AS $$ SELECT g, rpad('SKU-' || g, 8)::char(8), g * 150 FROM generate_series(1, p_n) g $$"""
    )


def _drop() -> None:
    _sql(f"DROP PROCEDURE IF EXISTS {RUN}_alloc")
    _sql(f"DROP FUNCTION IF EXISTS {RUN}_rows")
    _sql(f"DROP TABLE IF EXISTS {RUN}_calls")


def _config() -> dict:
    lines = {
        "line_no": {"column": "ln_no", "converter": "int"},
        "sku": {"column": "sku", "converter": "trim"},
        "amount": {"column": "amt", "converter": {"decimal": {"implied": 2}}},
    }
    return {
        "service": {"secret": "bench"},
        "sources": {"pg": {"kind": "odbc", "connection": PG, "read_only": False, "timeout": "60s"}},
        "actions": {
            "allocate": {
                "source": "pg",
                "procedure": f"{RUN}_alloc",
                "audit": False,  # the raw floor keeps no audit record either
                "params": {
                    "customer_id": {"param": "p_cust", "converter": "int"},
                    "amount": {"param": "p_amt", "converter": {"decimal": {"implied": 2}}, "mode": "inout"},
                    "order_no": {"param": "p_ord", "converter": "int", "mode": "out"},
                    "lines_cursor": {"param": "r_lines", "mode": "inout", "required": False},
                },
                "result_sets": [{"name": "lines", "cursor": "lines_cursor", "fields": lines}],
            },
            "rows": {
                "source": "pg",
                "function": f"{RUN}_rows",
                "read_only": True,
                "params": {"count": {"param": "p_n", "converter": "int"}},
                "result_sets": [{"name": "lines", "fields": lines}],
            },
        },
    }


def raw_calls(calls: int) -> list[float]:
    conn = pyodbc.connect(PG, autocommit=False)
    cur = conn.cursor()
    times = []
    for n in range(calls):
        began = time.perf_counter()
        cur.execute(f"CALL {RUN}_alloc(?, ?, NULL, NULL)", n, 1234)
        row = cur.fetchone()
        cur.execute(f'FETCH ALL FROM "{row[2]}"')
        cur.fetchall()
        conn.commit()
        times.append(time.perf_counter() - began)
    conn.close()
    return times


def raw_rows(rows: int) -> float:
    conn = pyodbc.connect(PG, autocommit=True)
    cur = conn.cursor()
    began = time.perf_counter()
    got = cur.execute(f"SELECT * FROM {RUN}_rows(?)", rows).fetchall()
    seconds = time.perf_counter() - began
    assert len(got) == rows
    conn.close()
    return seconds


def api_calls(port: int, calls: int) -> tuple[list[float], list[float]]:
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    posts, hops = [], []
    for n in range(calls):
        body = json.dumps({"customer_id": n, "amount": "12.34"})
        began = time.perf_counter()
        client.request("POST", "/v1/allocate", body, {"Content-Type": "application/json"})
        answer = client.getresponse()
        data = answer.read()
        posts.append(time.perf_counter() - began)
        assert answer.status == 200, (answer.status, data[:300])
        began = time.perf_counter()
        client.request("GET", "/healthz")
        client.getresponse().read()
        hops.append(time.perf_counter() - began)
    client.close()
    return posts, hops


def api_rows(port: int, rows: int) -> float:
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    began = time.perf_counter()
    client.request("GET", f"/v1/rows?count={rows}")
    answer = client.getresponse()
    data = answer.read()
    seconds = time.perf_counter() - began
    assert answer.status == 200, (answer.status, data[:300])
    assert len(json.loads(data)["result_sets"]["lines"]) == rows
    client.close()
    return seconds


def _workers_peak_kib(master: int) -> list[int]:
    """VmHWM of each child process of the gunicorn master."""
    peaks = []
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    for pid in children:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]))
    return peaks


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rows", type=int, default=50000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    _create()
    rounds, peaks = [], []
    try:
        with serving(_config()) as (port, server):
            api_calls(port, 50)  # warm both workers' pools
            for _ in range(args.rounds):
                raw = raw_calls(args.calls)
                posts, hops = api_calls(port, args.calls)
                raw_seconds = raw_rows(args.rows)
                api_seconds = api_rows(port, args.rows)
                rounds.append(
                    {
                        "raw_call_p50_ms": p50_ms(raw),
                        "post_p50_ms": p50_ms(posts),
                        "hop_p50_ms": p50_ms(hops),
                        "raw_calls_per_s": args.calls / sum(raw),
                        "posts_per_s": args.calls / sum(posts),
                        "raw_rows_per_s": args.rows / raw_seconds,
                        "api_rows_per_s": args.rows / api_seconds,
                    }
                )
            peaks = _workers_peak_kib(server.pid)
    finally:
        _drop()
    med = medians(rounds)
    budget = 2 * med["raw_call_p50_ms"] + med["hop_p50_ms"]
    summary = {
        **med,
        "post_p50_budget_ms": budget,
        "post_p50_within_budget": med["post_p50_ms"] <= budget,
        "rows_ratio": med["api_rows_per_s"] / med["raw_rows_per_s"],
        "worker_peak_rss_mib": [round(p / 1024, 1) for p in peaks],
    }
    print(
        f"procedure call p50 {med['post_p50_ms']:.2f} ms (budget 2 x raw {med['raw_call_p50_ms']:.2f} ms "
        f"+ hop {med['hop_p50_ms']:.2f} ms = {budget:.2f} ms): {'OK' if summary['post_p50_within_budget'] else 'OVER'}"
    )
    print(f"  POST {med['posts_per_s']:.0f}/s vs raw CALL+FETCH+COMMIT {med['raw_calls_per_s']:.0f}/s")
    print(
        f"result set of {args.rows}: API {med['api_rows_per_s']:.0f} rows/s vs raw fetchall "
        f"{med['raw_rows_per_s']:.0f} rows/s = {summary['rows_ratio']:.2f}x (target >= 0.5x)"
    )
    print(f"  workers' peak RSS: {', '.join(f'{p} MiB' for p in summary['worker_peak_rss_mib'])}")
    write_results("actions", args, rounds, summary)


if __name__ == "__main__":
    main()
