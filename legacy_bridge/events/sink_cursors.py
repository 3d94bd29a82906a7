"""Where each sink stands in the change-event log: one cursor per sink and partition.

The change-event log is the transactional outbox: a scan writes its events in the same
transaction as the snapshot changes that produced them (:meth:`StateStore.append_events`),
and ids commit in ascending order.  A sink needs no copy of the events, only a position:
``lb_sink_cursors`` holds, per sink and partition, the last event id the broker confirmed.
Events go to partition ``key_hash % partitions`` (the hash of resource and key, stored with
the event), so every event of a key is in one partition and a partition is published in id
order: order per key holds by construction, and partitions let several relays share a sink.

A relay takes a partition for ``lease`` seconds with one conditional UPDATE (``... WHERE
owner IS NULL OR lease_until < now``, candidates picked ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL), publishes, then moves the position and releases the lease in one UPDATE fenced
by its name: a relay that lost its lease cannot move a cursor.  Times are epoch seconds.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Update

from legacy_bridge.events.migrations import add_column, create_table, migration
from legacy_bridge.events.state import ChangeEvent, StateStore, change_events, key_hash, take_due

__all__ = ["Cursor", "ensure", "claim", "advance", "failed", "events_for", "replay", "status", "low_water_mark"]


@migration(210, "event sinks: cursors per sink and partition; events keyed for partitions")
def _sink_cursors(conn: Connection) -> None:
    add_column(conn, "lb_change_events", Column("key_hash", Integer))
    events = Table(
        "lb_change_events",
        MetaData(),
        Column("id", BigInteger, primary_key=True),
        Column("resource", String(200)),
        Column("key_json", Text),
        Column("key_hash", Integer),
    )
    # the events already logged get their partition too, so a replay keeps every key in one partition
    after = 0
    while rows := conn.execute(
        select(events.c.id, events.c.resource, events.c.key_json)
        .where(events.c.id > after)
        .order_by(events.c.id)
        .limit(5000)
    ).all():
        conn.execute(
            update(events).where(events.c.id == bindparam("row_id")).values(key_hash=bindparam("hash")),
            [{"row_id": r.id, "hash": key_hash(r.resource, r.key_json)} for r in rows],
        )
        after = rows[-1].id
    create_table(
        conn,
        "lb_sink_cursors",
        Column("sink", String(200), primary_key=True),
        Column("partition", Integer, primary_key=True, autoincrement=False),
        Column("position", BigInteger, nullable=False),
        Column("owner", String(200)),
        Column("lease_until", Float),
        Column("next_attempt_at", Float, nullable=False),
        Column("failures", Integer, nullable=False),  # in a row: the backoff
        Column("failed_attempts", BigInteger, nullable=False),  # ever: the metric
        Column("last_error", Text),
        Column("published", BigInteger, nullable=False),
        Column("unroutable", BigInteger, nullable=False),
        Column("last_published_at", Float),
    )


cursors = Table(
    "lb_sink_cursors",
    MetaData(),
    Column("sink", String(200), primary_key=True),
    Column("partition", Integer, primary_key=True),
    Column("position", BigInteger),
    Column("owner", String(200)),
    Column("lease_until", Float),
    Column("next_attempt_at", Float),
    Column("failures", Integer),
    Column("failed_attempts", BigInteger),
    Column("last_error", Text),
    Column("published", BigInteger),
    Column("unroutable", BigInteger),
    Column("last_published_at", Float),
)


@dataclass
class Cursor:
    sink: str
    partition: int
    partitions: int
    position: int
    failures: int


def ensure(store: StateStore, sink: str, partitions: int) -> None:
    """Create the sink's cursors (a new sink starts at the log's head: it publishes what
    happens from now on).  A changed partition count restarts every partition at the lowest
    position: events may be published again, never skipped, and order per key holds."""
    with store.begin() as conn:
        store.lock(conn, f"legacy-bridge.sinks.{sink}")
        rows = conn.execute(select(cursors.c.partition, cursors.c.position).where(cursors.c.sink == sink)).all()
        if sorted(r.partition for r in rows) == list(range(partitions)):
            return
        start = min((r.position for r in rows), default=None)
        if start is None:
            start = conn.scalar(select(func.max(change_events.c.id))) or 0
        conn.execute(delete(cursors).where(cursors.c.sink == sink))
        conn.execute(
            insert(cursors),
            [
                {
                    "sink": sink,
                    "partition": p,
                    "position": start,
                    "next_attempt_at": 0.0,
                    "failures": 0,
                    "failed_attempts": 0,
                    "published": 0,
                    "unroutable": 0,
                }
                for p in range(partitions)
            ],
        )


def _free(now: float) -> Any:
    return or_(cursors.c.owner.is_(None), cursors.c.lease_until < now)


def claim(
    store: StateStore,
    sink: str,
    partitions: int,
    relay: str,
    lease: float,
    limit: int,
    skip: Collection[int] = (),
    now: float | None = None,
) -> list[Cursor]:
    """Take up to ``limit`` due partitions of ``sink`` that no other relay holds (and not in ``skip``)."""
    now = now or time.time()
    due = (
        select(cursors.c.partition)
        .where(
            cursors.c.sink == sink, cursors.c.next_attempt_at <= now, _free(now), cursors.c.partition.not_in(list(skip))
        )
        .order_by(cursors.c.last_published_at.is_not(None), cursors.c.last_published_at)
        .limit(limit)
    )

    def take(partition: int) -> Update:
        return (
            update(cursors)
            .where(cursors.c.sink == sink, cursors.c.partition == partition, _free(now))
            .values(owner=relay, lease_until=now + lease)
        )

    with store.begin() as conn:
        taken = take_due(conn, due, take)
        rows = conn.execute(
            select(cursors).where(cursors.c.sink == sink, cursors.c.partition.in_(taken)).order_by(cursors.c.partition)
        ).all()
    by_partition = {row.partition: row for row in rows}
    return [Cursor(sink, p, partitions, by_partition[p].position, by_partition[p].failures) for p in taken]


def events_for(store: StateStore, cursor: Cursor, limit: int) -> tuple[list[ChangeEvent], int]:
    """The partition's next events after its position, and the position to move to when all
    of them are published (past the log's head when fewer than ``limit`` came back, so an
    idle partition does not re-read the other partitions' events on every pass)."""
    bucket = func.coalesce(change_events.c.key_hash, 0) % cursor.partitions
    with store.connect() as conn:
        head = conn.scalar(select(func.max(change_events.c.id))) or 0
        rows = conn.execute(
            select(change_events)
            .where(change_events.c.id > cursor.position, change_events.c.id <= head, bucket == cursor.partition)
            .order_by(change_events.c.id)
            .limit(limit)
        ).all()
    events = [ChangeEvent.from_row(r) for r in rows]
    end = events[-1].id if len(events) == limit else max(head, cursor.position)
    return events, end


def advance(
    store: StateStore,
    cursor: Cursor,
    relay: str,
    position: int,
    published: int,
    unroutable: int,
    release: bool = True,
    now: float | None = None,
) -> bool:
    """Record what the broker confirmed (fenced by the relay's name); False if the lease was lost."""
    now = now or time.time()
    values: dict[str, Any] = {
        "position": position,
        "failures": 0,
        "last_error": None,
        "next_attempt_at": 0.0,
        "published": cursors.c.published + published,
        "unroutable": cursors.c.unroutable + unroutable,
    }
    if published:
        values["last_published_at"] = now
    if release:
        values.update(owner=None, lease_until=None)
    with store.begin() as conn:
        done = conn.execute(
            update(cursors)
            .where(
                cursors.c.sink == cursor.sink,
                cursors.c.partition == cursor.partition,
                cursors.c.owner == relay,
                cursors.c.position == cursor.position,
            )
            .values(**values)
        )
    if done.rowcount == 1:
        cursor.position = position
    return done.rowcount == 1


def failed(store: StateStore, cursor: Cursor, relay: str, error: str, retry_at: float) -> None:
    """The broker was away: keep the position, try again at ``retry_at``, free the partition."""
    with store.begin() as conn:
        conn.execute(
            update(cursors)
            .where(cursors.c.sink == cursor.sink, cursors.c.partition == cursor.partition, cursors.c.owner == relay)
            .values(
                failures=cursors.c.failures + 1,
                failed_attempts=cursors.c.failed_attempts + 1,
                last_error=error[:2000],
                next_attempt_at=retry_at,
                owner=None,
                lease_until=None,
            )
        )


def replay(store: StateStore, sink: str, after: int) -> int:
    """Publish again every event with ``id > after``: every partition goes back there (a
    relay holding one loses its lease, so it cannot move it forward again); how many."""
    with store.begin() as conn:
        store.lock(conn, f"legacy-bridge.sinks.{sink}")
        return conn.execute(
            update(cursors)
            .where(cursors.c.sink == sink)
            .values(position=after, owner=None, lease_until=None, next_attempt_at=0.0, failures=0)
        ).rowcount


def status(store: StateStore, sink: str, now: float | None = None) -> dict[str, Any] | None:
    """A sink's lag (events not yet confirmed), counters and its oldest unsent event."""
    now = now or time.time()
    with store.connect() as conn:
        rows = conn.execute(select(cursors).where(cursors.c.sink == sink).order_by(cursors.c.partition)).all()
        if not rows:
            return None
        partitions = len(rows)
        bucket = func.coalesce(change_events.c.key_hash, 0) % partitions
        lag, oldest = 0, None
        for row in rows:
            unsent = and_(change_events.c.id > row.position, bucket == row.partition)
            count, first = conn.execute(select(func.count(), func.min(change_events.c.occurred_at)).where(unsent)).one()
            lag += count
            if first is not None and (oldest is None or first < oldest):
                oldest = first
    last = max((r.last_published_at for r in rows if r.last_published_at), default=None)
    age = None if oldest is None else max(0.0, now - oldest.replace(tzinfo=dt.UTC).timestamp())
    return {
        "lag": lag,
        "oldest_unsent": None if oldest is None else oldest.isoformat() + "Z",
        "oldest_unsent_age": age,
        "published": sum(r.published for r in rows),
        "unroutable": sum(r.unroutable for r in rows),
        "failed_attempts": sum(r.failed_attempts for r in rows),
        "partitions": partitions,
        "last_error": next((r.last_error for r in rows if r.last_error), None),
        "last_published_at": last,
        "retrying": sum(1 for r in rows if r.next_attempt_at > now),
    }


def low_water_mark(store: StateStore) -> int | None:
    """The lowest position of any sink (None without sinks): older events are all published."""
    with store.connect() as conn:
        return conn.scalar(select(func.min(cursors.c.position)))
