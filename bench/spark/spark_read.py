#!/usr/bin/env python3
"""Read a resource with Spark (format "legacy-bridge", local[2]) once per partition count, and
print one JSON line per run: rows, seconds, rows/s and the sum of credit_limit (a check that
every row arrived with its decimal).  The JVM starts once, before the first timed read; a
warm-up read of a small filtered slice loads the Python workers.

spark_read.py URL RESOURCE --partitions 1 2 4 [--runs N] [--label L] [--log FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from legacy_bridge.spark import register


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("resource")
    ap.add_argument("--partitions", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--label", default="spark")
    ap.add_argument("--log")
    args = ap.parse_args()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # loopback only
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("legacy-bridge-bench")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    register(spark)

    def frame(parts: int, filters: str = ""):
        return (
            spark.read.format("legacy-bridge")
            .option("url", args.url)
            .option("resource", args.resource)
            .option("partitions", parts)
            .option("filters", filters)
            .load()
        )

    frame(2, "id[lte]=2000").agg(F.count("*")).collect()  # warm-up: Python workers, imports
    for parts in args.partitions:
        for _ in range(args.runs):
            started = time.perf_counter()
            rows, total = frame(parts).agg(F.count("*"), F.sum("credit_limit")).first()
            seconds = time.perf_counter() - started
            result = {
                "label": f"{args.label}-{parts}",
                "partitions": parts,
                "rows": rows,
                "credit_limit_sum": str(total),
                "total_s": round(seconds, 3),
                "rows_per_s": round(rows / seconds),
            }
            print(json.dumps(result), flush=True)
            if args.log:
                with open(args.log, "a") as log:
                    log.write(json.dumps(result) + "\n")
    spark.stop()


if __name__ == "__main__":
    main()
