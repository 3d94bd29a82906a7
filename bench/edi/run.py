"""X12 parsing throughput on a generated folder of 204 load tenders, beside a plain split floor.

    .venv/bin/python bench/edi/run.py [--files 10] [--per-file 10000] [--rounds 3]

The folder is the tests' generator (tests/helpers/x12.py: one interchange of ``--per-file``
204s per file, 17 segments a set), written under /tmp/lb-edi-bench.  In one process, alternating
per round:

- ``floor``: the file read whole and split into segments and elements (``bytes.split`` on the
  ISA's terminator and separator), sets counted by their ST: no envelope check, no value
  decoded, the whole file in memory;
- ``codec``: the codec's reader (drivers/flatfile/x12: envelopes and control numbers checked,
  one set in memory at a time);
- ``mapped``: the ``format: x12`` record format, each set read through the tests' 204 mapping
  into a nested record (what a page or an export reads before the contract).

No PyPI X12 reader was measured beside them (issue 15 allows the floor where none is chosen):
pyx12 reads HIPAA transaction sets only. Prints sets/s and the ratios to the floor, and the peak
RSS of the process (VmHWM) after each kind; writes JSON to bench/edi/results/.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from serving import write_results  # noqa: E402

from helpers.x12 import TENDER204, interchange, tender  # noqa: E402
from legacy_bridge.drivers.flatfile.x12 import EnvelopedSet, X12Reader  # noqa: E402
from legacy_bridge.drivers.flatfile.x12_format import X12Format  # noqa: E402
from legacy_bridge.drivers.flatfile.x12_mapping import parse_mapping  # noqa: E402


def folder(files: int, per_file: int, work: Path) -> list[Path]:
    work.mkdir(parents=True, exist_ok=True)
    paths = []
    for f in range(files):
        path = work / f"tenders-{per_file}-{f:02d}.x12"
        if not path.exists():
            sets = [tender(f"{i + 1:04d}", f"SH{f * per_file + i:07d}", "ABCD", 1 + i % 20) for i in range(per_file)]
            path.write_text(interchange(f"{f + 1:09d}", str(f + 1), sets))
        paths.append(path)
    return paths


def floor(paths: list[Path]) -> int:
    sets = 0
    for path in paths:
        data = path.read_bytes()
        element, terminator = data[3:4], data[105:106]
        for segment in data.split(terminator):
            if segment.strip().split(element)[0] == b"ST":
                sets += 1
    return sets


def codec(paths: list[Path]) -> int:
    sets = 0
    for path in paths:
        with open(path, "rb") as f:
            sets += sum(1 for _, event in X12Reader(f).scan() if isinstance(event, EnvelopedSet))
    return sets


def mapped(paths: list[Path]) -> int:
    mapping, problems = parse_mapping(TENDER204)
    assert mapping is not None and not problems, problems
    fmt, records = X12Format(mapping), 0
    for path in paths:
        with open(path, "rb") as f:
            for _, row in fmt.open(f).scan():
                assert isinstance(row, tuple), row  # a refused set would not be a record
                records += 1
    return records


def peak_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=10)
    ap.add_argument("--per-file", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--work", default="/tmp/lb-edi-bench")
    args = ap.parse_args()
    paths = folder(args.files, args.per_file, Path(args.work))
    expected = args.files * args.per_file
    rounds = []
    peaks = {}
    for r in range(args.rounds):
        found = {}
        for name, read in (("codec", codec), ("mapped", mapped), ("floor", floor)):
            started = time.perf_counter()
            sets = read(paths)
            seconds = time.perf_counter() - started
            assert sets == expected, (name, sets, expected)
            found[f"{name}_sets_per_s"] = sets / seconds
            peaks.setdefault(name, round(peak_mib(), 1))  # in run order: codec, mapped, then the floor
            print(f"round {r + 1}: {name} {sets / seconds:,.0f} sets/s", file=sys.stderr, flush=True)
        rounds.append(found)
    med = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    summary = {
        **med,
        "codec_vs_floor": med["codec_sets_per_s"] / med["floor_sets_per_s"],
        "mapped_vs_floor": med["mapped_sets_per_s"] / med["floor_sets_per_s"],
        "peak_rss_mib_after": peaks,
    }
    print(
        f"{expected:,} 204 sets in {args.files} files: floor (split) {med['floor_sets_per_s']:,.0f} sets/s; "
        f"codec {med['codec_sets_per_s']:,.0f} ({summary['codec_vs_floor']:.2f}x); "
        f"mapped records {med['mapped_sets_per_s']:,.0f} ({summary['mapped_vs_floor']:.2f}x); "
        f"peak RSS after codec {peaks['codec']} MiB, mapped {peaks['mapped']} MiB, floor {peaks['floor']} MiB"
    )
    write_results("edi", args, rounds, summary)


if __name__ == "__main__":
    main()
