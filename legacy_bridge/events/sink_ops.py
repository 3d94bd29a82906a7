"""Operating the sinks and the event log: status for /readyz, Prometheus metrics read from the
state store (so every relay on every host is counted, whichever process answers the scrape),
replay from an event id or a time, and the retention that prunes the log.

Metrics (per sink): ``legacy_bridge_sink_lag_events`` (events not yet confirmed),
``legacy_bridge_sink_oldest_unsent_age_seconds``, ``legacy_bridge_sink_published_total`` (its
``rate()`` is the publish rate), ``legacy_bridge_sink_unroutable_total``,
``legacy_bridge_sink_failed_attempts_total`` and ``legacy_bridge_sink_partitions_retrying``.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from sqlalchemy import delete, func, select

from legacy_bridge.events import sink_cursors
from legacy_bridge.events.outbox import subscriptions
from legacy_bridge.events.state import StateStore, change_events, parse_instant

log = logging.getLogger("legacy_bridge.relay")

__all__ = ["report", "registry", "first_event_at", "prune", "PRUNE_BATCH"]

PRUNE_BATCH = 5000


def report(store: StateStore, sinks: list[str]) -> dict[str, dict[str, Any]]:
    """Each sink's status, with ``state``: ok, retrying (the broker is away) or unknown (no relay yet)."""
    out: dict[str, dict[str, Any]] = {}
    for sink in sinks:
        try:
            status = sink_cursors.status(store, sink)
        except Exception as exc:  # the state store away: say so, /readyz still answers
            out[sink] = {"state": "unknown", "detail": f"state store: {exc.__class__.__name__}"}
            continue
        if status is None:
            out[sink] = {"state": "unknown", "detail": "no relay has run for this sink yet"}
            continue
        status["state"] = "retrying" if status["retrying"] else "ok"
        out[sink] = status
    return out


class _SinkCollector:
    def __init__(self, store: StateStore, sinks: list[str]) -> None:
        self.store, self.sinks = store, sinks

    def collect(self) -> Iterator[Any]:
        families: dict[str, CounterMetricFamily | GaugeMetricFamily] = {
            "lag": GaugeMetricFamily(
                "legacy_bridge_sink_lag_events", "Change events a sink has not confirmed yet", labels=["sink"]
            ),
            "oldest_unsent_age": GaugeMetricFamily(
                "legacy_bridge_sink_oldest_unsent_age_seconds",
                "Age of the oldest change event a sink has not confirmed (0: none)",
                labels=["sink"],
            ),
            "published": CounterMetricFamily(
                "legacy_bridge_sink_published", "Events the broker confirmed", labels=["sink"]
            ),
            "unroutable": CounterMetricFamily(
                "legacy_bridge_sink_unroutable", "Events the broker could not route", labels=["sink"]
            ),
            "failed_attempts": CounterMetricFamily(
                "legacy_bridge_sink_failed_attempts",
                "Publish attempts that failed (broker away, refused)",
                labels=["sink"],
            ),
            "retrying": GaugeMetricFamily(
                "legacy_bridge_sink_partitions_retrying",
                "Partitions waiting for their next attempt after a failure",
                labels=["sink"],
            ),
        }
        for sink in self.sinks:
            status = sink_cursors.status(self.store, sink)
            if status is None:
                continue
            for key, family in families.items():
                family.add_metric([sink], float(status[key] or 0))
        yield from families.values()


def registry(store: StateStore, sinks: list[str]) -> CollectorRegistry:
    """A registry whose scrape reads the sinks' state from the store."""
    reg = CollectorRegistry(auto_describe=False)
    reg.register(_SinkCollector(store, sinks))
    return reg


def first_event_at(store: StateStore, since: str) -> int:
    """The id of the first event to replay: ``since`` is an event id (``42`` or ``evt_42``) or an
    ISO time (the first event seen at or after it).  ValueError when it is neither."""
    text = since.strip().removeprefix("evt_")
    if text.isdecimal():
        return int(text)
    try:
        moment = parse_instant(text)
    except ValueError:
        raise ValueError(
            f"--since: expected an event id (42, evt_42) or a time (2026-11-29T10:00:00Z), got {since!r}"
        ) from None
    with store.connect() as conn:
        first = conn.scalar(select(func.min(change_events.c.id)).where(change_events.c.occurred_at >= moment))
        return first if first is not None else (conn.scalar(select(func.max(change_events.c.id))) or 0) + 1


def prune(store: StateStore, retention: float, now: float | None = None) -> int:
    """Delete events older than ``retention`` seconds that every sink has confirmed and every
    webhook subscription has fanned out (an unsent event is kept, however old, and so is the
    newest); how many."""
    now = now or time.time()
    cutoff = dt.datetime.fromtimestamp(now - retention, dt.UTC).replace(tzinfo=None)
    with store.connect() as conn:
        fanned_out = conn.scalar(select(func.min(subscriptions.c.last_event_id)))
        # the newest event always stays: SQLite numbers a new row max(id) + 1, and an emptied
        # log would hand out ids again that cursors have already passed
        newest = conn.scalar(select(func.max(change_events.c.id))) or 0
    limits = [v for v in (sink_cursors.low_water_mark(store), fanned_out, newest - 1) if v is not None]
    removed = 0
    while True:
        with store.begin() as conn:
            query = select(change_events.c.id).where(
                change_events.c.occurred_at < cutoff, change_events.c.id <= min(limits)
            )
            ids = list(conn.scalars(query.order_by(change_events.c.id).limit(PRUNE_BATCH)))
            if ids:
                conn.execute(delete(change_events).where(change_events.c.id.in_(ids)))
        removed += len(ids)
        if len(ids) < PRUNE_BATCH:
            break
    if removed:
        log.info("pruned %d change event(s) older than %.0fs", removed, retention)
    return removed
