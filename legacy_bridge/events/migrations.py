"""The state store's schema, as ordered migrations: one function per version.

Adding a migration is one registration::

    @migration(100, "webhook subscriptions")
    def _subscriptions(conn: Connection) -> None:
        create_table(conn, "webhook_subscriptions", Column("id", String(40), primary_key=True), ...)

Versions are unique integers applied in ascending order, each exactly once, in the
transaction that records it in ``schema_version``.  Ranges: 1-99 snapshots, scans and
change events; 100-199 webhooks (subscriptions, outbox, deliveries); 200+ later parts
(400-499 X12: control numbers, acknowledgements).
A migration describes the schema *as it was at that version* (its own Column objects),
so later changes never alter what an old migration does.  Migrations in another module
register when it is imported: name the module in :data:`MIGRATION_MODULES`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module

from sqlalchemy import BigInteger, Column, DateTime, Float, Index, Integer, LargeBinary, MetaData, String, Table, Text
from sqlalchemy.engine import Connection
from sqlalchemy.schema import CreateIndex, SchemaItem

#: modules whose import registers more migrations (e.g. "legacy_bridge.events.outbox")
MIGRATION_MODULES: list[str] = [
    "legacy_bridge.events.outbox",
    "legacy_bridge.events.sink_cursors",
    "legacy_bridge.events.leases",
    "legacy_bridge.events.idempotency",
    "legacy_bridge.events.journal",
    "legacy_bridge.events.control_numbers",
    "legacy_bridge.events.x12_acks",
]


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    apply: Callable[[Connection], None]


MIGRATIONS: dict[int, Migration] = {}


def migration(version: int, name: str) -> Callable[[Callable[[Connection], None]], Callable]:
    """Register ``fn(conn)`` as schema version ``version`` (a decorator)."""

    def register(fn: Callable[[Connection], None]) -> Callable[[Connection], None]:
        if not isinstance(version, int) or version < 1:
            raise ValueError(f"a migration version is an integer >= 1, got {version!r}")
        if version in MIGRATIONS and MIGRATIONS[version].apply is not fn:
            raise ValueError(
                f"migration {version} is already {MIGRATIONS[version].name!r}; taken: {sorted(MIGRATIONS)}"
            )
        MIGRATIONS[version] = Migration(version, name, fn)
        return fn

    return register


def ordered() -> list[Migration]:
    """Every registered migration (those of MIGRATION_MODULES too), by version."""
    for module in MIGRATION_MODULES:
        import_module(module)
    return [MIGRATIONS[v] for v in sorted(MIGRATIONS)]


def create_table(conn: Connection, name: str, *items: SchemaItem) -> Table:
    """Create one table (and its indexes) as it is at the migration's version."""
    table = Table(name, MetaData(), *items)
    table.create(conn)
    return table


def add_column(conn: Connection, table: str, column: Column) -> None:
    """``ALTER TABLE table ADD COLUMN column`` in the store's dialect (nullable columns only)."""
    kind = column.type.compile(dialect=conn.dialect)
    quote = conn.dialect.identifier_preparer.quote
    conn.exec_driver_sql(f"ALTER TABLE {quote(table)} ADD COLUMN {quote(column.name)} {kind}")


def id_type() -> BigInteger:
    # SQLite only auto-increments an INTEGER PRIMARY KEY
    return BigInteger().with_variant(Integer, "sqlite")


@migration(1, "snapshots, scan state and change events")
def _core(conn: Connection) -> None:
    create_table(
        conn,
        "lb_snapshots",
        Column("resource", String(200), primary_key=True),
        # order-preserving encoding of the key: the snapshot reads back in key order
        Column("key_sort", LargeBinary, primary_key=True),
        Column("key_json", Text, nullable=False),
        Column("row_hash", LargeBinary(16), nullable=False),
    )
    create_table(
        conn,
        "lb_scan_state",
        Column("resource", String(200), primary_key=True),
        Column("mode", String(20), nullable=False),
        Column("watermark", Text),
        Column("baseline_at", DateTime),
        Column("last_scan_at", DateTime),
        Column("lock_owner", String(200)),
        Column("lock_until", Float),
    )
    create_table(
        conn,
        "lb_change_events",
        Column("id", id_type(), primary_key=True, autoincrement=True),
        Column("resource", String(200), nullable=False),
        Column("kind", String(10), nullable=False),
        Column("key_json", Text, nullable=False),
        Column("occurred_at", DateTime, nullable=False),
        Column("record_json", Text),
        Index("lb_change_events_resource", "resource", "id"),
    )


@migration(2, "last scan summary; events by time (for pruning)")
def _summary(conn: Connection) -> None:
    add_column(conn, "lb_scan_state", Column("last_summary", Text))
    events = Table("lb_change_events", MetaData(), Column("occurred_at", DateTime))
    conn.execute(CreateIndex(Index("lb_change_events_time", events.c.occurred_at)))
