"""Webhook subscriptions and the outbox (one row per subscription and event) in the state store;
what the API shows of the rows and redelivery: webhook_deliveries.py.

Fan-out tails the change-event log per subscription (``last_event_id``) under a lock per
subscription, so two workers never add the same row (the unique (subscription, event)
pair is the safety net).  Claiming takes a row for ``claim_ttl`` seconds with one
conditional UPDATE checked by its row count (``... WHERE id = ? AND (claim_until IS NULL
OR claim_until < now)``); on PostgreSQL the candidates are first picked ``FOR UPDATE SKIP
LOCKED`` so competing workers pass over each other's rows instead of queueing.  The result
is recorded only while the claim is still ours (fenced by ``claimed_by``).  Times are
epoch seconds.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Update

from legacy_bridge.events.migrations import create_table, migration
from legacy_bridge.events.state import ChangeEvent, StateStore, change_events, take_due
from legacy_bridge.events.webhooks import event_type, wants
from legacy_bridge.formats.jsonio import dumps

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
FANOUT_BATCH = 500


def _id_type() -> BigInteger:
    return BigInteger().with_variant(Integer, "sqlite")  # SQLite auto-increments INTEGER keys only


@migration(100, "webhook subscriptions and outbox")
def _webhooks(conn: Connection) -> None:
    create_table(
        conn,
        "lb_webhook_subscriptions",
        Column("id", String(40), primary_key=True),
        Column("url", Text, nullable=False),
        Column("events", Text, nullable=False),
        Column("description", Text),
        Column("secret", Text, nullable=False),
        Column("created_at", Float, nullable=False),
        Column("last_event_id", BigInteger, nullable=False),
    )
    create_table(
        conn,
        "lb_webhook_deliveries",
        Column("id", _id_type(), primary_key=True, autoincrement=True),
        Column("subscription_id", String(40), nullable=False),
        Column("event_id", BigInteger, nullable=False),
        Column("webhook_id", String(80), nullable=False),
        Column("event_type", String(250), nullable=False),
        Column("body", Text, nullable=False),
        Column("status", String(12), nullable=False),
        Column("attempts", Integer, nullable=False),
        Column("next_attempt_at", Float, nullable=False),
        Column("claimed_by", String(200)),
        Column("claim_until", Float),
        Column("last_status", Integer),
        Column("last_error", Text),
        Column("last_attempt_at", Float),
        Column("last_worker", String(200)),
        Column("delivered_at", Float),
        Column("created_at", Float, nullable=False),
        UniqueConstraint("subscription_id", "event_id", name="lb_webhook_deliveries_once"),
        Index("lb_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("lb_webhook_deliveries_subscription", "subscription_id", "id"),
    )


_meta = MetaData()
subscriptions = Table(
    "lb_webhook_subscriptions",
    _meta,
    Column("id", String(40), primary_key=True),
    Column("url", Text),
    Column("events", Text),
    Column("description", Text),
    Column("secret", Text),
    Column("created_at", Float),
    Column("last_event_id", BigInteger),
)
deliveries = Table(
    "lb_webhook_deliveries",
    _meta,
    Column("id", _id_type(), primary_key=True),
    Column("subscription_id", String(40)),
    Column("event_id", BigInteger),
    Column("webhook_id", String(80)),
    Column("event_type", String(250)),
    Column("body", Text),
    Column("status", String(12)),
    Column("attempts", Integer),
    Column("next_attempt_at", Float),
    Column("claimed_by", String(200)),
    Column("claim_until", Float),
    Column("last_status", Integer),
    Column("last_error", Text),
    Column("last_attempt_at", Float),
    Column("last_worker", String(200)),
    Column("delivered_at", Float),
    Column("created_at", Float),
)

# -- subscriptions ---------------------------------------------------------------------


def _subscription(row: Any) -> dict[str, Any]:
    """A subscription as the API shows it: never its secret."""
    return {
        "id": row.id,
        "url": row.url,
        "events": orjson.loads(row.events),
        "description": row.description,
        "created_at": row.created_at,
    }


def create_subscription(
    store: StateStore, url: str, events: list[str], secret: str, description: str | None = None
) -> dict[str, Any]:
    """Subscribe ``url``; it receives the events that happen from now on."""
    sub_id = "wh_" + secrets.token_hex(12)
    with store.begin() as conn:
        store.lock(conn, "legacy-bridge.events")  # the log's head cannot move under us
        conn.execute(
            insert(subscriptions).values(
                id=sub_id,
                url=url,
                events=dumps(events).decode(),
                description=description,
                secret=secret,
                created_at=time.time(),
                last_event_id=conn.scalar(select(func.max(change_events.c.id))) or 0,
            )
        )
        row = conn.execute(select(subscriptions).where(subscriptions.c.id == sub_id)).one()
    return _subscription(row)


def list_subscriptions(store: StateStore) -> list[dict[str, Any]]:
    with store.connect() as conn:
        rows = conn.execute(select(subscriptions).order_by(subscriptions.c.created_at, subscriptions.c.id))
        return [_subscription(r) for r in rows]


def get_subscription(store: StateStore, sub_id: str) -> dict[str, Any] | None:
    with store.connect() as conn:
        row = conn.execute(select(subscriptions).where(subscriptions.c.id == sub_id)).first()
    return None if row is None else _subscription(row)


def delete_subscription(store: StateStore, sub_id: str) -> bool:
    """Unsubscribe; its outbox rows go too (nothing more will be sent to it)."""
    with store.begin() as conn:
        conn.execute(delete(deliveries).where(deliveries.c.subscription_id == sub_id))
        return conn.execute(delete(subscriptions).where(subscriptions.c.id == sub_id)).rowcount > 0


# -- fan-out: change events -> outbox rows ---------------------------------------------


def webhook_id(event_id: int) -> str:
    """The id every delivery of one event carries, to every subscriber, on every attempt."""
    return f"evt_{event_id}"


def _body(event: Any) -> bytes:
    # the Standard Webhooks payload shape: type, timestamp, data
    data = event.to_json()
    return dumps({"type": event_type(event.resource, event.kind), "timestamp": data["occurred_at"], "data": data})


def _events_after(conn: Connection, after: int) -> list[ChangeEvent]:
    # read in the fan-out's own transaction (a second connection would deadlock an in-memory store)
    rows = conn.execute(
        select(change_events).where(change_events.c.id > after).order_by(change_events.c.id).limit(FANOUT_BATCH)
    ).all()
    return [ChangeEvent.from_row(r) for r in rows]


def fan_out(store: StateStore, now: float | None = None) -> int:
    """Add the outbox rows of every subscription for the events it has not seen; how many."""
    now = now or time.time()
    added = 0
    with store.connect() as conn:
        sub_ids = list(conn.scalars(select(subscriptions.c.id)))
    for sub_id in sub_ids:
        with store.begin() as conn:
            store.lock(conn, f"legacy-bridge.webhooks.fanout.{sub_id}")
            sub = conn.execute(select(subscriptions).where(subscriptions.c.id == sub_id)).first()
            if sub is None:  # deleted meanwhile
                continue
            patterns = orjson.loads(sub.events)
            events = _events_after(conn, sub.last_event_id)
            rows = [
                {
                    "subscription_id": sub_id,
                    "event_id": e.id,
                    "webhook_id": webhook_id(e.id),
                    "event_type": event_type(e.resource, e.kind),
                    "body": _body(e).decode(),
                    "status": PENDING,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for e in events
                if wants(patterns, e.resource, e.kind)
            ]
            if rows:
                conn.execute(insert(deliveries), rows)
            if events:
                conn.execute(
                    update(subscriptions).where(subscriptions.c.id == sub_id).values(last_event_id=events[-1].id)
                )
            added += len(rows)
    return added


# -- claiming and recording --------------------------------------------------------------


@dataclass
class Claimed:
    """One outbox row a worker holds, with what it needs to send it; ``attempts`` counts the
    attempt about to be made."""

    id: int
    subscription_id: str
    url: str
    secret: str
    webhook_id: str
    body: bytes
    attempts: int


def _free(now: float) -> Any:
    return or_(deliveries.c.claim_until.is_(None), deliveries.c.claim_until < now)


def claim(store: StateStore, worker: str, limit: int, claim_ttl: float, now: float | None = None) -> list[Claimed]:
    """Take up to ``limit`` due rows for ``claim_ttl`` seconds; rows another worker holds are skipped.
    The attempt is counted here, before the request: a worker that dies mid-request leaves it counted."""
    now = now or time.time()
    due = (
        select(deliveries.c.id)
        .where(deliveries.c.status == PENDING, deliveries.c.next_attempt_at <= now, _free(now))
        .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
        .limit(limit)
    )

    def take(row_id: int) -> Update:
        return (
            update(deliveries)
            .where(deliveries.c.id == row_id, deliveries.c.status == PENDING, _free(now))
            .values(
                claimed_by=worker,
                claim_until=now + claim_ttl,
                attempts=deliveries.c.attempts + 1,
                last_attempt_at=now,
                last_worker=worker,
            )
        )

    with store.begin() as conn:
        taken = take_due(conn, due, take)
        if not taken:
            return []
        rows = conn.execute(
            select(deliveries, subscriptions.c.url, subscriptions.c.secret)
            .join(subscriptions, subscriptions.c.id == deliveries.c.subscription_id)
            .where(deliveries.c.id.in_(taken))
            .order_by(deliveries.c.id)
        ).all()
    return [Claimed(r.id, r.subscription_id, r.url, r.secret, r.webhook_id, r.body.encode(), r.attempts) for r in rows]


def record(
    store: StateStore,
    row_id: int,
    worker: str,
    status: str,
    attempts: int,
    http_status: int | None,
    error: str | None,
    next_attempt_at: float | None,
    now: float | None = None,
) -> bool:
    """Store an attempt's outcome and release the claim; False when the claim was no longer ours."""
    now = now or time.time()
    values: dict[str, Any] = {
        "status": status,
        "attempts": attempts,
        "last_status": http_status,
        "last_error": error,
        "last_attempt_at": now,
        "last_worker": worker,
        "claimed_by": None,
        "claim_until": None,
    }
    if status == DELIVERED:
        values["delivered_at"] = now
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    with store.begin() as conn:
        done = conn.execute(
            update(deliveries).where(deliveries.c.id == row_id, deliveries.c.claimed_by == worker).values(**values)
        )
        return done.rowcount == 1
