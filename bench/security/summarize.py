"""Summarise a bench/security run: req/s per build (median of rounds), the cost ratio,
and checks that the full build really authenticated, counted and logged every request.

    python summarize.py RESULTS_DIR
"""

from __future__ import annotations

import re
import statistics
import sys
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

TARGET = 0.10


def wrk(path: Path) -> dict[str, float]:
    text = path.read_text()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    total = int(re.search(r"(\d+) requests in", text).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    lat = {p: re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)", text, re.M) for p in ("50", "99")}
    scale = {"us": 0.001, "ms": 1, "s": 1000}
    return {
        "rps": rps,
        "requests": total,
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        **{f"p{p}_ms": float(m.group(1)) * scale[m.group(2)] for p, m in lat.items() if m},
    }


def main(out: Path) -> None:
    runs = {name: [wrk(p) for p in sorted(out.glob(f"wrk-{name}-*.txt"))] for name in ("bare", "full")}
    median = {name: statistics.median(r["rps"] for r in rs) for name, rs in runs.items()}
    cost = 1 - median["full"] / median["bare"]
    print("# auth + metrics + logging: cost on the list endpoint\n")
    print("| build | rounds req/s | median req/s | p50 ms (median) | p99 ms (median) |")
    print("| --- | --- | --- | --- | --- |")
    for name, rs in runs.items():
        rounds = ", ".join(f"{r['rps']:.0f}" for r in rs)
        print(
            f"| {name} | {rounds} | {median[name]:.0f} | "
            f"{statistics.median(r['p50_ms'] for r in rs):.2f} | {statistics.median(r['p99_ms'] for r in rs):.2f} |"
        )
    verdict = "met" if cost <= TARGET else "NOT met"
    print(f"\ncost: {cost * 100:.1f} % of req/s (target <= {TARGET * 100:.0f} %: {verdict})")
    errors = {name: sum(r["non2xx"] for r in rs) for name, rs in runs.items()}
    print(f"non-2xx responses: bare {errors['bare']}, full {errors['full']}")
    # the full build did the work: every request counted by Prometheus and logged
    families = text_string_to_metric_families((out / "metrics-full.txt").read_text())
    counted = sum(
        s.value
        for f in families
        for s in f.samples
        if s.name == "legacy_bridge_http_requests_total" and s.labels.get("route") == "/v1/customers"
    )
    logged = sum(
        1
        for line in (out / "gunicorn-full.log").read_text().splitlines()
        if '"legacy_bridge.access"' in line and '"/v1/customers"' in line and '"key_id":"bench"' in line
    )
    print(
        f"full build: {counted:.0f} list requests in /metrics, {logged} access lines with key_id bench, "
        f"{sum(r['requests'] for r in runs['full'])} sent by wrk in the measured rounds (plus warm-up)"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
