"""Table of a bench/copybook run: median records/s, peak RSS, ratio to the fastest correct PyPI reader."""

from __future__ import annotations

import json
import re
import statistics
import sys
from pathlib import Path


def _rss_mb(path: Path) -> float | None:
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", path.read_text()) if path.exists() else None
    return int(m.group(1)) / 1024 if m else None


def main(results: str) -> int:
    res = Path(results)
    correct = {
        json.loads(p.read_text())["reader"]: json.loads(p.read_text()) for p in sorted((res / "correct").glob("*.json"))
    }
    rows = []
    for reader, c in correct.items():
        runs = [json.loads(p.read_text()) for p in sorted((res / "speed").glob(f"{reader}.run*.json"))]
        rates = [r["rec_per_s"] for r in runs if "rec_per_s" in r]
        rss = [
            x
            for x in (_rss_mb(p.with_suffix(".time")) for p in sorted((res / "speed").glob(f"{reader}.run*.json")))
            if x
        ]
        ok = c.get("value_equal") == 379
        rows.append(
            (
                reader,
                c.get("version", "?"),
                f"{c.get('value_equal')}; {c.get('strict_equal')}",
                ok,
                statistics.median(rates) if rates else None,
                rates,
                max(rss) if rss else None,
            )
        )
    best = max((r[4] for r in rows if r[3] and r[0] != "legacy-bridge" and r[4]), default=None)
    lines = [
        "| reader | version | correct /379 (value; strict) | records/s median | runs | peak RSS MiB "
        "| vs fastest correct PyPI |",
        "|---|---|---|---:|---|---:|---:|",
    ]
    for name, ver, corr, _ok, med, rates, rss in sorted(rows, key=lambda r: -(r[4] or 0)):
        ratio = f"{med / best:.2f}x" if med and best else "-"
        lines.append(
            f"| {name} | {ver} | {corr} | {med:,.0f} | {', '.join(f'{x:,.0f}' for x in rates)} | {rss:.1f} | {ratio} |"
            if med
            else f"| {name} | {ver} | {corr} | - | - | - | - |"
        )
    big = res / "speed" / "legacy-bridge-1g.json"
    if big.exists():
        b = json.loads(big.read_text())
        lines += [
            "",
            f"1 GB file ({Path(b['file']).name}, {b['records']:,} records): "
            f"{b['rec_per_s']:,.0f} records/s, {b['mb_per_s']} MB/s, {b['decode_s']} s, "
            f"peak RSS {_rss_mb(big.with_suffix('.time')):.1f} MiB",
        ]
    arrays = res / "speed" / "legacy-bridge-arrays.json"
    if arrays.exists():
        a = json.loads(arrays.read_text())
        lines += [
            "",
            f"OCCURS DEPENDING ON ({a['records']:,} orders of 0-12 lines, best of 5): flat columns "
            f"{a['flat_rec_per_s']:,} records/s, with arrays {a['arrays_rec_per_s']:,} records/s "
            f"({a['arrays_vs_flat']}x the flat decode; target >= 0.9x), variable-size V records with arrays "
            f"{a['arrays_variable_V_rec_per_s']:,} records/s",
        ]
    text = "\n".join(lines) + "\n"
    (res / "summary.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
