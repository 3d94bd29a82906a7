"""The survey of one file version: its bad records and its key index, on disk.

One streaming pass over a file version records every bad record (or the first, when
the policy is ``reject``) and, when a key is given, key -> byte offset in a SQLite
file.  The file is written under a temporary name and renamed into place, so
several workers may build it at once and none reads half of one; memory stays
bounded whatever the data file's size.  A new file version gets a new survey file
(its name holds the version), and older surveys of the same path are removed.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from itertools import islice
from typing import Any

from legacy_bridge.drivers.flatfile.files import DataFile
from legacy_bridge.drivers.flatfile.formats import BadRecord

__all__ = ["Survey", "survey_file", "build", "build_keys", "load", "key_text", "Index"]

MAX_BAD_KEPT = 10_000  # listed bad records per file; the count goes on
_BATCH = 5_000
_SCHEMA = (
    "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-4096;"
    "CREATE TABLE meta (records INTEGER, bad INTEGER, complete INTEGER);"
    "CREATE TABLE bad (record INTEGER, offset INTEGER, reason TEXT, field TEXT, k TEXT);"
    "CREATE TABLE keys (k TEXT PRIMARY KEY, offset INTEGER, record INTEGER) WITHOUT ROWID;"
)


@dataclass(frozen=True)
class Survey:
    """What one pass found: ``complete`` is False when it stopped at a rejected record."""

    path: str
    records: int
    bad: int
    complete: bool
    first_bad: dict | None


def key_text(values: tuple | list) -> str:
    """One key as index text: numbers in plain decimal form, text without trailing blanks,
    so ``5``, ``Decimal('5.0')`` and ``'ABC  '`` / ``'ABC'`` find the same record."""
    parts = []
    for v in values:
        if isinstance(v, bool) or v is None:
            parts.append(repr(v))
        elif isinstance(v, (int, Decimal)):
            parts.append(format(Decimal(v).normalize(), "f"))
        elif isinstance(v, str):
            parts.append(v.rstrip())
        else:
            parts.append(repr(v))
    return "\x1f".join(parts)


def survey_file(index_dir: str, df: DataFile, layout_id: str, key: tuple[str, ...] | None) -> str:
    """Where the survey of ``df`` (for this layout and key) lives."""
    where = hashlib.blake2b(os.path.abspath(df.path).encode(), digest_size=6).hexdigest()
    what = hashlib.blake2b(repr((layout_id, key)).encode(), digest_size=6).hexdigest()
    return os.path.join(index_dir, f"{df.name}.{where}.{what}.{df.dev}-{df.ino}-{df.size}-{df.mtime_ns}.sqlite")


def bad_entry(recno: int, offset: int, bad: BadRecord) -> dict:
    return {"record": recno, "offset": offset, "reason": bad.reason, "field": bad.field}


def build(
    dest: str, records: Iterator[tuple[int, tuple | BadRecord]], key_positions: list[int] | None, reject: bool
) -> Survey:
    """Stream ``records`` (offset, row) once and write the survey to ``dest``."""
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    tmp = f"{dest}.{os.getpid()}.{threading.get_ident()}.tmp"
    conn = sqlite3.connect(tmp)
    counts = {"records": 0, "bad": 0}
    first_bad: list[dict] = []
    try:
        conn.executescript(_SCHEMA)
        complete = True

        def good() -> Iterator[tuple[str, int, int]]:
            nonlocal complete
            for recno, (offset, row) in enumerate(records, 1):
                counts["records"] = recno
                if isinstance(row, BadRecord):
                    counts["bad"] += 1
                    entry = bad_entry(recno, offset, row)
                    first_bad[:] = first_bad or [entry]
                    if counts["bad"] <= MAX_BAD_KEPT:  # with its key when it could be read
                        k = (
                            None
                            if key_positions is None or row.row is None
                            else key_text([row.row[p] for p in key_positions])
                        )
                        conn.execute("INSERT INTO bad VALUES (?, ?, ?, ?, ?)", (*entry.values(), k))
                    if reject or row.fatal:
                        complete = not reject
                        return
                elif key_positions is not None:
                    yield key_text([row[p] for p in key_positions]), offset, recno

        rows = good()
        while batch := list(islice(rows, _BATCH)):
            # the first record with a key wins, as a get by key reads it
            conn.executemany("INSERT OR IGNORE INTO keys VALUES (?, ?, ?)", batch)
        conn.execute("INSERT INTO meta VALUES (?, ?, ?)", (counts["records"], counts["bad"], int(complete)))
        conn.commit()
    except BaseException:
        conn.close()
        os.unlink(tmp)  # a build cut short (a lost lease, a read error) leaves nothing behind
        raise
    finally:
        conn.close()
    os.replace(tmp, dest)
    _remove_older(dest)
    return Survey(dest, counts["records"], counts["bad"], complete, first_bad[0] if first_bad else None)


def build_keys(dest: str, batches: Iterator[list[tuple[str, int, int]]]) -> Survey:
    """Write the key index of ``batches`` of (key text, offset, record number), found by a
    reader of the key alone (records whose key cannot be read are left out: the bad-records
    survey lists them); its ``records`` is the last record number seen."""
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    tmp = f"{dest}.{os.getpid()}.{threading.get_ident()}.tmp"
    conn = sqlite3.connect(tmp)
    records = 0
    try:
        conn.executescript(_SCHEMA)
        for batch in batches:
            conn.executemany("INSERT OR IGNORE INTO keys VALUES (?, ?, ?)", batch)
            records = batch[-1][2] if batch else records
        conn.execute("INSERT INTO meta VALUES (?, 0, 1)", (records,))
        conn.commit()
    except BaseException:
        conn.close()
        os.unlink(tmp)
        raise
    finally:
        conn.close()
    os.replace(tmp, dest)
    _remove_older(dest)
    return Survey(dest, records, 0, True, None)


def _remove_older(dest: str) -> None:
    """Surveys of earlier versions of the same file, same layout and key."""
    folder, name = os.path.split(dest)
    prefix = name.rsplit(".", 2)[0] + "."
    for other in os.listdir(folder):
        if other.startswith(prefix) and other != name and other.endswith(".sqlite"):
            try:
                os.unlink(os.path.join(folder, other))
            except OSError:
                pass


def load(dest: str) -> Survey | None:
    """A survey built earlier (by this process or another), or None."""
    if not os.path.exists(dest):
        return None
    try:
        conn = sqlite3.connect(f"file:{dest}?mode=ro", uri=True)
        try:
            meta = conn.execute("SELECT records, bad, complete FROM meta").fetchone()
            first = conn.execute("SELECT record, offset, reason, field FROM bad ORDER BY record LIMIT 1").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    if meta is None:
        return None
    first_bad = dict(zip(("record", "offset", "reason", "field"), first)) if first else None
    return Survey(dest, meta[0], meta[1], bool(meta[2]), first_bad)


class Index:
    """Read access to surveys, with one connection per survey file kept open."""

    def __init__(self) -> None:
        self._conns: dict[str, sqlite3.Connection] = {}
        self._lock = threading.Lock()

    def _query(self, dest: str, sql: str, params: tuple) -> list[tuple]:
        with self._lock:
            conn = self._conns.get(dest)
            if conn is None:
                conn = sqlite3.connect(f"file:{dest}?mode=ro", uri=True, check_same_thread=False)
                self._conns[dest] = conn
            return conn.execute(sql, params).fetchall()

    def lookup(self, survey: Survey, key: tuple | list) -> tuple[int, int] | None:
        """(byte offset, record number) of the first record with ``key``."""
        found = self._query(survey.path, "SELECT offset, record FROM keys WHERE k = ?", (key_text(key),))
        return found[0] if found else None

    def quarantined(self, survey: Survey, key: tuple | list) -> dict[str, Any] | None:
        """The first bad record whose key could be read as ``key`` (record, offset, reason, field)."""
        try:
            found = self._query(
                survey.path,
                "SELECT record, offset, reason, field FROM bad WHERE k = ? ORDER BY record LIMIT 1",
                (key_text(key),),
            )
        except sqlite3.OperationalError:  # a survey written before bad records kept their key
            return None
        return dict(zip(("record", "offset", "reason", "field"), found[0])) if found else None

    def bad_records(self, survey: Survey, limit: int) -> list[dict[str, Any]]:
        rows = self._query(
            survey.path, "SELECT record, offset, reason, field FROM bad ORDER BY record LIMIT ?", (limit,)
        )
        return [dict(zip(("record", "offset", "reason", "field"), r)) for r in rows]

    def forget(self, keep: set[str]) -> None:
        """Close connections to surveys of versions no longer served."""
        with self._lock:
            for dest in [d for d in self._conns if d not in keep]:
                self._conns.pop(dest).close()

    def close(self) -> None:
        self.forget(set())
