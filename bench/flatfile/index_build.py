"""Index build beside the full decoder, on the same generated EBCDIC file, in-process.

    python bench/flatfile/index_build.py [--records 1000000] [--big-bytes 0] [--runs 3]

On a DTAR020-style file (``bench.py``'s generator: cp037, 27-byte records, a unique
``KEYCODE-NO`` each; ``--big-bytes`` N: that file repeated to N bytes instead), alternating,
``--runs`` times:

- **decoder**: every record decoded, every field (the copybook format's ``scan``), counted;
- **index (quarantine)**: the flat-file driver's background build of the key index, as a
  server starts it (``watch_keys``): only the key field decoded, key -> offset into SQLite;
- **index (reject)**: the same under ``bad_records: reject``, where the index pass decodes
  every field (a get must know the file holds no bad record), for reference.

Each one records/s (median of the runs) and the process's peak RSS growth.  Prints a markdown
table; ``--out`` also writes ``index-build.json``.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import COPYBOOK, SIZE, ensure, write_big, write_unique  # noqa: E402
from legacy_bridge.drivers.flatfile.cobol import CopybookFormat  # noqa: E402
from legacy_bridge.drivers.flatfile.copybook import parse_copybook  # noqa: E402
from legacy_bridge.drivers.flatfile.driver import FlatFileDriver  # noqa: E402

KEY = ("DTAR020-KEYCODE-NO",)


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def decode_all(path: Path) -> tuple[int, float]:
    fmt = CopybookFormat(parse_copybook(COPYBOOK.read_text()), "cp037")
    started, n = time.perf_counter(), 0
    with open(path, "rb") as f:
        for _ in fmt.open(f).scan():
            n += 1
    return n, time.perf_counter() - started


def build_index(path: Path, policy: str) -> tuple[int, float]:
    folder = Path(tempfile.mkdtemp(prefix="lb-index-bench-"))
    try:
        options = {"kind": "flatfile", "path": str(path), "copybook": str(COPYBOOK), "codepage": "cp037"}
        driver = FlatFileDriver("sales", {**options, "bad_records": policy, "index_dir": str(folder)})
        started = time.perf_counter()
        driver.watch_keys(KEY)  # what a server does at start-up: the build runs on its thread
        while not list(folder.glob("*.sqlite")):
            time.sleep(0.01)
        elapsed = time.perf_counter() - started
        driver.close()
        return path.stat().st_size // SIZE, elapsed
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--big-bytes", type=int, default=0, help="the file repeated to this size (0: not)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--work", default="/tmp/lb-flatfile-bench")
    parser.add_argument("--no-reject", action="store_true", help="skip the index (reject) pass")
    parser.add_argument("--out")
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    data = work / f"dtar020_{args.records}.bin"
    ensure(data, write_unique, args.records)
    if args.big_bytes:
        big = work / f"dtar020_{args.big_bytes // 1_000_000}mb.bin"
        ensure(big, write_big, data, args.big_bytes)
        data = big
    rates: dict[str, list[float]] = {"decoder": [], "index (quarantine)": [], "index (reject)": []}
    growth: dict[str, float] = {}
    for _ in range(args.runs):
        passes = [
            ("decoder", lambda: decode_all(data)),
            ("index (quarantine)", lambda: build_index(data, "quarantine")),
            ("index (reject)", lambda: build_index(data, "reject")),
        ]
        for name, run in passes[:2] if args.no_reject else passes:
            before = peak_mib()
            records, seconds = run()
            rates[name].append(records / seconds)
            growth[name] = max(growth.get(name, 0.0), peak_mib() - before)
            print(f"{name}: {records:,} records in {seconds:.2f} s", file=sys.stderr, flush=True)
    decoder = statistics.median(rates["decoder"])
    print(f"file: {data.name}, {data.stat().st_size / 1e6:,.0f} MB, {data.stat().st_size // SIZE:,} records")
    print("| pass | records/s (median of runs) | vs the full decoder | peak RSS growth MiB |")
    print("|---|---:|---:|---:|")
    for name, found in rates.items():
        if not found:
            continue
        rate = statistics.median(found)
        print(f"| {name} | {rate:,.0f} | {rate / decoder:.2f}x | {growth[name]:.1f} |")
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        result = {"file": data.name, "bytes": data.stat().st_size, "rates": rates, "peak_growth_mib": growth}
        (Path(args.out) / "index-build.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
