"""Named leases in the state store: one holder of a piece of work across workers and hosts.

A lease is a row of ``lb_leases``: who holds it (``owner``) and until when (epoch seconds),
with the holder's progress as JSON, so any process sharing the store can show how far the
work is.  Taking is one conditional UPDATE (or an INSERT when no row exists), so two takers
never both win; a holder that dies loses its lease when it runs out, and another process takes
the work over.  Renewing and releasing are fenced by the owner: a holder that lost its lease
learns it at its next renewal.  Used by the flat-file index builds (see
:class:`StoreLeases`, handed to the drivers at start-up).
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from sqlalchemy import Column, Float, MetaData, String, Table, Text, and_, delete, insert, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from legacy_bridge.events.migrations import create_table, migration
from legacy_bridge.events.state import StateStore

__all__ = ["StoreLeases", "leases"]


@migration(240, "named leases with progress (one index builder across workers and hosts)")
def _leases(conn: Connection) -> None:
    create_table(
        conn,
        "lb_leases",
        Column("name", String(400), primary_key=True),
        Column("owner", String(200), nullable=False),
        Column("lease_until", Float, nullable=False),
        Column("progress", Text),
        Column("updated_at", Float, nullable=False),
    )


leases = Table(
    "lb_leases",
    MetaData(),
    Column("name", String(400), primary_key=True),
    Column("owner", String(200)),
    Column("lease_until", Float),
    Column("progress", Text),
    Column("updated_at", Float),
)


class StoreLeases:
    """Leases on one state store (the flat-file drivers' ``Leases`` protocol)."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def take(self, name: str, owner: str, seconds: float) -> bool:
        """True when ``owner`` now holds ``name`` (free, run out, or its own already)."""
        now = time.time()
        with self.store.begin() as conn:
            taken = conn.execute(
                update(leases)
                .where(leases.c.name == name, or_(leases.c.owner == owner, leases.c.lease_until < now))
                .values(owner=owner, lease_until=now + seconds, updated_at=now, progress=None)
            ).rowcount
            if taken:
                return True
            if conn.execute(select(leases.c.name).where(leases.c.name == name)).first() is not None:
                return False
        try:  # no row yet: the first INSERT wins, the others hit the primary key
            with self.store.begin() as conn:
                conn.execute(insert(leases).values(name=name, owner=owner, lease_until=now + seconds, updated_at=now))
            return True
        except IntegrityError:
            return False

    def renew(self, name: str, owner: str, seconds: float, progress: dict[str, Any]) -> bool:
        """Extend the lease and record ``progress``; False when ``owner`` lost it."""
        now = time.time()
        with self.store.begin() as conn:
            return bool(
                conn.execute(
                    update(leases)
                    .where(and_(leases.c.name == name, leases.c.owner == owner))
                    .values(lease_until=now + seconds, updated_at=now, progress=orjson.dumps(progress).decode())
                ).rowcount
            )

    def release(self, name: str, owner: str) -> None:
        with self.store.begin() as conn:
            conn.execute(delete(leases).where(and_(leases.c.name == name, leases.c.owner == owner)))

    def holder(self, name: str) -> dict[str, Any] | None:
        """Who holds ``name`` and how far the work is, or None when no one does."""
        with self.store.connect() as conn:
            row = conn.execute(select(leases).where(leases.c.name == name, leases.c.lease_until >= time.time())).first()
        if row is None:
            return None
        return {"owner": row.owner, **(orjson.loads(row.progress) if row.progress else {})}
