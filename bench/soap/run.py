"""SOAP benchmark: facade GET /v1/shipments/<key> vs a direct zeep call, and RSS per SOAP source.

One run, one machine, ratios only.  The spyne TMS simulator runs in its own process;
the facade is ``gunicorn -w 1`` (gthread, the repository's gunicorn.conf.py), the direct
zeep client is this process (one process each side).  The REST side is called with
urllib3 (keep-alive), as a proxy or a lean client would, and with requests.Session for
the record.  Requests alternate in rounds, so drift on a shared machine hits all alike.
Usage: ``.venv/bin/python bench/soap/run.py [N]``.
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
import urllib3
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
    proc = subprocess.Popen(
        argv, cwd=ROOT, stdout=open(log, "wb"), stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
    )
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
    from legacy_bridge.demo.tms_config import tms_config

    base = tms_config(tms)
    conf = {"service": {"secret": "bench"}, "sources": {}, "resources": {}}
    for i in range(sources):
        name = "tms" if i == 0 else f"tms{i}"
        # a distinct WSDL URL per source, so no source shares another's parsed WSDL
        conf["sources"][name] = {**base["sources"]["tms"], "wsdl": f"{tms}/s{i}/soap11?wsdl"}
        conf["resources"]["shipments" if i == 0 else f"shipments{i}"] = {
            **base["resources"]["shipments"],
            "source": name,
        }
    return conf


def facade(tms: str, sources: int, tmp: Path) -> tuple[subprocess.Popen, str]:
    path = tmp / f"bench-{sources}.yaml"
    path.write_text(yaml.safe_dump(config(tms, sources)))
    port = free_port()
    proc = start(
        [str(Path(PY).parent / "gunicorn"), "-w", "1", *WORKER, "-b", f"127.0.0.1:{port}", "wsgi:app"],
        f"http://127.0.0.1:{port}/healthz",
        tmp / f"gunicorn-{sources}.log",
        {"LEGACY_BRIDGE_CONFIG": str(path)},
    )
    return proc, f"http://127.0.0.1:{port}"


def p50_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main(n: int) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="soap-bench-"))
    tms_port = free_port()
    tms = f"http://127.0.0.1:{tms_port}"
    sim = start(
        [
            PY,
            "-c",
            "import time; from legacy_bridge.demo.tms_simulator import serve\n"
            f"with serve(port={tms_port}):\n    time.sleep(10**6)",
        ],
        f"{tms}/soap11?wsdl",
        tmp / "tms.log",
    )
    try:
        proc, url = facade(tms, 1, tmp)
        try:
            # the REST side is called as a proxy or a lean client would (urllib3, keep-alive);
            # requests.Session, which reads the environment on every call, for the record
            lean = urllib3.HTTPConnectionPool("127.0.0.1", int(url.rsplit(":", 1)[1]), maxsize=1)
            http = requests.Session()
            client = zeep.Client(f"{tms}/soap11?wsdl")
            get = client.service.GetShipment

            def rest(path: str, via_requests: bool = False) -> float:
                t = time.perf_counter()
                status = http.get(url + path).status_code if via_requests else lean.request("GET", path).status
                elapsed = time.perf_counter() - t
                assert status == 200, status
                return elapsed

            for _ in range(50):  # warm every path
                rest(f"/v1/shipments/{KEY}")
                rest(f"/v1/shipments/{KEY}", via_requests=True)
                zeep.helpers.serialize_object(get(KEY), target_cls=dict)
            direct, through, through_requests, hop = [], [], [], []
            for _ in range(n):  # alternate, so drift hits all alike
                t = time.perf_counter()
                zeep.helpers.serialize_object(get(KEY), target_cls=dict)
                direct.append(time.perf_counter() - t)
                through.append(rest(f"/v1/shipments/{KEY}"))
                through_requests.append(rest(f"/v1/shipments/{KEY}", via_requests=True))
                hop.append(rest("/healthz"))  # the HTTP hop alone, for the record
            rss_one = rss_kb(worker_pid(proc.pid))
        finally:
            stop(proc)
        proc, url = facade(tms, 1 + EXTRA_SOURCES, tmp)
        try:
            http = requests.Session()
            for i in range(1 + EXTRA_SOURCES):  # each source loads its WSDL and calls
                http.get(f"{url}/v1/shipments{i or ''}/{KEY}").raise_for_status()
            rss_many = rss_kb(worker_pid(proc.pid))
        finally:
            stop(proc)
    finally:
        stop(sim)
    result = {
        "requests": n,
        "direct_zeep_p50_ms": round(p50_ms(direct), 3),
        "facade_p50_ms": round(p50_ms(through), 3),
        "ratio": round(p50_ms(through) / p50_ms(direct), 3),
        "facade_healthz_p50_ms": round(p50_ms(hop), 3),
        "facade_via_requests_p50_ms": round(p50_ms(through_requests), 3),
        "ratio_via_requests": round(p50_ms(through_requests) / p50_ms(direct), 3),
        "direct_zeep_p90_ms": round(statistics.quantiles(direct, n=10)[-1] * 1000, 3),
        "facade_p90_ms": round(statistics.quantiles(through, n=10)[-1] * 1000, 3),
        "worker_rss_kb_1_source": rss_one,
        "worker_rss_kb_11_sources": rss_many,
        "rss_per_source_mb": round((rss_many - rss_one) / EXTRA_SOURCES / 1024, 3),
        "loadavg": os.getloadavg(),
    }
    out = ROOT / "bench" / "soap" / "results.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000), indent=2))
