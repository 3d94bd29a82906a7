"""Outbound EBCDIC drops through the API beside the copybook encoder alone, in one run.

    .venv/bin/python bench/outbound/run.py [--records 100000] [--batch 1000] [--clients 4] [--rounds 3]

- API: ``POST /v1/sales`` with arrays of ``--batch`` DTAR020 records (JSON -> contract ->
  converters -> copybook encoder -> appended under the batch lock) under gunicorn (2 workers,
  the production settings), ``--clients`` clients, a connection per POST (so both workers take them); batches of 10,000
  records closed by size, the last by ``POST /v1/sales/close``.  Every record is counted back
  in the files delivered.
- Floor: the copybook encoder alone in this process, the same records as legacy tuples,
  encoded and written to one file.  Target: API >= 0.5x the floor's records/s.

Prints a summary (ratio, records/s, peak RSS of this process and of each gunicorn worker) and
writes JSON to bench/outbound/results/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import platform
import resource
import statistics as st
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from serving import serving  # noqa: E402

COPYBOOK = ROOT.parent / "shared" / "testdata" / "cobol" / "cobol-to-csv" / "Examples" / "DTAR020.cbl"
FIELDS = {
    "keycode": {"column": "DTAR020-KEYCODE-NO", "converter": "trim"},
    "store": {"column": "DTAR020-STORE-NO", "converter": "int"},
    "day": {"column": "DTAR020-DATE", "converter": "int"},
    "dept": {"column": "DTAR020-DEPT-NO", "converter": "int"},
    "qty": {"column": "DTAR020-QTY-SOLD", "converter": "int"},
    "price": {"column": "DTAR020-SALE-PRICE", "converter": "decimal"},
}


def _record(n: int) -> dict:
    return {
        "keycode": f"{n:08d}",
        "store": n % 1000,
        "day": 40118,
        "dept": n % 997,
        "qty": n - 50_000,
        "price": str(Decimal(n % 10_000_000).scaleb(-2)),
    }


def _config(folder: Path, state: Path) -> dict:
    return {
        "service": {"secret": "bench", "max_body": "8MiB", "state": f"sqlite:///{state}"},
        "sources": {
            "out": {"kind": "flatfile", "path": f"{folder}/SALES.*.bin", "copybook": str(COPYBOOK), "codepage": "cp037"}
        },
        "resources": {
            "sales": {
                "source": "out",
                "key": "keycode",
                "fields": FIELDS,
                "drop": {
                    "folder": str(folder),
                    "name": "SALES.{timestamp:%Y%m%d%H%M%S}.{seq:06d}.bin",
                    "records": 10000,
                },
            }
        },
    }


def floor(records: list[dict], out: Path) -> tuple[float, float]:
    """Seconds (wall, CPU) the copybook encoder alone takes to encode and write the records."""
    from legacy_bridge.drivers.flatfile.copybook import make_encoder, parse_copybook

    layout = parse_copybook(COPYBOOK.read_text(encoding="latin-1"))
    encode = make_encoder(layout, "cp037")
    rows = [
        (r["keycode"], r["store"], r["day"], r["dept"], r["qty"], Decimal(r["price"])) for r in records
    ]  # legacy values, made before the clock starts
    began, cpu = time.perf_counter(), time.process_time()
    with open(out, "wb") as f:
        f.write(b"".join(encode(row) for row in rows))
    return time.perf_counter() - began, time.process_time() - cpu


def api(port: int, bodies: list[bytes], clients: int) -> float:
    def send(part: list[bytes]) -> None:
        for body in part:  # a connection per POST: the workers take turns accepting them
            client = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
            client.request("POST", "/v1/sales", body, {"Content-Type": "application/json"})
            answer = client.getresponse()
            data = answer.read()
            assert answer.status == 202, (answer.status, data[:300])
            client.close()

    parts = [bodies[i::clients] for i in range(clients)]
    began = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(send, parts))
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    client.request("POST", "/v1/sales/close", b"", {"Content-Type": "application/json"})
    assert client.getresponse().status == 200
    return time.perf_counter() - began


def _peak_rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine_busy() -> float:
    """CPU seconds every process of the machine spent so far (the run shares it with others)."""
    with open("/proc/stat") as f:
        user, nice, system = (int(v) for v in f.readline().split()[1:4])
    return (user + nice + system) / os.sysconf("SC_CLK_TCK")


def _workers(master: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _delivered(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.glob("SALES.*.bin")) // 27


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lb-bench-outbound-"))
    records = [_record(n) for n in range(args.records)]
    bodies = [json.dumps(records[i : i + args.batch]).encode() for i in range(0, len(records), args.batch)]
    rounds = []
    for r in range(args.rounds):
        folder = work / f"round{r}"
        folder.mkdir()
        with serving(_config(folder, work / f"state-{r}.db")) as (port, server):
            api(port, bodies[:4], args.clients)  # warm both workers
            warm = _delivered(folder)
            cpu = {p: _cpu_seconds(p) for p in _workers(server.pid)}
            client_cpu, busy = time.process_time(), _machine_busy()
            api_seconds = api(port, bodies, args.clients)
            client_cpu, busy = time.process_time() - client_cpu, _machine_busy() - busy
            cpu = {p: _cpu_seconds(p) - c for p, c in cpu.items()}
            assert _delivered(folder) - warm == args.records, "records lost or duplicated"
            workers_mib = [_peak_rss_mib(p) for p in _workers(server.pid)]
        floor_seconds, floor_cpu = floor(records, work / f"floor-{r}.bin")
        rounds.append(
            {
                "api_records_per_s": args.records / api_seconds,
                "encoder_records_per_s": args.records / floor_seconds,
                # per CPU second: what the run would reach with a free core per worker (the machine may be shared)
                "api_records_per_worker_cpu_s": args.records / sum(cpu.values()),
                "encoder_records_per_cpu_s": args.records / floor_cpu,
                "worker_peak_rss_mib": max(workers_mib),
                "api_seconds": api_seconds,
                "worker_cpu_seconds": sorted(cpu.values()),
                "client_cpu_seconds": client_cpu,
                "machine_busy_cpu_seconds": busy,
                "machine_busy_share": busy / (api_seconds * (os.cpu_count() or 1)),
            }
        )
    med = {k: st.median(r[k] for r in rounds) for k in rounds[0] if not isinstance(rounds[0][k], list)}
    summary = {
        **med,
        "ratio": med["api_records_per_s"] / med["encoder_records_per_s"],
        "cpu_ratio_two_free_cores": 2 * med["api_records_per_worker_cpu_s"] / med["encoder_records_per_cpu_s"],
        "bench_process_peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    print(
        f"{args.records} DTAR020 records in POSTs of {args.batch} ({args.clients} clients, gunicorn 2 workers): "
        f"API {med['api_records_per_s']:.0f} records/s vs encoder alone {med['encoder_records_per_s']:.0f} "
        f"records/s = {summary['ratio']:.2f}x (target >= 0.5x)"
    )
    print(
        f"per CPU second: API {med['api_records_per_worker_cpu_s']:.0f} records (per worker) vs encoder "
        f"{med['encoder_records_per_cpu_s']:.0f}: on two free cores {summary['cpu_ratio_two_free_cores']:.2f}x; "
        f"the machine was busy {med['machine_busy_share']:.0%} during the API runs"
    )
    print(
        f"peak RSS: gunicorn worker {med['worker_peak_rss_mib']:.0f} MiB, "
        f"bench process (records, bodies, floor) {summary['bench_process_peak_rss_mib']:.0f} MiB"
    )
    out = ROOT / "bench" / "outbound" / "results" / f"{dt.date.today().isoformat()}.json"
    out.write_text(
        json.dumps({"machine": platform.platform(), "args": vars(args), "rounds": rounds, "summary": summary}, indent=2)
        + "\n"
    )
    print(f"written: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
