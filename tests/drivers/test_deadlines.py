"""Client-side deadlines (drivers/deadlines.py) and the sockets of ODBC connections
(drivers/odbc_sockets.py): real sockets and threads, no mocks."""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest

from legacy_bridge.drivers import deadlines
from legacy_bridge.drivers.odbc.sockets import (
    SocketHandle,
    connect_with_socket,
    driver_family,
    server_port,
    with_socket_timeouts,
)


def _handle(sock: socket.socket) -> SocketHandle:
    return SocketHandle(sock.fileno(), os.fstat(sock.fileno()).st_ino)


def test_the_watchdog_unblocks_a_read_still_waiting_at_its_deadline():
    ours, silent = socket.socketpair()
    try:
        watch = deadlines.WATCHDOG.arm(time.monotonic() + 0.3, _handle(ours).shutdown)
        started = time.monotonic()
        assert ours.recv(10) == b""  # would wait for ever: the peer never writes
        took = time.monotonic() - started
        assert deadlines.WATCHDOG.disarm(watch) is True
        assert 0.2 < took < 2.0
    finally:
        ours.close()
        silent.close()


def test_a_call_that_ends_in_time_is_left_alone():
    ours, peer = socket.socketpair()
    try:
        with deadlines.WATCHDOG.watching(time.monotonic() + 0.2, _handle(ours).shutdown) as watch:
            peer.sendall(b"answer")
            assert ours.recv(10) == b"answer"
        time.sleep(0.4)  # past the deadline: nothing happens any more
        assert watch.fired is False
        peer.sendall(b"again")
        assert ours.recv(10) == b"again"
    finally:
        ours.close()
        peer.close()


def test_a_handle_never_shuts_down_the_socket_that_reused_its_descriptor():
    first, first_peer = socket.socketpair()
    stale = _handle(first)
    first.close()
    first_peer.close()
    second, second_peer = socket.socketpair()  # likely the same descriptor numbers
    try:
        stale.shutdown()
        second_peer.sendall(b"still fine")
        assert second.recv(20) == b"still fine"
    finally:
        second.close()
        second_peer.close()


def test_budgets_nest_and_the_sooner_deadline_wins():
    assert deadlines.remaining(7.0) == pytest.approx(7.0, abs=0.05)  # outside a call: the default
    with deadlines.budget(0.5):
        with deadlines.budget(60):
            assert deadlines.remaining(60) <= 0.5
        with deadlines.budget(0.1):
            assert deadlines.remaining(60) <= 0.1
    assert deadlines.remaining(7.0) == pytest.approx(7.0, abs=0.05)


def test_run_bounded_gives_up_at_the_deadline_keeps_the_callers_place_and_disposes_the_late_result():
    release, kept, released, disposed = threading.Event(), [], threading.Event(), []

    def keep():
        kept.append(1)
        return released.set

    def slow():
        release.wait(5)
        return "late connection"

    started = time.monotonic()
    with deadlines.budget(10, keep):
        with pytest.raises(deadlines.Abandoned):
            deadlines.run_bounded(slow, time.monotonic() + 0.2, disposed.append)
    assert time.monotonic() - started < 2
    assert kept == [1] and not released.is_set()  # the abandoned call still holds its place
    release.set()
    assert released.wait(5)
    assert disposed == ["late connection"]  # closed, never handed to anyone


def test_run_bounded_returns_or_raises_what_the_call_does_in_time():
    assert deadlines.run_bounded(lambda: 42, time.monotonic() + 5, lambda _: None) == 42
    with pytest.raises(ZeroDivisionError):
        deadlines.run_bounded(lambda: 1 / 0, time.monotonic() + 5, lambda _: None)


@pytest.mark.parametrize(
    "connection, family, port",
    [
        ("Driver={PostgreSQL Unicode};Server=db;Port=6432;Database=x", "postgresql", 6432),
        ("DRIVER={MariaDB Unicode};SERVER=db;DATABASE=x", "mariadb", 3306),
        ("Driver={SQLite3};Database=/tmp/x.db", "sqlite", None),
        ("Driver={IBM DB2 ODBC DRIVER};Hostname=db;Port=50000", None, 50000),
        ("DSN=crm", "postgresql", 5432),
    ],
)
def test_the_driver_family_and_port_come_from_the_connection_string_or_the_dsn(connection, family, port):
    assert driver_family(connection, lambda: {"crm": "PostgreSQL Unicode"}) == family
    assert server_port(connection, family) == port


def test_socket_level_timeouts_are_added_per_driver_unless_given():
    maria = with_socket_timeouts("Driver={MariaDB Unicode};Server=db;READ_TIMEOUT=9;", "mariadb", 2.0, 3.0)
    assert maria.endswith(";WRITE_TIMEOUT=3;CONN_TIMEOUT=3") and maria.count("READ_TIMEOUT") == 1
    pg = with_socket_timeouts("Driver={PostgreSQL Unicode};Server=db", "postgresql", 2.0, 3.0)
    assert "pqopt={keepalives=1 " in pg and "tcp_user_timeout=3000}" in pg
    given = "Driver={PostgreSQL Unicode};pqopt={sslmode=require}"
    assert with_socket_timeouts(given, "postgresql", 2.0, 3.0) == given
    assert with_socket_timeouts("Driver={SQLite3};Database=x", "sqlite", 2.0, 3.0) == "Driver={SQLite3};Database=x"


def test_the_socket_of_a_new_connection_is_the_one_to_its_port():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(4)
        port = server.getsockname()[1]
        conn, handle = connect_with_socket(
            lambda: socket.create_connection(("127.0.0.1", port)), port, time.monotonic() + 5, socket.socket.close
        )
        accepted, _ = server.accept()
        try:
            assert handle == _handle(conn)
            handle.shutdown()
            assert accepted.recv(10) == b""  # the peer sees the connection end
        finally:
            conn.close()
            accepted.close()


def test_two_new_sockets_to_the_port_are_ambiguous_and_leave_no_handle():
    opened = []

    def connect_twice():
        opened.extend(socket.create_connection(("127.0.0.1", port)) for _ in range(2))
        return opened[-1]

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        port = server.getsockname()[1]
        try:
            _, handle = connect_with_socket(connect_twice, port, time.monotonic() + 5, lambda _: None)
            assert handle is None and len(opened) == 4  # tried once more, ambiguous again
        finally:
            for sock in opened:
                sock.close()
