"""The network side of ODBC connections: each one's socket, and the socket-level
timeouts each driver offers.

No ODBC call says which socket a connection uses, yet that socket is the one handle a
client has on a call stuck waiting for a silent server: shutting it down makes the
driver's read fail at once.  :func:`connect_with_socket` finds it by what changed:
the sockets this process holds are listed (``/proc/self/fd``) before and after the
connect, and the new one that talks to the connection string's port is the
connection's.  Connects to one port are made one at a time in a process, so two
connections to the same server never show up in one listing; a socket another part
of the process opens meanwhile to the same port (a state store on the same server)
makes the answer ambiguous, and the connect is made once more.  A connection with no
single candidate has no handle (None): its calls are then bounded only by the
driver's own timeouts, and the log says so once.

:func:`with_socket_timeouts` adds what each driver offers to the connection string
(unless given): MariaDB Connector/ODBC's client-side ``READ_TIMEOUT``, ``WRITE_TIMEOUT``
and ``CONN_TIMEOUT``; psqlODBC's TCP keepalives and libpq's ``tcp_user_timeout``
(``pqopt``).  libpq has no read timeout: against a path that still acknowledges
packets (a proxy whose backend hangs) only the watchdog ends a call.
"""

from __future__ import annotations

import math
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

__all__ = ["SocketHandle", "connect_with_socket", "with_socket_timeouts", "driver_family", "server_port"]

_FD_DIR = "/proc/self/fd"
_DEFAULT_PORTS = {"postgresql": 5432, "mariadb": 3306}
_KEY = re.compile(r"(?:^|;)\s*([^=;]+?)\s*=\s*(\{[^}]*\}|[^;]*)")


def _attributes(connection_string: str) -> dict[str, str]:
    """``key=value`` pairs of an ODBC connection string, keys lower-cased, braces kept."""
    return {m.group(1).lower(): m.group(2).strip() for m in _KEY.finditer(connection_string)}


def driver_family(connection_string: str, dsn_drivers: Callable[[], dict[str, str]] | None = None) -> str | None:
    """``postgresql`` (psqlODBC), ``mariadb`` (MariaDB Connector/ODBC), ``sqlite`` (a local
    file, no network) or None, from ``Driver=`` or, for a ``DSN=``, the driver it names."""
    attrs = _attributes(connection_string)
    name = attrs.get("driver", "")
    if not name and attrs.get("dsn") and dsn_drivers is not None:
        try:
            name = dsn_drivers().get(attrs["dsn"].strip("{}"), "")
        except Exception:  # noqa: BLE001 - an unreadable odbc.ini only loses the defaults
            name = ""
    name = name.lower()
    if "postgres" in name or "psqlodbc" in name:
        return "postgresql"
    if "mariadb" in name or "maodbc" in name:
        return "mariadb"
    if "sqlite" in name:
        return "sqlite"
    return None


def server_port(connection_string: str, family: str | None) -> int | None:
    """The port the connection string names (or its driver's default), if any."""
    port = _attributes(connection_string).get("port", "").strip("{}")
    if port.isdecimal():
        return int(port)
    return _DEFAULT_PORTS.get(family or "")


def with_socket_timeouts(connection_string: str, family: str | None, timeout: float, connect_timeout: float) -> str:
    """``connection_string`` plus the driver's socket-level limits it does not set itself.

    ``timeout`` bounds the wait for one answer (a query runs up to the source's timeout
    before the server cancels it, so the read limit is a second above it).
    """
    attrs = _attributes(connection_string)
    extra: list[str] = []
    if family == "mariadb":
        wait = math.ceil(timeout) + 1
        for key, value in (
            ("read_timeout", wait),
            ("write_timeout", wait),
            ("conn_timeout", max(1, math.ceil(connect_timeout))),
        ):
            if key not in attrs:
                extra.append(f"{key.upper()}={value}")
    elif family == "postgresql" and "pqopt" not in attrs:
        # unacknowledged data for longer than this ends the connection (a dead path);
        # idle connections are probed every 30 s, so a dropped one is found before use
        extra.append(
            f"pqopt={{keepalives=1 keepalives_idle=30 keepalives_interval=10 keepalives_count=3 "
            f"tcp_user_timeout={int((timeout + 1) * 1000)}}}"
        )
    if not extra:
        return connection_string
    return connection_string.rstrip().rstrip(";") + ";" + ";".join(extra)


