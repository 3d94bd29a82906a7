"""SOAP benchmark: facade GET /v1/shipments/<key> vs a direct zeep call, and RSS per SOAP source.

One run, one machine, ratios only.  The spyne TMS simulator runs in its own process;
the facade is ``gunicorn -w 1`` (sync), the direct zeep client is this process (one
process each side).  Requests alternate between the two in rounds, so drift on a
shared machine hits both alike.  Usage: ``.venv/bin/python bench/soap/run.py [N]``.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
import yaml
import zeep

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable
KEY = "TMS000042"
EXTRA_SOURCES = 10
# gthread keeps the client connection alive (sync workers close it after every request),
# as a load balancer in front of gunicorn would; override with SOAP_BENCH_WORKER="-k sync"
WORKER = os.environ.get("SOAP_BENCH_WORKER", "-k gthread --threads 4 --keep-alive 30").split()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def start(argv: list[str], url: str, log: Path, env: dict | None = None) -> subprocess.Popen:
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=open(log, "wb"), stderr=subprocess.STDOUT,
                            env={**os.environ, **(env or {})})
    wait(url)
    return proc


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def worker_pid(master: int) -> int:
    out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout.split()
    return int(out[0])


def config(tms: str, sources: int) -> dict:
    from legacy_bridge.tms_simulator import tms_config
    base = tms_config(tms)
    conf = {"service": {"secret": "bench"}, "sources": {}, "resources": {}}
    for i in range(sources):
        name = "tms" if i == 0 else f"tms{i}"
        # a distinct WSDL URL per source, so no source shares another's parsed WSDL
        conf["sources"][name] = {**base["sources"]["tms"], "wsdl": f"{tms}/s{i}/soap11?wsdl"}
        conf["resources"]["shipments" if i == 0 else f"shipments{i}"] = {**base["resources"]["shipments"],
                                                                        "source": name}
    return conf


def facade(tms: str, sources: int, tmp: Path) -> tuple[subprocess.Popen, str]:
    path = tmp / f"bench-{sources}.yaml"
    path.write_text(yaml.safe_dump(config(tms, sources)))
    port = free_port()
    proc = start([str(Path(PY).parent / "gunicorn"), "-w", "1", *WORKER, "-b", f"127.0.0.1:{port}", "wsgi:app"],
                 f"http://127.0.0.1:{port}/healthz", tmp / f"gunicorn-{sources}.log",
                 {"LEGACY_BRIDGE_CONFIG": str(path), "LEGACY_BRIDGE_LOG_LEVEL": "WARNING"})
    return proc, f"http://127.0.0.1:{port}"


def p50_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main(n: int) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="soap-bench-"))
    tms_port = free_port()
    tms = f"http://127.0.0.1:{tms_port}"
    sim = start([PY, "-c", "import time; from legacy_bridge.tms_simulator import serve\n"
                 f"with serve(port={tms_port}):\n    time.sleep(10**6)"], f"{tms}/soap11?wsdl", tmp / "tms.log")
    try:
        proc, url = facade(tms, 1, tmp)
        try:
            http = requests.Session()
            client = zeep.Client(f"{tms}/soap11?wsdl")
            get = client.service.GetShipment
            for _ in range(50):                               # warm both paths
                http.get(f"{url}/v1/shipments/{KEY}").raise_for_status()
                zeep.helpers.serialize_object(get(KEY), target_cls=dict)
            direct, through, hop = [], [], []
            for _ in range(n):                                # alternate, so drift hits both
                t = time.perf_counter()
                zeep.helpers.serialize_object(get(KEY), target_cls=dict)
                direct.append(time.perf_counter() - t)
                t = time.perf_counter()
                r = http.get(f"{url}/v1/shipments/{KEY}")
                through.append(time.perf_counter() - t)
                assert r.status_code == 200
                t = time.perf_counter()
                http.get(f"{url}/healthz")                    # the HTTP hop alone, for the record
                hop.append(time.perf_counter() - t)
            rss_one = rss_kb(worker_pid(proc.pid))
        finally:
            stop(proc)
        proc, url = facade(tms, 1 + EXTRA_SOURCES, tmp)
        try:
            http = requests.Session()
            for i in range(1 + EXTRA_SOURCES):                # each source loads its WSDL and calls
                http.get(f"{url}/v1/shipments{i or ''}/{KEY}").raise_for_status()
            rss_many = rss_kb(worker_pid(proc.pid))
        finally:
            stop(proc)
    finally:
        stop(sim)
    result = {"requests": n, "direct_zeep_p50_ms": round(p50_ms(direct), 3),
              "facade_p50_ms": round(p50_ms(through), 3),
              "ratio": round(p50_ms(through) / p50_ms(direct), 3),
              "facade_healthz_p50_ms": round(p50_ms(hop), 3),
              "direct_zeep_p90_ms": round(statistics.quantiles(direct, n=10)[-1] * 1000, 3),
              "facade_p90_ms": round(statistics.quantiles(through, n=10)[-1] * 1000, 3),
              "worker_rss_kb_1_source": rss_one, "worker_rss_kb_11_sources": rss_many,
              "rss_per_source_mb": round((rss_many - rss_one) / EXTRA_SOURCES / 1024, 3),
              "loadavg": os.getloadavg()}
    out = ROOT / "bench" / "soap" / "results.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000), indent=2))
