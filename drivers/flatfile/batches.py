"""Batches of outbound records: a hidden ``.part`` file in the drop folder, renamed to its
final name when the batch closes (by record count, by age, or when asked), shared by every
process of the service.

Files in the folder, for a resource ``r``:

- ``.r.part``: the open batch; records are appended whole (one ``write`` of whole records).
- ``.r.lock``: taken with ``fcntl.flock`` around every append, close and recovery, so the
  writers of several processes (gunicorn workers) queue and never interleave. It is never
  renamed or removed: a lock on the ``.part`` itself would be lost when the file is renamed.
- ``.r.state``: JSON ``{opened, count, end, total, seq}``, replaced atomically after each append:
  ``end`` is the byte length of the records acknowledged so far.

Crash rule: bytes of the ``.part`` past ``end`` belong to an append whose writer died before
it answered (its client got no 2xx): whoever takes the lock next cuts the file back to ``end``.
At start (:meth:`Batches.recover`, once per service start) a ``.part`` left over is cut back
the same way, then closed with its trailer if it holds a record, or removed if it holds none.
A ``.part`` without a readable ``.state`` (someone removed it) is set aside as
``.r.part.orphaned-<time>``: never delivered, never deleted.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from legacy_bridge.drivers.flatfile.delivery import rename_durably
from legacy_bridge.drivers.flatfile.outbound import RecordEncoder, Unfit, render

__all__ = ["Batches", "DropRules", "Closed"]

log = logging.getLogger("legacy_bridge")


@dataclass(frozen=True)
class DropRules:
    """Where and when batches close: ``name`` is a template of ``timestamp`` (the close time,
    UTC) and ``seq`` (1, 2, ... per resource), e.g. ``INV.{timestamp:%Y%m%d%H%M%S}.{seq:06d}.bin``."""

    folder: str
    name: str
    records: int | None = None  # close when the batch holds this many
    seconds: float | None = None  # close this long after the batch opened
    header: str | None = None
    trailer: str | None = None
    total: str | None = None  # the legacy column whose values the control total sums


@dataclass(frozen=True)
class Closed:
    """A batch delivered: its file name and how many records it holds."""

    name: str
    records: int


_EMPTY = {"opened": None, "count": 0, "end": 0, "total": "0"}


class Batches:
    """The batches of one resource's drops."""

    def __init__(
        self, resource: str, rules: DropRules, encoder: RecordEncoder, clock: Callable[[], float] = time.time
    ) -> None:
        self.rules, self.encoder, self.clock = rules, encoder, clock
        base = os.path.join(rules.folder, f".{resource}")
        self.part, self.lock_path, self.state_path = base + ".part", base + ".lock", base + ".state"
        self._timer_pid: int | None = None

    # -- state and lock ----------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield self._consistent()
        finally:
            os.close(fd)  # releases the lock

    def _read_state(self) -> dict[str, Any] | None:
        try:
            with open(self.state_path, encoding="utf-8") as f:
                state = json.load(f)
            return state if isinstance(state, dict) and isinstance(state.get("end"), int) else None
        except (OSError, ValueError):
            return None

    def _write_state(self, state: dict[str, Any]) -> None:
        tmp = self.state_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(state, f)
        os.replace(tmp, self.state_path)

    def _consistent(self) -> dict[str, Any]:
        """The state, with the ``.part`` cut back to the records acknowledged (the crash rule)."""
        state = self._read_state()
        seq = state.get("seq", 0) if state else 0
        try:
            size = os.path.getsize(self.part)
        except FileNotFoundError:
            return {**_EMPTY, "seq": seq}  # no open batch (a close that died after its rename included)
        if state is None or state.get("opened") is None or size < state["end"]:
            aside = f"{self.part}.orphaned-{int(self.clock())}"
            os.rename(self.part, aside)
            log.error("drop %s: %s has no record of what it holds: set aside as %s", self.part, self.part, aside)
            return {**_EMPTY, "seq": seq}
        if size > state["end"]:
            with open(self.part, "r+b") as f:
                f.truncate(state["end"])
            log.warning("drop %s: cut back %d bytes of an append that did not finish", self.part, size - state["end"])
        return state

    # -- appends and closes --------------------------------------------------------------

    def _open(self, state: dict[str, Any]) -> dict[str, Any]:
        head = self.encoder.file_header + self._text(self.rules.header, state)
        state = {**state, "opened": self.clock(), "count": 0, "end": len(head), "total": "0"}
        self._write_state(state)  # first: a .part never exists without its state
        fd = os.open(self.part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, head)
        finally:
            os.close(fd)
        return state

    def _text(self, template: str | None, state: dict[str, Any]) -> bytes:
        if template is None:
            return b""
        now = dt.datetime.fromtimestamp(self.clock(), dt.UTC).replace(tzinfo=None)
        values = {
            "count": state["count"],
            "total": Decimal(state["total"]),
            "timestamp": now,
            "seq": state.get("seq", 0) + 1,
        }
        return self.encoder.text_record(render(template, values))

    def _expired(self, state: dict[str, Any]) -> bool:
        seconds = self.rules.seconds
        return seconds is not None and state["opened"] is not None and self.clock() - state["opened"] >= seconds

    def append(self, records: list[bytes], totals: list[Decimal] | None = None) -> list[Closed]:
        """Write whole records into the open batch (opening one, closing full or old ones on
        the way); the batches closed meanwhile."""
        closed: list[Closed] = []
        with self._locked() as state:
            if state["count"] and self._expired(state):
                state = self._close_or_keep(state, closed)
            i = 0
            while i < len(records):
                if state["opened"] is None:
                    state = self._open(state)
                room = len(records) - i if self.rules.records is None else self.rules.records - state["count"]
                chunk = records[i : i + room] if room > 0 else records[i:]  # (a batch kept open past its size)
                data = b"".join(chunk)
                self._write(data)
                total = Decimal(state["total"]) + sum(totals[i : i + len(chunk)], Decimal(0)) if totals else 0
                state = {**state, "count": state["count"] + len(chunk), "end": state["end"] + len(data)}
                state["total"] = str(total)
                self._write_state(state)
                i += len(chunk)
                if self.rules.records is not None and state["count"] >= self.rules.records:
                    state = self._close_or_keep(state, closed)
        self.start_timer()
        return closed

    def _write(self, data: bytes) -> None:
        """Append ``data`` (whole records) to the ``.part``; a writer dying inside leaves bytes
        past ``end`` that the next lock holder cuts back."""
        fd = os.open(self.part, os.O_WRONLY | os.O_APPEND)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)

    def close(self) -> Closed | None:
        """Close the open batch now (``POST .../close``); None when it holds no record.
        Raises :class:`Unfit` when its header or trailer cannot hold its values."""
        closed: list[Closed] = []
        with self._locked() as state:
            self._close(state, closed)
        return closed[0] if closed else None

    def tick(self) -> Closed | None:
        """Close the open batch if it is older than ``seconds`` (what the timer calls)."""
        state = self._read_state()
        if state is None or not state.get("count") or not self._expired(state):
            return None  # the cheap check first: no lock while nothing is due
        closed: list[Closed] = []
        with self._locked() as state:
            if state["count"] and self._expired(state):
                self._close_or_keep(state, closed)
        return closed[0] if closed else None

    def recover(self) -> Closed | None:
        """At start: a batch left by the last run is cut back to its acknowledged records and
        closed (or removed when it holds none)."""
        return self.close()

    def _close_or_keep(self, state: dict[str, Any], closed: list[Closed]) -> dict[str, Any]:
        """Close by size or age; a header or trailer that cannot hold the batch's values keeps
        it open (its records are acknowledged all the same) until ``close`` says why."""
        try:
            return self._close(state, closed)
        except Unfit as exc:
            log.error("drop %s: the batch stays open: %s", self.part, exc)
            return state

    def _close(self, state: dict[str, Any], closed: list[Closed]) -> dict[str, Any]:
        if state["opened"] is None:
            return state
        seq = state.get("seq", 0)
        if not state["count"]:
            os.unlink(self.part)
        else:
            seq = self._deliver(state, closed)
        state = {**_EMPTY, "seq": seq}
        self._write_state(state)
        return state

    def _deliver(self, state: dict[str, Any], closed: list[Closed]) -> int:
        """Header and trailer with the batch's values, fsync, rename; the sequence number used."""
        seq = state.get("seq", 0) + 1
        while True:  # never over an existing file: every writer of these names holds our lock
            when = dt.datetime.fromtimestamp(self.clock(), dt.UTC).replace(tzinfo=None)
            name = self.rules.name.format(timestamp=when, seq=seq)
            if not os.path.exists(os.path.join(self.rules.folder, name)):
                break
            seq += 1
        final = {**state, "seq": seq - 1}  # what {seq} of the header and trailer say: this file's
        with open(self.part, "r+b") as f:
            if self.rules.header is not None:  # now with the batch's count and total
                head = self._text(self.rules.header, final)
                f.seek(len(self.encoder.file_header))
                if not self.encoder.fixed_records and len(f.readline()) != len(head):
                    # a line is rewritten in place: one of another length would break the next
                    raise Unfit(None, "the header line would change length: give its values fixed widths ({count:09d})")
                f.seek(len(self.encoder.file_header))
                f.write(head)
            f.seek(state["end"])
            f.write(self._text(self.rules.trailer, final))
            f.truncate()
            f.flush()
            os.fsync(f.fileno())
        rename_durably(self.part, os.path.join(self.rules.folder, name))
        closed.append(Closed(name, state["count"]))
        return seq

    # -- the timer ---------------------------------------------------------------------

    def start_timer(self) -> None:
        """One thread per process closes old batches (threads do not survive a fork: each
        gunicorn worker starts its own at its start, any process at its first append)."""
        if self.rules.seconds is None or self._timer_pid == os.getpid():
            return
        self._timer_pid = os.getpid()
        every = min(1.0, self.rules.seconds / 4)

        def run() -> None:
            while True:
                time.sleep(every)
                try:
                    self.tick()
                except OSError as exc:
                    log.error("drop %s: the batch could not be closed: %s", self.part, exc)

        threading.Thread(target=run, name=f"drop-timer{self.part}", daemon=True).start()
