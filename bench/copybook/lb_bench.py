"""legacy-bridge's copybook decoder on DTAR020, in the anchors' bench_one.py JSON format.

  lb_bench.py correct             # 379-record DTAR020.bin vs DTAR020_a.csv (anchors' compare)
  lb_bench.py speed [--file F]    # decode F (default: the 1,000,000-record file), timed
  lb_bench.py bigfile N_BYTES     # write WORK/dtar020_1g.bin: DTAR020 repeated, streamed

prepare_s = copybook parse + decoder generation; decode_s = perf_counter around the
record loop alone (iter_records' 1 MiB reads + decode of every record, tuples discarded),
like the anchors' readers. Peak RSS comes from /usr/bin/time -v in run.sh.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

ANCHORS = Path(os.environ.get("CPY_ANCHORS", "/work/shared/anchors/copybook"))
sys.path.insert(0, str(ANCHORS))  # the anchors' common.py: paths and compare()

from common import BIG_BIN, COPYBOOK, SMALL_BIN, WORK, compare  # noqa: E402

from legacy_bridge.drivers.flatfile.copybook import iter_records, make_decoder, parse_copybook  # noqa: E402


def prepare():
    layout = parse_copybook(COPYBOOK.read_text())
    return layout, make_decoder(layout, "cp037")


def speed(path: Path, decode, reclen: int) -> int:
    n = 0
    with open(path, "rb") as f:
        for _, rec in iter_records(f, "F", reclen):
            decode(rec)
            n += 1
    return n


def bigfile(size: int) -> Path:
    small = SMALL_BIN.read_bytes()
    out = WORK / "dtar020_1g.bin"
    records = size // 27
    if out.exists() and out.stat().st_size == records * 27:
        return out
    block = small * 2000  # ~20 MB per write; never the whole file in memory
    per_block = len(block) // 27
    tmp = out.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        left = records
        while left:
            k = min(left, per_block)
            f.write(block[: k * 27])
            left -= k
    tmp.replace(out)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["correct", "speed", "bigfile"])
    ap.add_argument("size", nargs="?", type=int, default=1_000_000_000)
    ap.add_argument("--file", default=None)
    a = ap.parse_args()
    if a.mode == "bigfile":
        print(bigfile(a.size))
        return 0
    out = {
        "reader": "legacy-bridge",
        "title": "legacy-bridge (copybook decoder)",
        "mode": a.mode,
        "version": "this repo",
        "copybook": "original",
        "sink": "in-memory: tuple per record",
    }
    t0 = time.perf_counter()
    layout, decode = prepare()
    out["prepare_s"] = round(time.perf_counter() - t0, 4)
    path = Path(a.file) if a.file else (SMALL_BIN if a.mode == "correct" else BIG_BIN)
    out["file"] = str(path)
    if a.mode == "correct":
        with open(path, "rb") as f:
            rows = [decode(rec) for _, rec in iter_records(f, "F", layout.record_length)]
        out.update(status="ok", **compare(rows))
    else:
        t0 = time.perf_counter()
        n = speed(path, decode, layout.record_length)
        dt = time.perf_counter() - t0
        out.update(
            status="ok",
            records=n,
            decode_s=round(dt, 4),
            rec_per_s=round(n / dt, 1),
            mb_per_s=round(os.path.getsize(path) / dt / 1e6, 1),
        )
    out["maxrss_self_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(out, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
