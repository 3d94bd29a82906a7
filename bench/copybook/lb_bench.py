"""legacy-bridge's copybook decoder on DTAR020, in the anchors' bench_one.py JSON format.

  lb_bench.py correct             # 379-record DTAR020.bin vs DTAR020_a.csv (anchors' compare)
  lb_bench.py speed [--file F]    # decode F (default: the 1,000,000-record file), timed
  lb_bench.py bigfile N_BYTES     # write WORK/dtar020_1g.bin: DTAR020 repeated, streamed
  lb_bench.py arrays [N]          # OCCURS DEPENDING ON: flat columns vs arrays (N records, 200,000)

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
from decimal import Decimal
from pathlib import Path

ANCHORS = Path(os.environ.get("CPY_ANCHORS", "/work/shared/anchors/copybook"))
sys.path.insert(0, str(ANCHORS))  # the anchors' common.py: paths and compare()

from common import BIG_BIN, COPYBOOK, SMALL_BIN, WORK, compare  # noqa: E402

from legacy_bridge.drivers.flatfile.cobol import CopybookFormat  # noqa: E402
from legacy_bridge.drivers.flatfile.copybook import iter_records, make_decoder, make_encoder, parse_copybook  # noqa: E402

# the arrays case: an order with up to 12 lines (OCCURS DEPENDING ON) and a total after them
ORDERS = """\
       01  ORDER.
           05  ORDER-NO      PIC 9(8).
           05  CUSTOMER      PIC X(20).
           05  ORDER-DATE    PIC 9(8).
           05  LINE-COUNT    PIC 9(2).
           05  LINES OCCURS 0 TO 12 TIMES DEPENDING ON LINE-COUNT.
               10  SKU       PIC X(8).
               10  QTY       PIC S9(5) COMP-3.
               10  PRICE     PIC S9(7)V99 COMP-3.
           05  TOTAL         PIC S9(9)V99 COMP-3.
"""


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


def orders_files(n: int) -> tuple[Path, Path]:
    """WORK/orders_<n>.F (padded to the maximum) and .V (each record as long as its lines), 0-12 lines."""
    padded, short = WORK / f"orders_{n}.F", WORK / f"orders_{n}.V"
    if padded.exists() and short.exists():
        return padded, short
    layout = parse_copybook(ORDERS)
    encode = make_encoder(layout, "cp037")
    at = {f.name: f.offset for f in layout.fields}
    head, size = at["SKU_1"], at["SKU_2"] - at["SKU_1"]  # bytes before the table, bytes of one line
    with open(padded, "wb") as f, open(short, "wb") as v:
        for i in range(n):
            lines = i % 13
            values = [i, f"CUSTOMER {i}", 20240101 + i % 28, lines]
            for k in range(12):
                values += [f"SKU{k:05d}", k + 1, Decimal(k) / 4] if k < lines else [None, None, None]
            rec = encode((*values, Decimal(i % 1000) / 100))
            f.write(rec)
            rec = rec[: head + lines * size] + rec[head + 12 * size :]
            v.write((len(rec) + 4).to_bytes(2, "big") + b"\0\0" + rec)
    return padded, short


def arrays(n: int) -> dict:
    """Records/s of today's flat decode, of the decode with arrays (same F file) and of variable-size V."""
    padded, short = orders_files(n)
    layout = parse_copybook(ORDERS)
    cases = {
        "flat": (padded, "F", make_decoder(layout, "cp037")),
        "arrays": (padded, "F", CopybookFormat(layout, "cp037").decode),
        "arrays_variable_V": (short, "V", CopybookFormat(layout, "cp037", "V", variable_size_occurs=True).decode),
    }
    best: dict[str, float] = {}
    for _ in range(5):  # interleaved, best of 5: the machine is shared
        for name, (path, fmt, decode) in cases.items():
            t0 = time.perf_counter()
            with open(path, "rb") as f:
                count = sum(1 for _, rec in iter_records(f, fmt, layout.record_length) if decode(rec))
            best[name] = max(best.get(name, 0.0), count / (time.perf_counter() - t0))
    return {
        "records": n,
        **{f"{k}_rec_per_s": round(v) for k, v in best.items()},
        "arrays_vs_flat": round(best["arrays"] / best["flat"], 3),
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["correct", "speed", "bigfile", "arrays"])
    ap.add_argument("size", nargs="?", type=int, default=1_000_000_000)
    ap.add_argument("--file", default=None)
    a = ap.parse_args()
    if a.mode == "bigfile":
        print(bigfile(a.size))
        return 0
    if a.mode == "arrays":
        print(json.dumps({"reader": "legacy-bridge", "mode": "arrays", **arrays(min(a.size, 200_000))}))
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
