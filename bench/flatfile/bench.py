"""The flat-file driver under gunicorn: key lookups, index build, list pages, peak RSS.

    python bench/flatfile/bench.py [--records 1000000] [--big-bytes 1000000000] [--out DIR]

1. Writes a DTAR020-style EBCDIC file (cp037, 27-byte records, five COMP-3 fields):
   JRecord's 379 DTAR020 records as templates, each given a unique KEYCODE-NO
   (``00000001``...), so every key is found by the index; and a ~1 GB file of the same
   records repeated (keys repeat: the first one wins, as documented).
2. Serves each with ``gunicorn -w 1`` on a free 127.0.0.1 port and measures over HTTP:
   the first get by key (a 503 index-building while the background build runs, asked again
   until the index serves), then ``--lookups``
   random keys (p50/p90/p99), a list page at the start of the file and one at its end
   (the cursor of a walk to the last page, reused with the same limit), and the worker's
   peak RSS (VmHWM from /proc) after all of it.
3. Writes ``results.json`` and ``summary.md`` in ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT.parent / "shared" / "testdata" / "cobol" / "cobol-to-csv" / "Examples"
COPYBOOK, TEMPLATES = EXAMPLES / "DTAR020.cbl", EXAMPLES / "in" / "DTAR020.bin"
SIZE = 27
POLICY = ["quarantine"]  # --policy: under quarantine the key index decodes the key alone


def write_unique(path: Path, records: int) -> None:
    """``records`` DTAR020 records cycling through the 379 templates, each with its own key."""
    templates = TEMPLATES.read_bytes()
    rows = [templates[i : i + SIZE] for i in range(0, len(templates), SIZE)]
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        for start in range(0, records, 100_000):
            chunk = [
                f"{i + 1:08d}".encode("cp037") + rows[i % len(rows)][8:]
                for i in range(start, min(records, start + 100_000))
            ]
            f.write(b"".join(chunk))
    tmp.replace(path)


def write_big(path: Path, source: Path, size: int) -> None:
    """``source`` repeated to ``size`` bytes (whole records)."""
    data = source.read_bytes()
    target = size // SIZE * SIZE
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        written = 0
        while written < target:
            piece = data[: target - written]
            f.write(piece)
            written += len(piece)
    tmp.replace(path)


def ensure(path: Path, build, *args) -> None:
    if not path.exists():
        build(path, *args)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str) -> tuple[int, dict, float]:
    t = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=1800) as response:
            body = json.loads(response.read())
            status = response.status
    except urllib.error.HTTPError as error:
        body, status = json.loads(error.read() or b"{}"), error.code
        body["retry_after_header"] = error.headers.get("Retry-After")
    return status, body, (time.perf_counter() - t) * 1000


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def worker_pid(master: int) -> int:
    for _ in range(100):
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if int((entry / "stat").read_text().split(") ")[1].split()[1]) == master:
                        return int(entry.name)
                except (OSError, IndexError, ValueError):
                    continue
        time.sleep(0.1)
    raise RuntimeError("no gunicorn worker")


def serve(data: Path, work: Path) -> tuple[subprocess.Popen, str]:
    config = {
        "service": {"secret": "bench", "max_limit": 10000},
        "sources": {
            "sales": {
                "kind": "flatfile",
                "path": str(data),
                "copybook": str(COPYBOOK),
                "codepage": "cp037",
                "bad_records": POLICY[0],
                "index_dir": str(work / f"index-{data.stem}"),
            }
        },
        "resources": {
            "sales": {
                "source": "sales",
                "key": ["keycode"],
                "fields": {
                    "keycode": {"column": "DTAR020-KEYCODE-NO", "converter": "trim"},
                    "store": {"column": "DTAR020-STORE-NO", "converter": "int", "filter": True},
                    "day": {"column": "DTAR020-DATE", "converter": "int"},
                    "qty": {"column": "DTAR020-QTY-SOLD", "converter": "int"},
                    "price": {"column": "DTAR020-SALE-PRICE", "converter": "decimal"},
                },
            }
        },
    }
    shutil.rmtree(work / f"index-{data.stem}", ignore_errors=True)  # each run measures a build
    cfg = work / f"{data.stem}.yaml"
    cfg.write_text(yaml.safe_dump(config))
    port = free_port()
    env = {**os.environ, "LEGACY_BRIDGE_CONFIG": str(cfg)}
    log = open(work / f"gunicorn-{data.stem}.log", "wb")
    proc = subprocess.Popen(
        # gunicorn's default 30 s timeout: the index is built in the background, no request waits for it
        [sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(url + "/healthz", timeout=1).read()
            return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("gunicorn did not answer")


def percentiles(ms: list[float]) -> dict[str, float]:
    ms = sorted(ms)
    return {
        "p50": round(statistics.median(ms), 3),
        "p90": round(ms[int(len(ms) * 0.9)], 3),
        "p99": round(ms[int(len(ms) * 0.99)], 3),
        "n": len(ms),
    }


def measure(data: Path, work: Path, keys: list[str], lookups: int, walk_limit: int) -> dict:
    proc, url = serve(data, work)
    try:
        worker = worker_pid(proc.pid)
        result: dict = {
            "file": data.name,
            "bytes": data.stat().st_size,
            "records": data.stat().st_size // SIZE,
            "rss_after_start_mib": round(peak_rss_mib(worker), 1),
        }
        started = time.perf_counter()
        status, body, ms = fetch(f"{url}/v1/sales/{keys[0]}")
        result["first_answer"] = {"status": status, "ms": round(ms, 1), "retry_after": body.get("retry_after_header")}
        while status == 503 and body.get("type", "").endswith("index-building"):
            time.sleep(0.2)  # a client honouring Retry-After would wait longer; this measures the build
            status, body, ms = fetch(f"{url}/v1/sales/{keys[0]}")
        assert status == 200, body
        result["index_build_s"] = round(time.perf_counter() - started, 2)
        sample = random.Random(1).choices(keys, k=lookups)
        timings = []
        for key in sample:
            status, body, ms = fetch(f"{url}/v1/sales/{key}")
            assert status == 200 and body["keycode"] == key, body
            timings.append(ms)
        result["lookup_ms"] = percentiles(timings)
        result["first_page_ms"] = percentiles([fetch(f"{url}/v1/sales?limit=100")[2] for _ in range(50)])
        if walk_limit:
            result.update(walk(url, walk_limit))
        result["peak_rss_mib"] = round(peak_rss_mib(worker), 1)
        return result
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def walk(url: str, limit: int) -> dict:
    """A cursor walk to the last page, then that page (ending at the file's last record) and
    the first page timed again with the same limit."""
    cursor, last, pages, t = None, None, 0, time.perf_counter()
    while True:
        status, body, _ = fetch(f"{url}/v1/sales?limit={limit}" + (f"&cursor={cursor}" if cursor else ""))
        assert status == 200, body
        pages += 1
        if not body["next"]:
            break
        last, cursor = cursor, body["next"]
    tail = f"&cursor={last}" if last else ""
    return {
        "walk": {"pages": pages, "limit": limit, "seconds": round(time.perf_counter() - t, 2)},
        "last_page_ms": percentiles([fetch(f"{url}/v1/sales?limit={limit}{tail}")[2] for _ in range(20)]),
        "first_page_same_limit_ms": percentiles([fetch(f"{url}/v1/sales?limit={limit}")[2] for _ in range(20)]),
    }


def summary(results: dict) -> str:
    lines = [
        "| file | records | index build s | lookup p50 / p90 / p99 ms | page of 100 at the start, p50 ms | "
        "page of N at the start / at the end, p50 ms | peak RSS MiB |",
        "|---|---:|---:|---|---:|---|---:|",
    ]
    for r in results["runs"]:
        lk = r["lookup_ms"]
        pages = (
            f"N={r['walk']['limit']}: {r['first_page_same_limit_ms']['p50']} / {r['last_page_ms']['p50']}"
            if "walk" in r
            else "(no walk)"
        )
        lines.append(
            f"| {r['file']} ({r['bytes'] / 1e6:,.0f} MB) | {r['records']:,} | {r['index_build_s']} | "
            f"{lk['p50']} / {lk['p90']} / {lk['p99']} | {r['first_page_ms']['p50']} | {pages} | "
            f"{r['peak_rss_mib']} |"
        )
    lines.append("")
    lines.append(
        "Lookups of random keys over HTTP (gunicorn -w 1, a new connection each); the page at the end is "
        "the last one of a cursor walk; peak RSS is the worker's VmHWM after everything."
    )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--big-bytes", type=int, default=1_000_000_000, help="0 skips the 1 GB file")
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument("--walk-limit", type=int, default=1000)
    parser.add_argument("--policy", choices=["quarantine", "reject"], default="quarantine", help="bad_records")
    parser.add_argument("--work", default=os.environ.get("FF_WORK", "/tmp/lb-flatfile-bench"))
    parser.add_argument("--out", default=str(ROOT / "bench" / "flatfile" / "results" / time.strftime("%Y-%m-%d")))
    args = parser.parse_args()
    POLICY[0] = args.policy
    work, out = Path(args.work), Path(args.out)
    work.mkdir(parents=True, exist_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    unique = work / f"dtar020_{args.records}.bin"
    ensure(unique, write_unique, args.records)
    keys = [f"{i:08d}" for i in range(1, args.records + 1)]
    runs = [measure(unique, work, keys, args.lookups, args.walk_limit)]
    print(json.dumps(runs[-1]), flush=True)
    if args.big_bytes:
        big = work / f"dtar020_{args.big_bytes // 1_000_000}mb.bin"
        ensure(big, write_big, unique, args.big_bytes)
        # keys repeat every --records records: the index keeps the first, which is what a get returns
        runs.append(measure(big, work, keys, min(args.lookups, 500), 0))
        print(json.dumps(runs[-1]), flush=True)
    results = {
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "commit": subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip(),
        "cpu": os.cpu_count(),
        "runs": runs,
    }
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "summary.md").write_text(summary(results))
    print(summary(results))


if __name__ == "__main__":
    main()
