"""Idempotency keys in the state store (shared by every worker and host): the first outcome
of a non-idempotent call, kept to be replayed, and the claim of a call still running.

A call's life: :meth:`IdempotencyStore.claim` inserts a ``running`` row with a lease (or finds
the key taken: a stored outcome to replay, another payload, a call still running, or a call
whose worker died); a table write records the keys of the rows it is about to commit with
:meth:`pending` before the legacy commit; :meth:`finish` stores the outcome.  A worker that
dies after the legacy commit leaves a ``running`` row whose lease runs out with its pending
keys: the next call with that key looks them up in the source instead of writing again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from legacy_bridge.events.migrations import create_table, migration
from legacy_bridge.events.state import StateStore, utcnow
from legacy_bridge.formats.jsonio import dumps

__all__ = ["IdempotencyStore", "Claim", "Outcome", "fingerprint"]

_table = Table(
    "lb_idempotency",
    MetaData(),
    Column("scope", String(64), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("state", String(10), nullable=False),  # running | done
    Column("lease_until", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Column("pending_json", Text),  # the keys of the rows about to be committed
    Column("status", Integer),
    Column("headers_json", Text),
    Column("body", LargeBinary),
)


@migration(300, "idempotency keys: first outcomes of non-idempotent calls")
def _idempotency(conn: Connection) -> None:
    create_table(
        conn,
        "lb_idempotency",
        Column("scope", String(64), primary_key=True),
        Column("fingerprint", String(64), nullable=False),
        Column("state", String(10), nullable=False),
        Column("lease_until", DateTime, nullable=False),
        Column("expires_at", DateTime, nullable=False),
        Column("pending_json", Text),
        Column("status", Integer),
        Column("headers_json", Text),
        Column("body", LargeBinary),
    )


def fingerprint(*parts: bytes | str) -> str:
    """What makes two calls with one key the same call (method, path, payload)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\0")
    return digest.hexdigest()


@dataclass(frozen=True)
class Outcome:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Claim:
    """What :meth:`IdempotencyStore.claim` found: ``new`` (go on, it is ours), ``replay``
    (``outcome``), ``mismatch`` (another payload), ``running`` (the first call still runs) or
    ``orphaned`` (its worker died; ``pending`` are the keys it was committing, if any)."""

    scope: str
    kind: str
    outcome: Outcome | None = None
    pending: list[Any] | None = None


class IdempotencyStore:
    def __init__(self, state: StateStore) -> None:
        self.state = state

    @staticmethod
    def scope(caller: str | None, resource: str, key: str) -> str:
        return hashlib.sha256(f"{caller or ''}\0{resource}\0{key}".encode()).hexdigest()

    def claim(self, scope: str, print_: str, lease: float, keep: float) -> Claim:
        """Take ``scope`` for a call with payload fingerprint ``print_`` for ``lease`` seconds,
        or say what holds it.  Expired outcomes (``keep`` seconds) are forgotten here."""
        now = utcnow()
        row_values = {
            "scope": scope,
            "fingerprint": print_,
            "state": "running",
            "lease_until": now + dt.timedelta(seconds=lease),
            "expires_at": now + dt.timedelta(seconds=keep),
        }
        with self.state.begin() as conn:
            self.state.lock(conn, f"idempotency:{scope}")
            found = conn.execute(select(_table).where(_table.c.scope == scope)).first()
            if found is not None and found.expires_at <= now:
                conn.execute(delete(_table).where(_table.c.scope == scope))
                found = None
            if found is None:
                try:
                    with conn.begin_nested():
                        conn.execute(insert(_table).values(**row_values))
                except IntegrityError:  # another host took it between our read and insert
                    return Claim(scope, "running")
                return Claim(scope, "new")
            if found.fingerprint != print_:
                return Claim(scope, "mismatch")
            if found.state == "done":
                headers = orjson.loads(found.headers_json or "{}")
                return Claim(scope, "replay", Outcome(found.status, headers, found.body or b""))
            if found.lease_until > now:
                return Claim(scope, "running")
            # the worker that held it died: take it over; what it was committing, if anything
            conn.execute(update(_table).where(_table.c.scope == scope).values(lease_until=row_values["lease_until"]))
            pending = orjson.loads(found.pending_json) if found.pending_json else None
            return Claim(scope, "orphaned", pending=pending)

    def pending(self, scope: str, keys: list[Any]) -> None:
        """Record the keys of the rows a write is about to commit (before the legacy commit)."""
        with self.state.begin() as conn:
            conn.execute(update(_table).where(_table.c.scope == scope).values(pending_json=dumps(keys).decode()))

    def finish(self, scope: str, outcome: Outcome) -> None:
        with self.state.begin() as conn:
            conn.execute(
                update(_table)
                .where(_table.c.scope == scope)
                .values(
                    state="done",
                    status=outcome.status,
                    headers_json=orjson.dumps(outcome.headers).decode(),
                    body=outcome.body,
                    pending_json=None,
                )
            )

    def release(self, scope: str) -> None:
        """Forget a claim whose call had no outcome worth keeping (a 5xx: the client retries)."""
        with self.state.begin() as conn:
            conn.execute(delete(_table).where(_table.c.scope == scope, _table.c.state == "running"))
