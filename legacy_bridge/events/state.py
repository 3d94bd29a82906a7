"""The state store: shared state of every worker and host, in SQL through SQLAlchemy Core.

SQLite file by default, PostgreSQL (``postgresql+psycopg://...`` or psycopg2) when several
hosts serve one deployment.  The URL comes from ``$LEGACY_BRIDGE_STATE``, then
``service.state``; without either, a file ``legacy-bridge-state.db`` beside the config
file (an in-memory store when the config came from code).  The schema is created and
migrated when the store is first used (``migrate()`` at start-up): see
:mod:`legacy_bridge.state_migrations`, where adding a migration is one registration.

API for other parts (webhooks):

- ``store.begin()``: a write transaction (``BEGIN IMMEDIATE`` on SQLite, so writers
  queue instead of failing); ``store.connect()``: a read connection.
- ``store.engine``, ``store.dialect`` ("sqlite" | "postgresql"), ``store.lock(conn, name)``
  (a transaction-scoped lock: ``pg_advisory_xact_lock`` on PostgreSQL; on SQLite the
  write transaction itself is exclusive).
- Change events, an ordered log: ``store.events(resource=None, after=0, limit=100)``
  -> [:class:`ChangeEvent`] by ascending ``id``; ``store.last_event_id(resource=None)``;
  ``store.append_events(conn, [NewEvent, ...])`` inside ``begin()``.  Ids are committed
  in ascending order (appends are serialized), so a reader that tails ``id > last`` never
  skips an event that commits later.

The change event shape, ``ChangeEvent.to_json()`` (also the body of ``/changes`` items)::

    {"id": 42, "resource": "customers", "kind": "created" | "updated" | "deleted",
     "key": {"id": 7}, "occurred_at": "2026-11-26T10:00:00.123456Z",
     "record": {...canonical record...} | null}      # null for deletions

``occurred_at`` is when the change was detected (a scan), not when the legacy row changed.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import weakref
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    func,
    insert,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql import Select, Update

from legacy_bridge.events import migrations as state_migrations
from legacy_bridge.formats.jsonio import dumps

__all__ = [
    "StateStore",
    "ChangeEvent",
    "NewEvent",
    "state_url",
    "local_folder",
    "KINDS",
    "parse_instant",
    "key_hash",
    "insert_new",
]

KINDS = ("created", "updated", "deleted")
DEFAULT_FILE = "legacy-bridge-state.db"

metadata = MetaData()
schema_version = Table(
    "lb_schema_version",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("name", String(200), nullable=False),
    Column("applied_at", DateTime, nullable=False),
)
# the tables as the latest migration leaves them
snapshots = Table(
    "lb_snapshots",
    metadata,
    Column("resource", String(200), primary_key=True),
    Column("key_sort", LargeBinary, primary_key=True),
    Column("key_json", Text, nullable=False),
    Column("row_hash", LargeBinary(16), nullable=False),
)
scan_state = Table(
    "lb_scan_state",
    metadata,
    Column("resource", String(200), primary_key=True),
    Column("mode", String(20), nullable=False),
    Column("watermark", Text),
    Column("baseline_at", DateTime),
    Column("last_scan_at", DateTime),
    Column("lock_owner", String(200)),
    Column("lock_until", Float),
    Column("last_summary", Text),
)
change_events = Table(
    "lb_change_events",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("resource", String(200), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("key_json", Text, nullable=False),
    Column("occurred_at", DateTime, nullable=False),
    Column("record_json", Text),
    Column("key_hash", Integer),
)  # partition of a key for event sinks (migration 210)


def key_hash(resource: str, key_json: str) -> int:
    """The partition hash of one key, stored with its events (stable across processes and hosts)."""
    return zlib.crc32(f"{resource}\0{key_json}".encode()) & 0x7FFFFFFF


def utcnow() -> dt.datetime:
    """Naive UTC, as the store keeps times (SQLite has no time zones)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def parse_instant(text: str) -> dt.datetime:
    """An ISO 8601 time (``2026-11-29T10:00:00Z``, an offset, or naive = UTC) as naive UTC,
    as the store keeps times; ValueError when it is not one."""
    moment = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


def state_url(service: dict[str, Any], origin: str) -> str:
    """Where the state lives: $LEGACY_BRIDGE_STATE, service.state, beside the config file,
    or in memory when the config did not come from a file."""
    url = os.environ.get("LEGACY_BRIDGE_STATE") or service.get("state")
    if url:
        return str(url)
    path = Path(origin)
    if path.is_file():
        return f"sqlite:///{path.resolve().parent / DEFAULT_FILE}"
    return "sqlite://"


