"""The relay: publishes the change-event log to the configured sinks, part of ``legacy-bridge worker``.

For each sink, a relay takes one partition at a time (a lease on its cursor, see
:mod:`.sink_cursors`), publishes the partition's next events in id order, and moves the
cursor only after the broker confirmed them; then it releases the partition and takes the
one that waited longest.  Several relays, on several hosts, therefore share a sink's
partitions and never publish the same partition at the same time.  While a broker is away
its partitions wait an exponential backoff (with jitter) between attempts; nothing moves,
so nothing is lost, and because a partition restarts from its first unconfirmed event,
the order per key holds.  A relay killed mid-batch loses its lease after ``lease``
seconds; the batch is then published again from its first unconfirmed event (at least
once: consumers drop duplicates by the CloudEvents ``id``).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from legacy_bridge.events import sink_cursors
from legacy_bridge.events.sinks.base import Message, Published, Sink, SinkUnavailable
from legacy_bridge.events.sinks.envelope import Envelope
from legacy_bridge.events.sinks.registry import build
from legacy_bridge.events.state import StateStore
from legacy_bridge.events.webhooks import backoff, wants
from legacy_bridge.events.worker import worker_name

log = logging.getLogger("legacy_bridge.relay")

__all__ = ["Relay", "RelaySettings"]


@dataclass(frozen=True)
class RelaySettings:
    """``events.relay``, validated (durations in seconds)."""

    partitions: int = 4
    batch: int = 500
    lease: float = 30.0
    poll_interval: float = 0.5
    backoff: float = 1.0
    max_backoff: float = 300.0


class Relay:
    """Publishes to every sink of the ``events:`` section; ``sinks`` may be handed in (tests)."""

    def __init__(
        self,
        store: StateStore,
        events: dict[str, Any],
        name: str | None = None,
        sinks: dict[str, Sink] | None = None,
        resources: dict[str, Any] | None = None,
    ) -> None:
        """``resources``: the served resources by name, for sinks that write through one (x12)."""
        self.store = store
        self.name = name or worker_name()
        self.settings = RelaySettings(**events["relay"])
        self.envelope = Envelope(events["source"], events["type_prefix"], events["contract_version"])
        self.patterns = {name: spec["events"] for name, spec in events["sinks"].items()}
        if sinks is None:  # built here, and given what they write through (handed-in sinks come ready)
            sinks = {name: build(name, spec) for name, spec in events["sinks"].items()}
            for sink in sinks.values():
                sink.attach(store, resources or {})
        self.sinks = sinks
        for sink_name in self.sinks:
            sink_cursors.ensure(store, sink_name, self.settings.partitions)

    def run_once(self) -> int:
        """One pass over every partition of every sink that is due; how many events were confirmed."""
        confirmed = 0
        for name, sink in self.sinks.items():
            done: set[int] = set()
            while len(done) < self.settings.partitions:
                taken = sink_cursors.claim(
                    self.store, name, self.settings.partitions, self.name, self.settings.lease, limit=1, skip=done
                )
                if not taken:
                    break
                done.add(taken[0].partition)
                confirmed += self._publish(name, sink, taken[0])
        return confirmed

    def _publish(self, name: str, sink: Sink, cursor: sink_cursors.Cursor) -> int:
        events, end = sink_cursors.events_for(self.store, cursor, self.settings.batch)
        messages = [
            Message(e.id, e.resource, e.kind, self.envelope.cloud_event(e))
            for e in events
            if wants(self.patterns[name], e.resource, e.kind)
        ]
        try:
            done = sink.publish(messages) if messages else Published(0)
        except SinkUnavailable as exc:
            return self._failed(name, cursor, messages, exc)
        except Exception as exc:  # a client bug or an event it cannot encode: back off, do not spin
            log.exception("sink %s partition %d: publishing failed", name, cursor.partition)
            sink.close()
            return self._failed(name, cursor, messages, SinkUnavailable(f"unexpected {exc!r}"))
        self._report_unroutable(name, done.unroutable)
        if not sink_cursors.advance(self.store, cursor, self.name, end, done.confirmed, len(done.unroutable)):
            log.warning(
                "sink %s partition %d: lease lost before the position was recorded (replayed or "
                "taken over); its events may be published again",
                name,
                cursor.partition,
            )
        return done.confirmed

    def _failed(self, name: str, cursor: sink_cursors.Cursor, messages: list[Message], exc: SinkUnavailable) -> int:
        """Keep what the broker took (the retry starts at the first unconfirmed event), back off."""
        self._report_unroutable(name, exc.unroutable)
        if exc.confirmed:
            sink_cursors.advance(
                self.store,
                cursor,
                self.name,
                messages[exc.confirmed - 1].event_id,
                exc.confirmed,
                len(exc.unroutable),
                release=False,
            )
        delay = backoff(cursor.failures + 1, self.settings)
        log.warning("sink %s partition %d: %s; retrying in %.1fs", name, cursor.partition, exc, delay)
        sink_cursors.failed(self.store, cursor, self.name, str(exc), time.time() + delay)
        return exc.confirmed

    def _report_unroutable(self, sink: str, event_ids: list[int]) -> None:
        if event_ids:
            log.warning(
                "sink %s: no queue took event(s) %s (unroutable; published, nobody bound)",
                sink,
                ", ".join(map(str, event_ids[:20])),
            )

    def run(self, stop: threading.Event) -> None:
        """Loop until ``stop`` is set; a pass that published nothing waits ``poll_interval``."""
        log.info(
            "relay %s started for sink(s) %s",
            self.name,
            ", ".join(f"{name} ({sink.describe()})" for name, sink in self.sinks.items()),
        )
        while not stop.is_set():
            try:
                busy = self.run_once()
            except Exception:  # the state store briefly away: pause, do not die
                log.exception("relay loop failed")
                busy = 0
            if not busy:
                stop.wait(self.settings.poll_interval)
        log.info("relay %s stopped", self.name)

    def close(self) -> None:
        for sink in self.sinks.values():
            sink.close()
