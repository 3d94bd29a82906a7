#!/usr/bin/env python3
"""An EBCDIC file (JRecord's DTAR020, F 27-byte records, repeated to BYTES) decoded by the Spark
file source (format "legacy-bridge-copybook", local[2], 1, 2 and 4 partitions) beside the
single-process decoder (the flat-file reader's scan, one process), and the peak RSS of each.

copybook_read.py [--bytes N] [--work DIR] [--log FILE]
One JSON line per read: records, seconds, records/s, the sum of DTAR020-SALE-PRICE (a check).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT.parent / "shared" / "testdata" / "cobol" / "cobol-to-csv" / "Examples"
COPYBOOK, DATA = EXAMPLES / "DTAR020.cbl", EXAMPLES / "in" / "DTAR020.bin"


def big_file(size: int, work: Path) -> Path:
    path = work / f"dtar020_{size}.bin"
    if not path.exists() or path.stat().st_size != size // 27 * 27:
        work.mkdir(parents=True, exist_ok=True)
        one = DATA.read_bytes()
        block = one * max(1, (1 << 22) // len(one))
        left = size // 27 * 27
        with open(path, "wb") as f:
            while left:
                f.write(block[:left])
                left -= min(left, len(block))
    return path


def single(path: Path) -> dict:
    """The single-process decoder, in a fresh process (its own peak RSS)."""
    code = f"""
import json, resource, time
from pathlib import Path
from legacy_bridge.drivers.flatfile.cobol import CopybookFormat
from legacy_bridge.drivers.flatfile.copybook import parse_copybook
fmt = CopybookFormat(parse_copybook(Path({str(COPYBOOK)!r}).read_text()))
price = fmt.columns.index("DTAR020_SALE_PRICE")
started = time.perf_counter()
rows, total = 0, 0
with open({str(path)!r}, "rb") as f:
    for _, row in fmt.open(f).scan():
        rows += 1
        total += row[price]
seconds = time.perf_counter() - started
print(json.dumps({{"rows": rows, "sum": str(total), "total_s": round(seconds, 3),
    "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}}))
"""
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    found = json.loads(out)
    return {"label": "decoder-file", **found, "rows_per_s": round(found["rows"] / found["total_s"])}


def spark_reads(path: Path, parts: list[int], warm: Path) -> list[dict]:
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    from legacy_bridge.spark import register

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # loopback only
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("legacy-bridge-copybook-bench")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    register(spark)
    results = []
    for n in [0, *parts]:  # the first, untimed, warms the Python workers on a small file
        df = (
            spark.read.format("legacy-bridge-copybook")
            .option("path", str(warm if n == 0 else path))
            .option("copybook", str(COPYBOOK))
            .option("partitions", max(n, 1))
            .load()
        )
        started = time.perf_counter()
        rows, total = df.agg(F.count("*"), F.sum("DTAR020_SALE_PRICE")).first()
        seconds = time.perf_counter() - started
        if n == 0:
            continue
        results.append(
            {
                "label": f"spark-file-{n}",
                "partitions": n,
                "rows": rows,
                "sum": str(total),
                "total_s": round(seconds, 3),
                "rows_per_s": round(rows / seconds),
            }
        )
        print(json.dumps(results[-1]), file=sys.stderr, flush=True)  # a long run shows each read as it ends
    jvm = spark.sparkContext._gateway.proc.pid  # the JVM py4j started, and its Python workers
    peaks = {pid: _peak_mib(pid) for pid in [jvm, *_descendants(jvm)]}
    spark.stop()
    jvm_peak = peaks.pop(jvm, 0)
    for r in results:  # peaks over the whole session (VmHWM), the same for every read
        r["peak_rss_mib"] = f"JVM {jvm_peak}, largest Python worker {max(peaks.values(), default=0)}"
    return results


def _descendants(pid: int) -> list[int]:
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    found, frontier = [], [pid]
    while frontier:
        children = [c for c, p in parents.items() if p in frontier]
        found += children
        frontier = children
    return found


def _peak_mib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024)
    except OSError:
        pass
    return 0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bytes", type=int, default=1_000_000_000)
    ap.add_argument("--work", default="/tmp/lb-spark-bench")
    ap.add_argument("--partitions", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--log")
    args = ap.parse_args()
    path = big_file(args.bytes, Path(args.work))

    def report(r: dict) -> None:
        print(json.dumps(r), flush=True)
        if args.log:
            with open(args.log, "a") as log:
                log.write(json.dumps(r) + "\n")

    decoded = single(path)
    report(decoded)
    read = spark_reads(path, args.partitions, big_file(27 * 10_000, Path(args.work)))
    for r in read:  # with the session's peak memory
        report(r)
    results = [decoded, *read]
    assert len({(r["rows"], Decimal(r["sum"])) for r in results}) == 1, results  # every read, every record


if __name__ == "__main__":
    main()
