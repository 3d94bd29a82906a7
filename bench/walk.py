#!/usr/bin/env python3
"""Read a whole legacy-bridge list by following its cursors, as one client would.

    python bench/walk.py --port 8811 --path /v1/customers --rows 1000000 --page 10000

Checks that the walk returns keys 1..rows exactly once and in order (no duplicate,
no gap), and prints one JSON line: pages, seconds, rows/s, the p50 latency of the
first and last 100 pages, and ``page_url``: the URL (path + query, with the real
cursor the service issued) of page ``--page`` (or of the last page if the table is
shorter), which the benchmark then hammers with wrk as "page 10,000".
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import time
from urllib.parse import urlencode


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--path", default="/v1/customers")
    ap.add_argument("--rows", type=int, required=True)
    ap.add_argument("--limit", type=int, default=100)
    ap.add_argument("--page", type=int, default=10_000, help="the page whose URL is reported")
    ap.add_argument("--key", default="id")
    args = ap.parse_args()

    conn = http.client.HTTPConnection("127.0.0.1", args.port, timeout=60)
    url = f"{args.path}?{urlencode({'limit': args.limit})}"
    page_url, expected, pages, latencies = url, 1, 0, []
    started = time.perf_counter()
    while url:
        t0 = time.perf_counter()
        conn.request("GET", url)
        resp = conn.getresponse()
        body = resp.read()
        latencies.append(time.perf_counter() - t0)
        if resp.status != 200:
            sys.exit(f"walk: {url} -> HTTP {resp.status}: {body[:300]!r}")
        pages += 1
        if pages <= args.page:
            page_url = url  # ends as page --page, or the last page of a shorter table
        doc = json.loads(body)
        for record in doc["data"]:
            if record[args.key] != expected:
                sys.exit(f"walk: page {pages} ({url}) has key {record[args.key]}, expected {expected}")
            expected += 1
        url = f"{args.path}?{urlencode({'limit': args.limit, 'cursor': doc['next']})}" if doc["next"] else None
    seconds = time.perf_counter() - started
    conn.close()
    if expected - 1 != args.rows:
        sys.exit(f"walk: read {expected - 1} rows, expected {args.rows}")
    ms = [x * 1000 for x in latencies]
    print(
        json.dumps(
            {
                "pages": pages,
                "rows": expected - 1,
                "seconds": round(seconds, 3),
                "rows_per_s": round((expected - 1) / seconds),
                "page_p50_ms": round(statistics.median(ms), 2),
                "first100_p50_ms": round(statistics.median(ms[:100]), 2),
                "last100_p50_ms": round(statistics.median(ms[-100:]), 2),
                "page_number": min(args.page, pages),
                "page_url": page_url,
            }
        )
    )


if __name__ == "__main__":
    main()