def local_folder(url: str) -> Path | None:
    """The folder of a state store kept in a local SQLite file (None for memory or a server)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url == prefix:
        return None
    return Path(url[len(prefix) :]).parent


@dataclass(frozen=True)
class NewEvent:
    resource: str
    kind: str
    key: dict[str, Any]
    record: dict[str, Any] | None


@dataclass(frozen=True)
class ChangeEvent:
    id: int
    resource: str
    kind: str
    key: dict[str, Any]
    occurred_at: dt.datetime
    record: dict[str, Any] | None

    @classmethod
    def from_row(cls, r: Any) -> ChangeEvent:
        """The event a ``change_events`` row holds."""
        record = None if r.record_json is None else orjson.loads(r.record_json)
        return cls(r.id, r.resource, r.kind, orjson.loads(r.key_json), r.occurred_at, record)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "resource": self.resource,
            "kind": self.kind,
            "key": self.key,
            "occurred_at": self.occurred_at.isoformat() + "Z",
            "record": self.record,
        }


def _sqlite_events(engine: Engine, memory: bool) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi: Any, record: Any) -> None:
        dbapi.isolation_level = None  # BEGIN is ours (pysqlite's would defer it)
        cur = dbapi.cursor()
        cur.execute("PRAGMA busy_timeout=30000")
        if not memory:
            cur.execute("PRAGMA journal_mode=WAL")  # readers never wait for a scan's writes
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # a writer takes the write lock up front: two writers queue (busy_timeout)
        # instead of one failing when it upgrades a read lock
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("lb_write") else "BEGIN")


def _sqlite_value(value: Any) -> Any:
    """A parameter as SQLAlchemy's SQLite types store it (DateTime: text with microseconds)."""
    return value.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(value, dt.datetime) else value


def take_due(conn: Connection, due: Select, take: Callable[[Any], Update]) -> list[Any]:
    """The ids ``due`` selects that this worker wins: each is taken by ``take(id)``, an UPDATE
    that matches only while the row is still free (0 rows: another worker got there first).
    On PostgreSQL the select skips rows other workers hold locked meanwhile."""
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    return [row_id for row_id in list(conn.scalars(due)) if conn.execute(take(row_id)).rowcount == 1]


def insert_new(conn: Connection, table: Table, values: dict[str, Any]) -> bool:
    """``values`` as a new row of ``table`` unless one with its primary key is there
    (``ON CONFLICT DO NOTHING``: on PostgreSQL it waits for a writer of that key to end);
    True when inserted."""
    new = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    keys = list(table.primary_key.columns)
    statement = new(table).values(**values).on_conflict_do_nothing(index_elements=[c.name for c in keys])
    return conn.execute(statement.returning(*keys)).first() is not None  # rowcount is not 0 under every driver


def _forget_connections_when_forked(store: StateStore) -> None:
    """A forked process (a gunicorn worker of a preloaded app) must not use the connections
    of its parent: two processes on one socket corrupt each other's sessions.  The child
    drops its copies of the pool's connections without closing them (the parent's own)."""
    ref = weakref.ref(store)

    def forget() -> None:
        found = ref()
        if found is not None:
            found.engine.dispose(close=False)

    os.register_at_fork(after_in_child=forget)


