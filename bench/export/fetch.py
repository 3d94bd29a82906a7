#!/usr/bin/env python3
"""GET an export and count its NDJSON lines as they arrive: time to first byte, rows/s.

fetch.py URL [--label L] [--log FILE]      one JSON result line on stdout (and --log)
"""

from __future__ import annotations

import argparse
import json
import time
import urllib.request


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--label", default="")
    ap.add_argument("--log")
    args = ap.parse_args()
    started = time.perf_counter()
    with urllib.request.urlopen(args.url, timeout=600) as response:
        first = response.read(1)
        ttfb = time.perf_counter() - started
        rows, size, last = first.count(b"\n"), len(first), first
        while chunk := response.read(1 << 16):
            rows += chunk.count(b"\n")
            size += len(chunk)
            last = chunk
    total = time.perf_counter() - started
    # a complete export ends with a newline; a cut one does not (its last line may be an error)
    if not last.endswith(b"\n"):
        raise SystemExit(f"the export was cut: it ends with {last[-300:]!r}")
    result = {
        "label": args.label,
        "rows": rows,
        "bytes": size,
        "ttfb_s": round(ttfb, 4),
        "total_s": round(total, 3),
        "rows_per_s": round(rows / total),
    }
    line = json.dumps(result)
    print(line)
    if args.log:
        with open(args.log, "a") as log:
            log.write(line + "\n")


if __name__ == "__main__":
    main()
