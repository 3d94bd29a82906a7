"""Streams of one process take turns at fetching (pyodbc lets go of the GIL around every row,
and two threads fetching at once hand it back and forth at each): two exports on a real SQLite
file never fetch at the same moment and both get every row; a turn held by a silent stream is
given up after a batch's deadline instead of stalling the others."""

from __future__ import annotations

import sqlite3
import threading
import time
from contextlib import contextmanager

from legacy_bridge.drivers import deadlines
from legacy_bridge.drivers.odbc import turns
from legacy_bridge.drivers.odbc.driver import OdbcDriver
from legacy_bridge.drivers.odbc.pool import OdbcPool
from legacy_bridge.query.legacy import Query, SortKey

ROWS = 20_000


def test_two_streams_in_one_process_fetch_in_turns_and_get_every_row(tmp_path, mocker):
    path = tmp_path / "legacy.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE PARTS (PART_NO INTEGER PRIMARY KEY, PART_NM CHAR(20))")
        conn.executemany("INSERT INTO PARTS VALUES (?, ?)", ((n, f"PART {n}") for n in range(1, ROWS + 1)))
    driver = OdbcDriver("legacy", {"connection": f"Driver={{SQLite3}};Database={path};StepAPI=1"})
    inside, most, lock = [0], [0], threading.Lock()
    watched = OdbcPool.watched

    @contextmanager
    def counted(pool, conn):  # the stream's fetch, as the pool's deadline watch wraps it
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        try:
            with watched(pool, conn):
                time.sleep(0)  # let the other stream run here, if it could
                yield
        finally:
            with lock:
                inside[0] -= 1

    mocker.patch.object(OdbcPool, "watched", counted)
    got: dict[str, list] = {}

    def export(name: str) -> None:
        query = Query(columns=["PART_NO", "PART_NM"], order=[SortKey("PART_NO", nullable=False)])
        got[name] = [row[0] for row in driver.fetch({"table": "PARTS"}, query, batch=500)]

    threads = [threading.Thread(target=export, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert got["a"] == got["b"] == list(range(1, ROWS + 1))
    assert most[0] == 1, "two streams fetched at the same moment"


def test_a_turn_held_by_a_silent_stream_is_given_up_after_a_batch_deadline():
    assert turns.FETCHING.acquire(timeout=5)  # a stream whose source went silent holds it
    try:
        began = time.monotonic()
        with turns.turn(0.2):
            waited = time.monotonic() - began
        assert waited >= 0.2 + deadlines.GRACE - 0.01
        assert turns.FETCHING.locked()  # still the silent stream's: not released by the waiter
    finally:
        turns.FETCHING.release()
    with turns.turn(0.2):  # free again: taken at once
        assert turns.FETCHING.locked()
    assert not turns.FETCHING.locked()
