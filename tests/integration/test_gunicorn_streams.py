"""Streams under gunicorn with the repository's gunicorn.conf.py (2 workers x 4 threads):
exports never starve short requests, a killed worker's export is recognisably cut, and
a stop (SIGTERM) or a reload (SIGHUP) with exports in flight refuses or serves every new
connection cleanly, cuts the exports at the end of their grace and logs JSON only."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import sqlite3
import sys
import threading
import time
import zlib
from contextlib import contextmanager

import pytest
import yaml

from helpers.backends import ROOT, crm_config
from helpers.servers import HOST, child_pids, free_port, get, serve_process

BIG_ROWS = 3_000_000
GRACEFUL = 3  # GUNICORN_GRACEFUL_TIMEOUT of the servers stopped here: exports get 2.4 s


@pytest.fixture(scope="module")
def config_file(sqlite_backend, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("streams")
    big = tmp / "big.db"
    with sqlite3.connect(big) as db:  # ~120 MB of NDJSON: even gzipped, longer than the grace
        db.execute("CREATE TABLE BIG (ID INTEGER PRIMARY KEY, NM CHAR(24))")
        db.execute(
            f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {BIG_ROWS}) "
            "INSERT INTO BIG SELECT i, 'CUSTOMER ' || i FROM n"
        )
    config = crm_config(sqlite_backend.connection)
    config["sources"]["big"] = {"kind": "odbc", "connection": f"Driver={{SQLite3}};Database={big};StepAPI=1"}
    config["resources"]["big"] = {
        "source": "big",
        "table": "BIG",
        "key": ["id"],
        "fields": {"id": {"column": "ID", "converter": "int"}, "name": {"column": "NM", "converter": "trim"}},
    }
    path = tmp / "legacy-bridge.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@contextmanager
def _gunicorn(config_file, tmp_path, graceful: int = 30):
    port = free_port()
    env = {
        "LEGACY_BRIDGE_CONFIG": str(config_file),
        "GUNICORN_BIND": f"{HOST}:{port}",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "4",
        "GUNICORN_GRACEFUL_TIMEOUT": str(graceful),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / f"metrics-{port}"),
    }
    os.makedirs(env["PROMETHEUS_MULTIPROC_DIR"])
    argv = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "wsgi:app"]
    with serve_process(argv, port, tmp_path / f"gunicorn-{port}.log", cwd=ROOT, env=env) as server:
        server.port = port
        _until(lambda: len(child_pids(server.process.pid)) == 2)
        yield server


def _until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def served(config_file, tmp_path_factory):
    with _gunicorn(config_file, tmp_path_factory.mktemp("served")) as server:
        yield server


class SlowExport(threading.Thread):
    """A client that reads an export 16 KiB at a time with a pause between reads (none:
    as fast as it comes), and keeps what it got, how the body ended and whether it was cut."""

    def __init__(
        self, port: int, fmt: str = "ndjson", pause: float = 0.05, seconds: float | None = None, gzip: bool = False
    ) -> None:
        super().__init__(daemon=True)
        self.port, self.fmt, self.pause, self.seconds, self.gzip = port, fmt, pause, seconds, gzip
        self.status = None
        self.received = bytearray()
        self.broken = False  # the connection ended without the chunked body's end
        self.first_byte = threading.Event()

    @property
    def body(self) -> bytes:
        """What arrived (decompressed as far as it goes, for a gzipped export)."""
        if not self.gzip:
            return bytes(self.received)
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(bytes(self.received))

    def run(self) -> None:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=30)
        try:
            conn.request(
                "GET", f"/v1/big/export?format={self.fmt}", headers={"Accept-Encoding": "gzip"} if self.gzip else {}
            )
            response = conn.getresponse()
            self.status = response.status
            started = time.monotonic()
            while self.seconds is None or time.monotonic() - started < self.seconds:
                try:
                    chunk = response.read1(16 * 1024) if self.status == 200 else response.read()
                except http.client.IncompleteRead as cut:
                    self.received += cut.partial
                    self.broken = True
                    return
                except OSError:
                    self.broken = True
                    return
                if not chunk:
                    return
                self.received += chunk
                self.first_byte.set()
                if self.pause:
                    time.sleep(self.pause)
        finally:
            self.first_byte.set()
            conn.close()


def test_six_exports_at_once_never_hold_back_a_short_request(served):
    exports = [SlowExport(served.port, seconds=4.0) for _ in range(6)]
    for e in exports:
        e.start()
    for e in exports:
        assert e.first_byte.wait(10)
    timings = []
    for n in range(40):
        started = time.monotonic()
        status, _, body = get(served.url + f"/v1/customers/{1 + n % 200}", timeout=30)
        timings.append((time.monotonic() - started, status))
        time.sleep(0.05)
    for e in exports:
        e.join(30)
    streaming = [e for e in exports if e.status == 200]
    refused = [e for e in exports if e.status == 503]
    assert len(streaming) + len(refused) == 6 and 1 <= len(streaming) <= 4  # 2 per worker at most
    assert all(json.loads(e.body)["type"].endswith(":busy") for e in refused)
    assert {status for _, status in timings} == {200}
    assert max(t for t, _ in timings) < 1.0, sorted(timings)[-3:]  # the exports ran for 4 s each


@pytest.mark.parametrize("fmt, end", [("ndjson", b"\n"), ("csv", b"\r\n")])
def test_an_export_whose_worker_is_killed_is_recognisably_cut(served, fmt, end):
    export = SlowExport(served.port, fmt)
    export.start()
    assert export.first_byte.wait(10)
    time.sleep(0.2)
    for pid in child_pids(served.process.pid):  # SIGKILL, as an out-of-memory kill sends
        os.kill(pid, signal.SIGKILL)
    export.pause = 0  # read what the socket still holds, fast
    export.join(30)
    assert export.status == 200 and len(export.body) > 16 * 1024
    assert not export.body.endswith(end)  # what a line-reading client checks
    assert export.body.count(end) < BIG_ROWS
    _until(lambda: len(child_pids(served.process.pid)) == 2 and get(served.url + "/healthz")[0] == 200)


def _json_lines_only(log: str) -> None:
    lines = [line for line in log.splitlines() if line.strip()]
    assert lines
    for line in lines:
        json.loads(line)  # no bare traceback, no plain text
    assert "SIGKILL" not in log and "WORKER TIMEOUT" not in log  # every worker ended by itself


def _answered_or_refused(port: int) -> str:
    """'refused', or 'answered' when a new connection got a whole HTTP answer; anything
    else (accepted, then reset or left hanging) raises."""
    try:
        sock = socket.create_connection((HOST, port), timeout=2)
    except ConnectionRefusedError:
        return "refused"
    with sock:
        sock.settimeout(5)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200"), answer
    return "answered"


def _cut_at_the_end_of_the_grace(export: SlowExport) -> None:
    # gzip makes the worker, not the reader, the slow end (the export lasts longer than the
    # grace, and nothing piles up in the sockets): the cut reaches the client at once
    assert export.status == 200 and not export.broken
    *records, last = export.body.split(b"\n")
    assert records and not export.body.endswith(b"\n")
    assert json.loads(last)["error"]["type"].endswith("service-stopping")


def test_a_stop_with_exports_in_flight_refuses_new_connections_and_cuts_the_exports_in_time(config_file, tmp_path):
    with _gunicorn(config_file, tmp_path, graceful=GRACEFUL) as server:
        exports = [SlowExport(server.port, pause=0, gzip=True) for _ in range(2)]
        for e in exports:
            e.start()
            assert e.first_byte.wait(10)
        stopped = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        outcomes = set()
        while time.monotonic() - stopped < 2.5:
            outcomes.add(_answered_or_refused(server.port))
            time.sleep(0.1)
        assert outcomes == {"refused"}
        server.process.wait(GRACEFUL + 5)
        took = time.monotonic() - stopped
        for e in exports:
            e.join(GRACEFUL + 5)
    assert server.process.returncode == 0 and took < GRACEFUL + 1
    for e in exports:
        _cut_at_the_end_of_the_grace(e)
    _json_lines_only(server.log())


def test_a_reload_with_exports_in_flight_serves_new_connections_and_ends_the_old_workers_in_time(config_file, tmp_path):
    with _gunicorn(config_file, tmp_path, graceful=GRACEFUL) as server:
        old = set(child_pids(server.process.pid))
        exports = [SlowExport(server.port, pause=0, gzip=True) for _ in range(2)]
        for e in exports:
            e.start()
            assert e.first_byte.wait(10)
        reloaded = time.monotonic()
        server.process.send_signal(signal.SIGHUP)
        outcomes = set()
        while time.monotonic() - reloaded < 2.5:
            outcomes.add(_answered_or_refused(server.port))
            time.sleep(0.1)
        assert outcomes == {"answered"}
        _until(lambda: not old & set(child_pids(server.process.pid)), timeout=GRACEFUL + 2)
        took = time.monotonic() - reloaded
        assert took < GRACEFUL + 1
        for e in exports:
            e.join(GRACEFUL + 5)
        assert get(server.url + "/v1/customers/3")[0] == 200
        for e in exports:
            _cut_at_the_end_of_the_grace(e)
    _json_lines_only(server.log())