class StateStore:
    """The state store at ``url`` (or over an injected ``engine``)."""

    def __init__(self, url: str = "sqlite://", *, engine: Engine | None = None) -> None:
        self.url = url
        memory = engine is None and url.startswith("sqlite") and url.rstrip("/") in ("sqlite:", "sqlite:/")
        if engine is None:
            if url.startswith("sqlite"):
                options: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 30}}
                if memory:
                    options["poolclass"] = StaticPool
                engine = create_engine(url, **options)
                _sqlite_events(engine, memory)
            else:
                engine = create_engine(url, pool_pre_ping=True)
        self.engine = engine
        self.dialect = engine.dialect.name
        self._writer = engine.execution_options(lb_write=True)
        # one in-memory connection is shared: its transactions must not interleave
        self._serial = threading.RLock() if memory else None
        self._migrated = False
        self._migrate_lock = threading.Lock()
        _forget_connections_when_forked(self)

    # -- connections ----------------------------------------------------------------

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A write transaction, committed on exit."""
        self.ready()
        with self._serial or nullcontext(), self._writer.begin() as conn:
            yield conn

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection for reads."""
        self.ready()
        with self._serial or nullcontext(), self.engine.connect() as conn:
            yield conn

    def insert_rows(self, table: Table, rows: list[dict[str, Any]]) -> None:
        """``rows`` into ``table`` in a write transaction of their own.  On the DB-API connection
        with a plain INSERT: SQLAlchemy's statement machinery costs 5x the SQLite insert and its
        commit, which every write through the API pays once (its audit record)."""
        marks = {"qmark": "?", "format": "%s", "pyformat": "%s"}.get(self.engine.dialect.paramstyle)
        if marks is None or not rows:
            with self.begin() as conn:
                conn.execute(insert(table), rows)
            return
        names = list(rows[0])
        sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join([marks] * len(names))})"
        sqlite = self.dialect == "sqlite"
        params = [[_sqlite_value(row[n]) if sqlite else row[n] for n in names] for row in rows]
        self.ready()
        with self._serial or nullcontext():
            raw = self.engine.raw_connection()
            try:
                cur = raw.cursor()
                if sqlite:  # autocommit mode (isolation_level None): the transaction is spelt out
                    cur.execute("BEGIN IMMEDIATE")
                try:
                    cur.executemany(sql, params)
                    if sqlite:
                        cur.execute("COMMIT")
                    else:
                        raw.commit()
                except BaseException:
                    raw.rollback()
                    raise
                finally:
                    cur.close()
            finally:
                raw.close()  # back to the pool

    def lock(self, conn: Connection, name: str) -> None:
        """Hold the lock ``name`` until ``conn``'s transaction ends."""
        if self.dialect == "postgresql":
            conn.execute(select(func.pg_advisory_xact_lock(zlib.crc32(name.encode()))))

    def close(self) -> None:
        self.engine.dispose()

    # -- schema ---------------------------------------------------------------------

    def ready(self) -> None:
        """Migrate once per process, on first use."""
        if not self._migrated:
            with self._migrate_lock:
                if not self._migrated:
                    self.migrate()

    def migrate(self, target: int | None = None) -> int:
        """Apply the registered migrations up to ``target`` (all by default); the version."""
        with self._serial or nullcontext(), self._writer.begin() as conn:
            self.lock(conn, "legacy-bridge.migrate")
            schema_version.create(conn, checkfirst=True)
            done = set(conn.scalars(select(schema_version.c.version)))
            for step in state_migrations.ordered():
                if step.version in done or (target is not None and step.version > target):
                    continue
                step.apply(conn)
                conn.execute(insert(schema_version).values(version=step.version, name=step.name, applied_at=utcnow()))
                done.add(step.version)
        self._migrated = True  # with a target: pinned there (tests of older schemas)
        return max(done, default=0)

    def version(self) -> int:
        with self.connect() as conn:
            return conn.scalar(select(func.max(schema_version.c.version))) or 0

    # -- change events --------------------------------------------------------------

    def append_events(self, conn: Connection, events: Iterable[NewEvent], at: dt.datetime | None = None) -> int:
        """Add events to the log inside ``conn``'s write transaction; how many."""
        at = at or utcnow()
        rows = []
        for e in events:
            key_json = dumps(e.key).decode()
            rows.append(
                {
                    "resource": e.resource,
                    "kind": e.kind,
                    "key_json": key_json,
                    "occurred_at": at,
                    "record_json": None if e.record is None else dumps(e.record).decode(),
                    "key_hash": key_hash(e.resource, key_json),
                }
            )
        if rows:
            # ids must commit in ascending order or a tailing reader could skip one
            self.lock(conn, "legacy-bridge.events")
            conn.execute(insert(change_events), rows)
        return len(rows)

    def events(self, resource: str | None = None, after: int = 0, limit: int = 100) -> list[ChangeEvent]:
        """Events with ``id > after``, ascending, of one resource or all."""
        query = select(change_events).where(change_events.c.id > after)
        if resource is not None:
            query = query.where(change_events.c.resource == resource)
        with self.connect() as conn:
            rows = conn.execute(query.order_by(change_events.c.id).limit(limit)).all()
        return [ChangeEvent.from_row(r) for r in rows]

    def last_event_id(self, resource: str | None = None) -> int:
        query = select(func.max(change_events.c.id))
        if resource is not None:
            query = query.where(change_events.c.resource == resource)
        with self.connect() as conn:
            return conn.scalar(query) or 0
