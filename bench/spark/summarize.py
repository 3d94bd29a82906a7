#!/usr/bin/env python3
"""summary.md of bench/spark/run.sh: median rows/s per label, Spark beside one export stream."""

from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict


def main(path: str) -> None:
    runs: dict[str, list[dict]] = defaultdict(list)
    with open(path) as f:
        for line in f:
            result = json.loads(line)
            runs[result["label"]].append(result)
    print("| read | rows | median rows/s | runs (s) | vs one export stream |")
    print("|---|---|---|---|---|")
    for label, results in runs.items():
        backend = label.split("-")[1]
        stream = runs.get(f"export-{backend}")
        rate = statistics.median(r["rows_per_s"] for r in results)
        base = statistics.median(r["rows_per_s"] for r in stream) if stream else None
        ratio = f"{rate / base:.2f}x" if base else ""
        times = ", ".join(str(r["total_s"]) for r in results)
        print(f"| {label} | {results[0]['rows']:,} | {rate:,.0f} | {times} | {ratio} |")
    sums = {r.get("credit_limit_sum") for rs in runs.values() for r in rs if "credit_limit_sum" in r}
    print(f"\nsum(credit_limit) over every Spark read: {', '.join(sorted(sums))} (one value: every row, every read)")


if __name__ == "__main__":
    main(sys.argv[1])
