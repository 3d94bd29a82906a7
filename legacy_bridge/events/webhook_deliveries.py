"""A subscription's deliveries as the webhook routes and the CLI see them: listed newest first,
one by id, and sent again (one, or every dead or delivered one in a time range) with a fresh
attempt budget and the same webhook-id.  The rows are the outbox's (outbox.py)."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select, update

from legacy_bridge.events.outbox import DEAD, PENDING, deliveries
from legacy_bridge.events.state import StateStore


def _delivery(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "event_id": row.event_id,
        "webhook_id": row.webhook_id,
        "event_type": row.event_type,
        "status": row.status,
        "attempts": row.attempts,
        "next_attempt_at": row.next_attempt_at if row.status == PENDING else None,
        "last_status": row.last_status,
        "last_error": row.last_error,
        "last_attempt_at": row.last_attempt_at,
        "last_worker": row.last_worker,
        "delivered_at": row.delivered_at,
        "created_at": row.created_at,
    }


def list_deliveries(
    store: StateStore, sub_id: str, status: str | None = None, before: int | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """A subscription's outbox rows, newest first."""
    query = select(deliveries).where(deliveries.c.subscription_id == sub_id)
    if status:
        query = query.where(deliveries.c.status == status)
    if before is not None:
        query = query.where(deliveries.c.id < before)
    with store.connect() as conn:
        return [_delivery(r) for r in conn.execute(query.order_by(deliveries.c.id.desc()).limit(limit))]


def get_delivery(store: StateStore, sub_id: str, delivery_id: int) -> dict[str, Any] | None:
    with store.connect() as conn:
        row = conn.execute(
            select(deliveries).where(deliveries.c.id == delivery_id, deliveries.c.subscription_id == sub_id)
        ).first()
    return None if row is None else _delivery(row)


def redeliver(store: StateStore, sub_id: str, delivery_id: int, now: float | None = None) -> dict[str, Any] | None:
    """Send a dead (or delivered) row again, with a fresh attempt budget and the same webhook-id.
    None when there is no such row or it is still pending."""
    now = now or time.time()
    with store.begin() as conn:
        done = conn.execute(
            update(deliveries)
            .where(
                deliveries.c.id == delivery_id, deliveries.c.subscription_id == sub_id, deliveries.c.status != PENDING
            )
            .values(status=PENDING, attempts=0, next_attempt_at=now, claimed_by=None, claim_until=None)
        )
        if done.rowcount != 1:
            return None
        return _delivery(conn.execute(select(deliveries).where(deliveries.c.id == delivery_id)).one())


def redeliver_many(
    store: StateStore,
    sub_id: str | None,
    status: str = DEAD,
    since: float | None = None,
    until: float | None = None,
    now: float | None = None,
) -> int:
    """Send again, each with a fresh attempt budget and its same webhook-id, every ``status``
    (dead or delivered) delivery of one subscription (every one when None) made in
    [``since``, ``until``); how many."""
    now = now or time.time()
    where = [deliveries.c.status == status]
    if sub_id is not None:
        where.append(deliveries.c.subscription_id == sub_id)
    if since is not None:
        where.append(deliveries.c.created_at >= since)
    if until is not None:
        where.append(deliveries.c.created_at < until)
    with store.begin() as conn:
        return conn.execute(
            update(deliveries)
            .where(*where)
            .values(status=PENDING, attempts=0, next_attempt_at=now, claimed_by=None, claim_until=None)
        ).rowcount
