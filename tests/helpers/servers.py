"""Real servers for tests: a subprocess (gunicorn, the CLI) or a WSGI app in a thread.

Both listen on a free 127.0.0.1 port, are waited for until they answer, and are
stopped by the context manager that started them, whatever the test did.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

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


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    """Poll ``condition`` every 50 ms until it holds or ``timeout`` passes; its last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


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
def serve_process(
    argv: Sequence[str],
    port: int,
    log_path: Path,
    *,
    env: dict[str, str] | None = None,
    cwd: str | Path | None = None,
    ready_path: str = "/healthz",
    timeout: float = 30,
) -> Iterator[Server]:
    """Run ``argv`` (which must listen on ``port``), yield once it answers, then stop it."""
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
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


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the process's peak resident set, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmHWM for {pid}")


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


class TcpProxy:
    """Forwards 127.0.0.1:<port> to ``upstream``, and breaks the link on demand.

    :meth:`cut` closes the listener and every connection (a database restart: clients see
    refusals and resets); :meth:`restore` listens again on the same port.  :meth:`silence`
    is a black hole: connections are still accepted (the kernel answers), but nothing
    is forwarded either way until :meth:`resume` (a firewall dropping packets, a proxy
    whose backend hangs); what was held is delivered late, as TCP retransmits it.
    """

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._flowing = threading.Event()
        self._flowing.set()
        # client sockets that sent a request into the silence, and when
        self._silenced: dict[socket.socket, float] = {}
        self.accepted = 0  # connections accepted so far
        probe = socket.socket()
        probe.bind((HOST, 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.restore()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((HOST, self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        """Close the listener and every connection through the proxy."""
        listener, self._listener = self._listener, None
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
            except OSError:
                pass
            listener.close()
        with self._lock:
            conns, self._conns = self._conns, set()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

    def close(self) -> None:
        self._flowing.set()
        self.cut()

    def silence(self) -> None:
        """Forward nothing from now on (new connections are accepted and held)."""
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    def stuck_open(self, for_longer_than: float = 0.0) -> int:
        """Connections on which the client sent a request into the current silence more
        than ``for_longer_than`` seconds ago and that it has not closed since."""
        now = time.monotonic()
        with self._lock:
            return sum(
                1 for conn, since in self._silenced.items() if conn.fileno() >= 0 and now - since > for_longer_than
            )

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            with self._lock:
                self._conns.add(client)
                self.accepted += 1
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        self._flowing.wait()  # a silent link: the connection hangs here
        try:
            server = socket.create_connection(self.upstream, timeout=5)
            server.settimeout(None)
        except OSError:
            client.close()
            return
        for end in (client, server):  # forward small frames at once (Nagle + delayed ACKs: 40 ms stalls)
            end.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            self._conns.add(server)
        threading.Thread(target=self._pump, args=(server, client, None), daemon=True).start()
        self._pump(client, server, client)

    def _pump(self, src: socket.socket, dst: socket.socket, client: socket.socket | None) -> None:
        held: list[bytes] = []  # what arrived during a silence, delivered when it ends
        readable = select.poll()  # (select() cannot watch descriptors past 1023)
        readable.register(src, select.POLLIN)
        try:
            while True:
                if held and self._flowing.is_set():
                    dst.sendall(b"".join(held))
                    held.clear()
                    if client is not None:
                        with self._lock:
                            self._silenced.pop(client, None)  # delivered: no longer stuck
                if not readable.poll(100):
                    continue  # keeps reading while silent: a peer that gives up is seen
                data = src.recv(65536)
                if not data:
                    break
                if self._flowing.is_set() and not held:
                    dst.sendall(data)
                    continue
                held.append(data)
                if client is not None:
                    with self._lock:
                        self._silenced.setdefault(client, time.monotonic())
        except (OSError, ValueError):
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            if client is not None:  # the client closed (or the link was cut)
                with self._lock:
                    self._conns.discard(client)
                client.close()


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
