"""Change detection: legacy rows -> created/updated/deleted events in the state store.

Two ways, both read-only on the legacy database (no triggers):

- **snapshot** (tables without an update timestamp): a scan streams the table in key
  order and merge-compares it with the stored snapshot (one blake2b hash of the canonical
  JSON per key), read back from the state store in the same order: ``key_sort`` is an
  order-preserving byte encoding of the key.  Memory stays bounded (batches on both
  sides); events and snapshot changes of a batch commit together, so a scan that dies
  half-way loses nothing and the next one emits nothing twice.  If the source orders the
  keys differently from that encoding (a case-insensitive collation on a text key), the
  scan stops with :class:`KeyOrderError` rather than report false deletions.
- **watermark** (the resource declares ``watermark:``): rows whose watermark is above the
  last one seen are read; a keyed lookup in the snapshot says created or updated (and
  drops a row whose content did not change).  Deletions cannot be seen this way.

The first scan of a resource is a baseline: it fills the snapshot and emits nothing.
Only one scan of a resource runs at a time anywhere: a lease on its ``lb_scan_state`` row.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson
from sqlalchemy import and_, bindparam, delete, insert, select, update

from legacy_bridge.config.checker import parse_duration
from legacy_bridge.errors import ScanLost
from legacy_bridge.events.change_keys import KeyOrderError, encode_key, key_encoder, row_hash
from legacy_bridge.events.state import NewEvent, StateStore, scan_state, snapshots, utcnow
from legacy_bridge.formats.jsonio import json_default
from legacy_bridge.query.cursors import tag_value, untag_value
from legacy_bridge.query.model import ListQuery

log = logging.getLogger("legacy_bridge.changes")

BATCH = 5000  # rows per state-store read and per committed write batch
LEASE = 300.0  # seconds a scan owns a resource without renewing its lease


def check_options(
    node: Any, fields: dict[str, Any], watermark: tuple, sortable: bool
) -> tuple[dict | None, list[tuple[str, str]]]:
    """A resource's ``changes:`` (``{mode: snapshot|watermark, every: 30s, scan_on_request: true}``)
    with defaults, and its problems as (key, message)."""
    if node is None:
        return None, []
    if node is True:
        node = {}
    if not isinstance(node, dict):
        return None, [("", "expected a mapping such as {mode: snapshot, every: 30s}")]
    problems = [
        (k, "unknown key; known: batch, every, mode, scan_on_request")
        for k in node
        if k not in ("mode", "every", "scan_on_request", "batch")
    ]
    options = {
        "mode": "watermark" if watermark else "snapshot",
        "every": 30.0,
        "scan_on_request": True,
        "batch": BATCH,
        **node,
    }
    if options["mode"] not in ("snapshot", "watermark"):
        problems.append(("mode", f"expected snapshot or watermark, got {options['mode']!r}"))
    elif options["mode"] == "watermark" and not watermark:
        problems.append(("mode", "watermark mode needs the resource's watermark: field"))
    if not sortable:
        problems.append(("", "change detection reads the source in key order: needs a source that can sort"))
    try:
        options["every"] = parse_duration(options["every"])
    except ValueError:
        problems.append(("every", f"expected a duration such as 30s, got {options['every']!r}"))
    if not isinstance(options["scan_on_request"], bool):
        problems.append(("scan_on_request", "expected true or false"))
    if isinstance(options["batch"], bool) or not isinstance(options["batch"], int) or options["batch"] < 1:
        problems.append(("batch", "expected an integer >= 1"))
    return options, problems


# -- scans -------------------------------------------------------------------------


@dataclass
class ScanResult:
    resource: str
    mode: str
    baseline: bool = False
    skipped: bool = False  # another scan held the lease
    rows: int = 0
    created: int = 0
    updated: int = 0
    deleted: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Batch:
    """Snapshot changes and events waiting to be committed together."""

    inserts: list[dict] = field(default_factory=list)
    updates: list[dict] = field(default_factory=list)
    deletes: list[bytes] = field(default_factory=list)
    events: list[NewEvent] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.inserts) + len(self.updates) + len(self.deletes)


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Scanner:
    """Runs the scans of one resource (with ``changes:``) against one state store."""

    def __init__(self, store: StateStore, resource: Any, options: dict[str, Any] | None = None) -> None:
        self.store = store
        self.resource = resource
        self.name = resource.name
        options = options or resource.spec.changes or {}
        self.mode = options.get("mode") or ("watermark" if resource.spec.watermark else "snapshot")
        self.every = float(options.get("every", 30.0))
        self.batch = int(options.get("batch", BATCH))
        self.lease = LEASE

    # -- lease ----------------------------------------------------------------------

    def state(self) -> dict[str, Any] | None:
        with self.store.connect() as conn:
            row = conn.execute(select(scan_state).where(scan_state.c.resource == self.name)).first()
        return None if row is None else row._asdict()

    def due(self) -> bool:
        """Whether the last scan is older than ``every`` (or there was none)."""
        state = self.state()
        last = state["last_scan_at"] if state else None
        return last is None or (utcnow() - last).total_seconds() >= self.every

    def _acquire(self, owner: str) -> dict[str, Any] | None:
        """Take the lease; the scan state, or None if another scan holds it."""
        now = time.time()
        with self.store.begin() as conn:
            self.store.lock(conn, f"legacy-bridge.scan.{self.name}")
            row = conn.execute(select(scan_state).where(scan_state.c.resource == self.name)).first()
            if row is None:
                conn.execute(
                    insert(scan_state).values(
                        resource=self.name, mode=self.mode, lock_owner=owner, lock_until=now + self.lease
                    )
                )
                return {"baseline_at": None, "watermark": None, "mode": self.mode}
            if row.lock_owner and row.lock_until and row.lock_until > now:
                return None
            conn.execute(
                update(scan_state)
                .where(scan_state.c.resource == self.name)
                .values(lock_owner=owner, lock_until=now + self.lease)
            )
            return row._asdict()

    def _renew(self, conn: Any, owner: str) -> None:
        done = conn.execute(
            update(scan_state)
            .where(and_(scan_state.c.resource == self.name, scan_state.c.lock_owner == owner))
            .values(lock_until=time.time() + self.lease)
        )
        if done.rowcount != 1:
            raise ScanLost(f"another scan of {self.name!r} took over", resource=self.name)

    def _release(self, owner: str, values: dict[str, Any]) -> None:
        with self.store.begin() as conn:
            conn.execute(
                update(scan_state)
                .where(and_(scan_state.c.resource == self.name, scan_state.c.lock_owner == owner))
                .values(lock_owner=None, lock_until=None, **values)
            )

    # -- the scan -------------------------------------------------------------------

    def scan(self) -> ScanResult:
        """One scan now, unless another one runs; its counts."""
        result = ScanResult(self.name, self.mode)
        owner = _owner()
        state = self._acquire(owner)
        if state is None:
            result.skipped = True
            return result
        started = time.monotonic()
        result.baseline = state["baseline_at"] is None or state["mode"] != self.mode
        done: dict[str, Any] = {}
        try:
            if self.mode == "watermark":
                done["watermark"] = self._pull(owner, state, result)
            else:
                self._diff(owner, result)
        except BaseException:
            self._release(owner, {})
            raise
        result.seconds = round(time.monotonic() - started, 3)
        now = utcnow()
        done.update(mode=self.mode, last_scan_at=now, last_summary=orjson.dumps(result.as_dict()).decode())
        if result.baseline:
            done["baseline_at"] = now
        self._release(owner, done)
        log.info("scan of %s: %s", self.name, result.as_dict())
        return result

    def _records(self, until: tuple | None = None, since: tuple | None = None) -> Iterator[dict[str, Any]]:
        """Every record, or those whose watermark is above ``since`` up to ``until`` (legacy values)."""
        query = ListQuery(
            fields=list(self.resource.mapping.fields), since=None if since is None else self.resource.since(since)
        )
        return self.resource.stream(query, until)

    def _key(self, record: dict[str, Any]) -> tuple[bytes, dict[str, Any]]:
        key = {k: record[k] for k in self.resource.key}
        return encode_key(tuple(key.values())), key

    def _snapshot(self) -> Iterator[Any]:
        """The stored snapshot in key_sort order, read in batches (keyset): rows of
        (key_sort, row_hash, key_json).  Plain DB-API tuples: a million Row objects
        would cost a tenth of a plain fetch of the legacy table."""
        cols = (snapshots.c.key_sort, snapshots.c.row_hash, snapshots.c.key_json)
        query = (
            select(*cols)
            .where(and_(snapshots.c.resource == self.name, snapshots.c.key_sort > bindparam("after")))
            .order_by(snapshots.c.key_sort)
            .limit(self.batch)
        )
        after = b""
        while True:
            with self.store.connect() as conn:
                compiled = query.compile(conn)
                named = compiled.construct_params({"after": after})
                params: Any = (
                    tuple(named[name] for name in compiled.positiontup or ()) if compiled.positional else named
                )
                dbapi = conn.connection.dbapi_connection
                assert dbapi is not None  # an open Connection holds its DBAPI connection
                cursor = dbapi.cursor()
                try:
                    cursor.execute(str(compiled), params)
                    rows = cursor.fetchall()
                finally:
                    cursor.close()
            yield from rows
            if len(rows) < self.batch:
                return
            after = rows[-1][0]

    def _diff(self, owner: str, result: ScanResult) -> None:
        emit, name, batch = not result.baseline, self.name, self.batch
        pending = _Batch()
        old = self._snapshot()
        current = next(old, None)
        previous = b""
        encode, digest_of = key_encoder(self.resource.key), row_hash
        rows = dirty = 0
        for record in self._records():  # the hot loop: one pass, locals only
            sort = encode(record)
            if sort <= previous:
                raise KeyOrderError(
                    f"{name!r}: the source returned key {self._key(record)[1]} out of order "
                    "(a collation that is not binary?); snapshot diffs need a binary key order",
                    resource=name,
                )
            previous = sort
            digest = digest_of(record)
            rows += 1
            while current is not None and current[0] < sort:
                self._deleted(pending, current, result, emit)
                current = next(old, None)
                dirty += 1
                if dirty >= batch:
                    pending, dirty = self._flush(owner, pending), 0
            if current is not None and current[0] == sort:
                current_hash = current[1]
                current = next(old, None)
                if current_hash == digest:
                    continue
                pending.updates.append({"k": sort, "h": digest})
                result.updated += 1
                if emit:
                    pending.events.append(NewEvent(name, "updated", self._key(record)[1], record))
            else:
                key = self._key(record)[1]
                pending.inserts.append(
                    {
                        "resource": name,
                        "key_sort": sort,
                        "row_hash": digest,
                        "key_json": orjson.dumps(key, default=json_default).decode(),
                    }
                )
                result.created += 1
                if emit:
                    pending.events.append(NewEvent(name, "created", key, record))
            dirty += 1
            if dirty >= batch:
                pending, dirty = self._flush(owner, pending), 0
        while current is not None:
            self._deleted(pending, current, result, emit)
            current = next(old, None)
            dirty += 1
            if dirty >= batch:
                pending, dirty = self._flush(owner, pending), 0
        self._flush(owner, pending)
        result.rows = rows

    def _deleted(self, pending: _Batch, row: tuple[bytes, bytes, str], result: ScanResult, emit: bool) -> None:
        pending.deletes.append(row[0])
        result.deleted += 1
        if emit:
            pending.events.append(NewEvent(self.name, "deleted", orjson.loads(row[2]), None))

    def _flush(self, owner: str, pending: _Batch) -> _Batch:
        """Commit a batch: snapshot changes, events and the renewed lease together."""
        with self.store.begin() as conn:
            self._renew(conn, owner)
            where = and_(snapshots.c.resource == self.name, snapshots.c.key_sort == bindparam("k"))
            if pending.deletes:
                conn.execute(delete(snapshots).where(where), [{"k": k} for k in pending.deletes])
            if pending.updates:
                conn.execute(update(snapshots).where(where).values(row_hash=bindparam("h")), pending.updates)
            if pending.inserts:
                conn.execute(insert(snapshots), pending.inserts)
            self.store.append_events(conn, pending.events)
        return _Batch()

    def _pull(self, owner: str, state: dict[str, Any], result: ScanResult) -> str | None:
        """Watermark mode: rows above the last watermark; the new watermark (stored form)."""
        since = (
            None
            if result.baseline or not state["watermark"]
            else tuple(untag_value(v) for v in orjson.loads(state["watermark"]))
        )
        high = self.resource.high_watermark(ListQuery(fields=[]))
        if high is None or (since is not None and high <= since):
            return state["watermark"]
        batch: list[tuple[bytes, dict, dict]] = []
        records = self._records(high, since) if since else self._records()
        for record in records:
            sort, key = self._key(record)
            batch.append((sort, key, record))
            result.rows += 1
            if len(batch) >= self.batch:
                self._flush(owner, self._classify(batch, result))
                batch = []
        self._flush(owner, self._classify(batch, result))
        return orjson.dumps([tag_value(v) for v in high]).decode()

    def _classify(self, batch: list[tuple[bytes, dict, dict]], result: ScanResult) -> _Batch:
        """Keyed lookup of a batch in the snapshot: created, updated or unchanged."""
        pending = _Batch()
        if not batch:
            return pending
        with self.store.connect() as conn:
            known = dict(
                conn.execute(
                    select(snapshots.c.key_sort, snapshots.c.row_hash).where(
                        and_(snapshots.c.resource == self.name, snapshots.c.key_sort.in_([b[0] for b in batch]))
                    )
                ).all()
            )
        emit = not result.baseline
        for sort, key, record in batch:
            digest = row_hash(record)
            old = known.get(sort)
            if old is None:
                pending.inserts.append(
                    {
                        "resource": self.name,
                        "key_sort": sort,
                        "row_hash": digest,
                        "key_json": orjson.dumps(key, default=json_default).decode(),
                    }
                )
                result.created += 1
                kind = "created"
            elif bytes(old) != digest:
                pending.updates.append({"k": sort, "h": digest})
                result.updated += 1
                kind = "updated"
            else:
                continue
            known[sort] = digest
            if emit:
                pending.events.append(NewEvent(self.name, kind, key, record))
        return pending