@dataclass(frozen=True)
class SocketHandle:
    """One connection's socket: its descriptor and the inode that proves it is still the
    same socket (a closed descriptor's number is soon reused)."""

    fd: int
    inode: int

    def shutdown(self) -> None:
        """Shut the socket down both ways: a call blocked on it fails at once."""
        with _same_socket(self.fd, self.inode) as sock:
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


@contextmanager
def _same_socket(fd: int, inode: int) -> Iterator[socket.socket | None]:
    """A socket object on a duplicate of ``fd`` if it still is socket ``inode``, else None
    (a closed descriptor's number is soon reused by another file)."""
    try:
        dup = os.dup(fd)
    except OSError:
        yield None
        return
    sock = None
    try:
        if os.fstat(dup).st_ino == inode:
            sock = socket.socket(fileno=dup)
    except OSError:
        pass
    try:
        yield sock
    finally:
        if sock is not None:
            sock.close()
        else:
            os.close(dup)


def _sockets() -> dict[int, int]:
    """fd -> inode of every socket this process holds."""
    found: dict[int, int] = {}
    try:
        entries = os.listdir(_FD_DIR)
    except OSError:
        return found
    for name in entries:
        try:
            target = os.readlink(f"{_FD_DIR}/{name}")
        except OSError:
            continue
        if target.startswith("socket:["):
            found[int(name)] = int(target[8:-1])
    return found


def _peer_port(fd: int, inode: int) -> int | None:
    """The remote port of a connected TCP socket (0 for a connected Unix socket), else None."""
    with _same_socket(fd, inode) as sock:
        if sock is None or sock.type != socket.SOCK_STREAM:
            return None
        try:
            peer = sock.getpeername()
        except OSError:
            return None
        if sock.family == socket.AF_UNIX:
            return 0 if peer else None
        return peer[1]


def _the_new_socket(before: dict[int, int], port: int | None) -> SocketHandle | None | bool:
    """The one new socket to ``port`` (else the one new Unix socket); None: none at all
    (a file-based driver); False: more than one."""
    tcp, unix = [], []
    for fd, inode in _sockets().items():
        if before.get(fd) == inode:
            continue
        peer = _peer_port(fd, inode)
        if peer == 0:
            unix.append(SocketHandle(fd, inode))
        elif peer is not None and (port is None or peer == port):
            tcp.append(SocketHandle(fd, inode))
    candidates = tcp or unix
    if not candidates:
        return None
    return candidates[0] if len(candidates) == 1 else False


_LOCKS: dict[int | None, threading.Lock] = {}
_LOCKS_LOCK = threading.Lock()


def _forget_locks() -> None:
    # a lock held while the process forks would stay held for ever in the child
    global _LOCKS_LOCK
    _LOCKS.clear()
    _LOCKS_LOCK = threading.Lock()


os.register_at_fork(after_in_child=_forget_locks)


def connect_with_socket(
    connect: Callable[[], Any], port: int | None, deadline: float, close: Callable[[Any], None]
) -> tuple[Any, SocketHandle | None]:
    """``connect()`` and the socket of the connection it made (None when not found).

    Waits for other connects to ``port`` until ``deadline`` (then TimeoutError); an
    ambiguous listing is settled by connecting once more (the first connection is closed).
    """
    with _LOCKS_LOCK:
        lock = _LOCKS.setdefault(port, threading.Lock())
    if not lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
        raise TimeoutError("another connect to the same port did not end in time")
    try:
        for attempt in (1, 2):
            before = _sockets()
            conn = connect()
            try:
                found = _the_new_socket(before, port)
            except Exception:  # noqa: BLE001 - the connection works without a handle
                found = None
            if found is None or isinstance(found, SocketHandle):  # not False: ambiguous
                return conn, found
            if attempt == 1:
                close(conn)
        return conn, None
    finally:
        lock.release()
