"""``legacy-bridge worker``: turns change events into outbox rows and delivers them.

Run as many as you like, on as many hosts as share the state store: fan-out is locked
per subscription and each outbox row is claimed by one worker at a time
(:mod:`legacy_bridge.webhooks_store`), so adding workers adds throughput, never
duplicates.  A worker that dies holding rows (SIGKILL, a lost host) loses them after
``webhooks.claim_ttl``; another worker, or itself restarted, then sends them.  A row
is marked delivered only after the receiver's 2xx: a worker killed between the send
and the record sends it again (at-least-once, same ``webhook-id``); the attempt it made is
counted all the same (at claim time).  With ``events.retention`` the worker also prunes the
change-event log once a minute.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from legacy_bridge.events import outbox
from legacy_bridge.events.sink_ops import prune
from legacy_bridge.events.state import StateStore
from legacy_bridge.events.webhooks import Settings, deliver

log = logging.getLogger("legacy_bridge.webhooks")
PRUNE_EVERY = 60.0  # seconds between two prunes of the event log (events.retention)


def worker_name() -> str:
    """Unique per process and host: claims are fenced by it."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Worker:
    """One worker process's loop.  ``scan`` (optional) detects changes before each fan-out."""

    def __init__(
        self,
        store: StateStore,
        settings: Settings,
        name: str | None = None,
        scan: Callable[[], Any] | None = None,
        retention: float | None = None,
    ) -> None:
        self.store = store
        self.retention = retention  # events.retention: the log is pruned once a minute
        self._pruned_at = 0.0
        self.settings = settings
        self.name = name or worker_name()
        self.scan = scan
        self._pool = ThreadPoolExecutor(max_workers=settings.concurrency, thread_name_prefix="webhook")

    def _send(self, row: outbox.Claimed) -> str:
        outcome = deliver(row.url, row.secret, row.webhook_id, row.body, row.attempts, self.settings, time.time())
        answer = outcome.answer
        kept = outbox.record(
            self.store,
            row.id,
            self.name,
            outcome.status,
            outcome.attempts,
            answer.status,
            answer.error,
            outcome.next_attempt_at,
        )
        if not kept:  # redelivered, unsubscribed or (past claim_ttl) taken over meanwhile
            log.warning("delivery %s: claim lost before its outcome (%s) was recorded", row.id, outcome.status)
        elif outcome.status == outbox.DEAD:
            log.warning(
                "delivery %s (%s) to %s is dead after %d attempts: %s",
                row.id,
                row.webhook_id,
                row.url,
                outcome.attempts,
                answer.error,
            )
        return outcome.status

    def run_once(self) -> int:
        """Scan, fan out, then claim and send what is due; how many attempts were made."""
        if self.scan is not None:
            try:
                self.scan()
            except Exception:  # a failing legacy source must not stop deliveries
                log.exception("change scan failed")
        outbox.fan_out(self.store)
        if self.retention is not None and time.monotonic() - self._pruned_at >= PRUNE_EVERY:
            self._pruned_at = time.monotonic()
            prune(self.store, self.retention)
        rows = outbox.claim(self.store, self.name, self.settings.batch, self.settings.claim_ttl)
        return len(list(self._pool.map(self._send, rows)))

    def run(self, stop: threading.Event) -> None:
        """Loop until ``stop`` is set; rows in flight finish first (each within the timeout)."""
        log.info("webhook worker %s started", self.name)
        while not stop.is_set():
            try:
                busy = self.run_once()
            except Exception:  # the store briefly away: retry after a pause, do not die
                log.exception("webhook worker loop failed")
                busy = 0
            if not busy:
                stop.wait(self.settings.poll_interval)
        log.info("webhook worker %s stopped", self.name)

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def due_scans(store: StateStore, bridge: Any) -> Callable[[], None] | None:
    """Run the change scans of the resources with ``changes:`` whose interval is up, so
    a legacy change becomes a webhook within ``every`` + ``poll_interval`` seconds."""
    from legacy_bridge.events.changes import Scanner

    scanners = [Scanner(store, r) for r in bridge.resources.values() if r.spec.changes]
    if not scanners:
        return None

    def scan() -> None:
        for scanner in scanners:
            if scanner.due():
                scanner.scan()  # skipped by itself when another process holds the lease

    return scan
