"""Real servers for tests: a subprocess (gunicorn, the CLI) or a WSGI app in a thread.

Both listen on a free 127.0.0.1 port, are waited for until they answer, and are
stopped by the context manager that started them, whatever the test did.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

from werkzeug.serving import make_server

HOST = "127.0.0.1"


def free_port() -> int:
    """A port nobody listens on right now (the kernel's pick)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def get(url: str, headers: dict[str, str] | None = None, timeout: float = 10) -> tuple[int, dict, bytes]:
    """``(status, headers, body)`` of a GET; HTTP errors are answers too, not exceptions."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@dataclass
class Server:
    """A running server: its base URL and, for a subprocess, the process and its log."""

    url: str
    process: subprocess.Popen | None = None
    log_path: Path | None = None

    def log(self) -> str:
        """Everything the process wrote to stdout and stderr so far."""
        return self.log_path.read_text(errors="replace") if self.log_path else ""


def _wait_until_answering(server: Server, path: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if server.process is not None and server.process.poll() is not None:
            raise RuntimeError(f"server exited with {server.process.returncode} before answering:\n{server.log()}")
        try:
            get(server.url + path, timeout=2)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not answer {path} within {timeout}s:\n{server.log()}") from None
            time.sleep(0.1)


def stop(process: subprocess.Popen, timeout: float = 15) -> int:
    """SIGTERM, wait; SIGKILL only if it would not stop. Returns the exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)
    return process.returncode


@contextmanager
def serve_process(argv: Sequence[str], port: int, log_path: Path, *, env: dict[str, str] | None = None,
                  cwd: str | Path | None = None, ready_path: str = "/healthz",
                  timeout: float = 30) -> Iterator[Server]:
    """Run ``argv`` (which must listen on ``port``), yield once it answers, then stop it."""
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(list(argv), cwd=cwd, env={**os.environ, **(env or {})},
                                   stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    server = Server(f"http://{HOST}:{port}", process, log_path)
    try:
        _wait_until_answering(server, ready_path, timeout)
        yield server
    finally:
        stop(process)


@contextmanager
def serve_app(app, ready_path: str = "/healthz", timeout: float = 10) -> Iterator[Server]:
    """Serve a WSGI app with werkzeug on a free port in a thread; shut it down after."""
    httpd = make_server(HOST, 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, name="test-wsgi-server", daemon=True)
    thread.start()
    server = Server(f"http://{HOST}:{httpd.server_port}")
    try:
        _wait_until_answering(server, ready_path, timeout)
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout)


def child_pids(parent_pid: int) -> list[int]:
    """Pids whose parent is ``parent_pid`` (a gunicorn master's workers), from /proc, sorted."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent_pid:
            children.append(int(stat.parent.name))
    return sorted(children)


@contextmanager
def hanging_server(path: str = "/soap11") -> Iterator[str]:
    """A URL whose server accepts connections and never answers (a hung legacy service)."""
    sock = socket.socket()
    sock.bind((HOST, 0))
    sock.listen(64)
    held, stop = [], threading.Event()

    def accept():
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(sock.accept()[0])
            except OSError:
                continue
    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{sock.getsockname()[1]}{path}"
    finally:
        stop.set()
        thread.join(5)
        for conn in held:
            conn.close()
        sock.close()
