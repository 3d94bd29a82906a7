#!/usr/bin/env python3
"""summary.md of bench/spark/run.sh: median rows/s per label, each Spark read beside its baseline
(one export stream of the same backend, or the single-process decoder of the same file)."""

from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict


def main(paths: list[str]) -> None:
    runs: dict[str, list[dict]] = defaultdict(list)
    for path in paths:
        with open(path) as f:
            for line in f:
                result = json.loads(line)
                runs[result["label"]].append(result)
    print("| read | rows | median rows/s | runs (s) | vs baseline | peak RSS (MiB) |")
    print("|---|---|---|---|---|---|")
    for label, results in runs.items():
        group = label.split("-")[1]
        base = runs.get(f"export-{group}") or runs.get(f"decoder-{group}")
        rate = statistics.median(r["rows_per_s"] for r in results)
        ratio = f"{rate / statistics.median(r['rows_per_s'] for r in base):.2f}x" if base else ""
        times = ", ".join(str(r["total_s"]) for r in results)
        rss = results[0].get("peak_rss_mib", "")
        print(f"| {label} | {results[0]['rows']:,} | {rate:,.0f} | {times} | {ratio} | {rss} |")
    sums = {r.get("credit_limit_sum") for rs in runs.values() for r in rs if "credit_limit_sum" in r}
    if sums:
        print(
            f"\nsum(credit_limit) over every Spark read: {', '.join(sorted(sums))} (one value: every row, every read)"
        )
    print("\nBaselines: export-<backend> is one NDJSON export stream (bench/export/fetch.py); decoder-file the")
    print("flat-file reader decoding the whole file in one process. Spark: local[2] on the same machine.")


if __name__ == "__main__":
    main(sys.argv[1:])
