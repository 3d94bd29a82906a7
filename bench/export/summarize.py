#!/usr/bin/env python3
"""results.jsonl of bench/export/run.sh -> markdown tables: medians, ratio to the floor, and
(when run with PARTITIONS) N partitions exported in parallel beside one stream."""

from __future__ import annotations

import json
import statistics
import sys

FLOOR_TARGET = 0.8
PARALLEL_TARGET = 1.3
RSS_TARGET_MIB = 100


def _single(lines: list[dict], backend: str) -> tuple[float, str] | None:
    floor = [r["rows_per_s"] for r in lines if r.get("label") == f"floor-{backend}"]
    export = [r for r in lines if r.get("label") == f"export-{backend}"]
    rss = [r["worker_vmhwm_kib"] for r in lines if r.get("label") == f"rss-{backend}"]
    if not floor or not export:
        return None
    f, e = statistics.median(floor), statistics.median(r["rows_per_s"] for r in export)
    ratios = [r["rows_per_s"] / fl for r, fl in zip(export, floor)]
    ttfb = max(r["ttfb_s"] for r in export)
    rows = {r["rows"] for r in export}
    peak = max(rss) / 1024 if rss else float("nan")
    return e, (
        f"| {backend} | {f:,.0f} | {e:,.0f} | {statistics.median(ratios):.2f} "
        f"({min(ratios):.2f}-{max(ratios):.2f}) | {ttfb:.3f} | "
        f"{peak:.0f} | {len(export)} x {'/'.join(map(str, rows))} rows |"
    )


def _cpu(lines: list[dict], backend: str) -> str | None:
    """CPU per row: the export's gunicorn worker vs the floor's process (its fixed start-up
    cost, a one-row run, taken off), and their ratio: what the machine's load leaves alone."""
    rows = [r["rows"] for r in lines if r.get("label") == f"export-{backend}"]
    export = [r["cpu_s"] for r in lines if r.get("label") == f"export-cpu-{backend}"]
    floor = [r["cpu_s"] for r in lines if r.get("label") == f"floor-cpu-{backend}"]
    start = [r["cpu_s"] for r in lines if r.get("label") == f"floor-start-cpu-{backend}"]
    if not rows or not export or not floor:
        return None
    fixed = start[0] if start else 0.0
    e = statistics.median(c / n for c, n in zip(export, rows)) * 1e6
    f = statistics.median((c - fixed) / n for c, n in zip(floor, rows)) * 1e6
    return f"| {backend} | {f:.2f} | {e:.2f} | {f / e:.2f} | {1e6 / e:,.0f} |"


def _parallel(lines: list[dict], backend: str, single: float) -> str:
    found = [r for r in lines if r.get("label") == f"partitions-{backend}"]
    if not found or any("skipped" in r for r in found):
        reason = found[0].get("skipped", "") if found else "not run (PARTITIONS=0)"
        return f"| {backend} | - | - | - | {reason} |"
    # the partitions of one run start together: their rows over the slowest one's time
    runs, per_run = [], max(1, len(found) // max(1, sum(1 for r in lines if r.get("label") == f"floor-{backend}")))
    for i in range(0, len(found), per_run):
        group = found[i : i + per_run]
        runs.append(sum(r["rows"] for r in group) / max(r["total_s"] for r in group))
    rate = statistics.median(runs)
    return f"| {backend} | {per_run} | {rate:,.0f} | {rate / single:.2f} (target >= {PARALLEL_TARGET}) | |"


def main(path: str) -> None:
    lines = [json.loads(line) for line in open(path) if line.strip()]
    print(
        f"| backend | floor rows/s | export rows/s | ratio (target >= {FLOOR_TARGET}) | TTFB s (< 1) | "
        f"worker peak RSS MiB (< {RSS_TARGET_MIB}) | runs |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    singles = {}
    for backend in ("pg", "sqlite"):
        found = _single(lines, backend)
        if found is not None:
            singles[backend], row = found
            print(row)
    cpu = [row for backend in singles if (row := _cpu(lines, backend))]
    if cpu:
        print()
        print(
            "| backend | floor CPU µs/row | export worker CPU µs/row | ratio (floor / export) | rows per worker CPU-s |"
        )
        print("|---|---:|---:|---:|---:|")
        print("\n".join(cpu))
    print()
    print("| backend | partitions in parallel | rows/s | vs one stream | |")
    print("|---|---:|---:|---:|---|")
    for backend, single in singles.items():
        print(_parallel(lines, backend, single))


if __name__ == "__main__":
    main(sys.argv[1])
