"""What a write through the API leaves in the state store, in one transaction after the legacy
commit: a change event at once (the feed, webhooks and sinks see it without waiting for a
scan), the resource's snapshot brought up to date (so the next scan does not report the same
change again), and an audit record (who: the API key id; when; what: before and after).

A worker that dies between the legacy commit and this transaction leaves no audit record; the
change is still found by the resource's next scan (its snapshot was not brought up to date).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Column, DateTime, Index, MetaData, String, Table, Text, delete, insert, select, update
from sqlalchemy.engine import Connection

from legacy_bridge.events.change_keys import encode_key, row_hash
from legacy_bridge.events.migrations import create_table, id_type, migration
from legacy_bridge.events.state import NewEvent, StateStore, scan_state, snapshots, utcnow
from legacy_bridge.formats.jsonio import dumps

__all__ = ["WriteJournal", "AuditRecord", "audit_records"]

_KINDS = {"create": "created", "update": "updated", "delete": "deleted"}

audit = Table(
    "lb_audit",
    MetaData(),
    Column("id", id_type(), primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False),
    Column("resource", String(200), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("key_json", Text, nullable=False),
    Column("caller", String(200)),
    Column("before_json", Text),
    Column("after_json", Text),
)


@migration(301, "audit records of the writes through the API")
def _audit(conn: Connection) -> None:
    create_table(
        conn,
        "lb_audit",
        Column("id", id_type(), primary_key=True, autoincrement=True),
        Column("at", DateTime, nullable=False),
        Column("resource", String(200), nullable=False),
        Column("kind", String(10), nullable=False),
        Column("key_json", Text, nullable=False),
        Column("caller", String(200)),
        Column("before_json", Text),
        Column("after_json", Text),
        Index("lb_audit_resource", "resource", "id"),
    )


@dataclass(frozen=True)
class AuditRecord:
    id: int
    at: dt.datetime
    resource: str
    kind: str
    key: dict[str, Any]
    caller: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat() + "Z",
            "resource": self.resource,
            "kind": self.kind,
            "key": self.key,
            "caller": self.caller,
            "before": self.before,
            "after": self.after,
        }


def _json(value: Any) -> str | None:
    return None if value is None else dumps(value).decode()


class WriteJournal:
    """Journals the writes of one resource (``key``: its key field names)."""

    def __init__(self, store: StateStore, resource: str, key: list[str], feeds_changes: bool) -> None:
        self.store = store
        self.resource = resource
        self.key = key
        self.feeds_changes = feeds_changes  # the resource has a change feed (changes:)

    def record(
        self, kind: str, caller: str | None, changes: list[tuple[dict[str, Any] | None, dict[str, Any] | None]]
    ) -> None:
        """Writes of one kind (``create``, ``update``, ``delete``; an action's ``call``: its
        parameters and answer), each as (before, after),
        in one state-store transaction."""
        at = utcnow()
        audits, events = [], []
        for before, after in changes:
            current = after if after is not None else before
            assert current is not None
            key = {k: current[k] for k in self.key}
            audits.append(
                {
                    "at": at,
                    "resource": self.resource,
                    "kind": kind,
                    "key_json": _json(key),
                    "caller": caller,
                    "before_json": _json(before),
                    "after_json": _json(after),
                }
            )
            events.append((key, after))
        if not self.feeds_changes:  # the audit records alone: the store's quick insert
            self.store.insert_rows(audit, audits)
            return
        with self.store.begin() as conn:
            conn.execute(insert(audit), audits)
            self.store.append_events(conn, [NewEvent(self.resource, _KINDS[kind], k, a) for k, a in events], at)
            baseline = conn.scalar(select(scan_state.c.baseline_at).where(scan_state.c.resource == self.resource))
            if baseline is not None:  # before it, the baseline scan takes the rows as it finds them
                for key, after in events:
                    self._snapshot(conn, key, after)

    def _snapshot(self, conn: Connection, key: dict[str, Any], after: dict[str, Any] | None) -> None:
        """The snapshot row of ``key`` as a scan would leave it."""
        key_sort = encode_key(tuple(key.values()))
        where = (snapshots.c.resource == self.resource, snapshots.c.key_sort == key_sort)
        if after is None:
            conn.execute(delete(snapshots).where(*where))
            return
        values = {"key_json": dumps(key).decode(), "row_hash": row_hash(after)}
        if conn.execute(update(snapshots).where(*where).values(**values)).rowcount == 0:
            conn.execute(insert(snapshots).values(resource=self.resource, key_sort=key_sort, **values))


def audit_records(
    store: StateStore, resource: str | None = None, key: dict[str, Any] | None = None, limit: int = 100
) -> list[AuditRecord]:
    """The newest audit records first (of ``resource``, of one ``key``)."""
    query = select(audit).order_by(audit.c.id.desc()).limit(limit)
    if resource is not None:
        query = query.where(audit.c.resource == resource)
    if key is not None:
        query = query.where(audit.c.key_json == dumps(key).decode())
    with store.connect() as conn:
        rows = conn.execute(query).all()
    return [
        AuditRecord(
            r.id,
            r.at,
            r.resource,
            r.kind,
            orjson.loads(r.key_json),
            r.caller,
            None if r.before_json is None else orjson.loads(r.before_json),
            None if r.after_json is None else orjson.loads(r.after_json),
        )
        for r in rows
    ]
