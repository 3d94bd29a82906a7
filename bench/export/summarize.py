#!/usr/bin/env python3
"""results.jsonl of bench/export/run.sh -> a markdown table: medians, ratio to the floor."""

from __future__ import annotations

import json
import statistics
import sys


def main(path: str) -> None:
    lines = [json.loads(line) for line in open(path) if line.strip()]
    print(
        "| backend | floor rows/s | export rows/s | ratio (target >= 0.6) | TTFB s (< 1) | "
        "worker peak RSS MiB (< 200) | runs |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for backend in ("pg", "sqlite"):
        floor = [r["rows_per_s"] for r in lines if r.get("label") == f"floor-{backend}"]
        export = [r for r in lines if r.get("label") == f"export-{backend}"]
        rss = [r["worker_vmhwm_kib"] for r in lines if r.get("label") == f"rss-{backend}"]
        if not floor or not export:
            continue
        f, e = statistics.median(floor), statistics.median(r["rows_per_s"] for r in export)
        ratios = [r["rows_per_s"] / fl for r, fl in zip(export, floor)]
        ttfb = max(r["ttfb_s"] for r in export)
        rows = {r["rows"] for r in export}
        print(
            f"| {backend} | {f:,.0f} | {e:,.0f} | {statistics.median(ratios):.2f} "
            f"({min(ratios):.2f}-{max(ratios):.2f}) | {ttfb:.3f} | "
            f"{rss[0] / 1024:.0f} | {len(export)} x {'/'.join(map(str, rows))} rows |"
        )


if __name__ == "__main__":
    main(sys.argv[1])
