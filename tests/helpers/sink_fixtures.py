"""Shared pieces of the event-sink tests: a legacy table with a change feed, events made
straight into the log, relays in threads and in worker processes."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from legacy_bridge.config.loader import validate
from legacy_bridge.events.relay import Relay
from legacy_bridge.events.state import NewEvent, StateStore

TABLE = "LB_EVT_PART"
FAST_RELAY = {
    "partitions": 4,
    "batch": 200,
    "lease": "3s",
    "poll_interval": "50ms",
    "backoff": "100ms",
    "max_backoff": "500ms",
}


def events_section(sinks: dict[str, dict], **relay: Any) -> dict:
    return {"type_prefix": "com.example.crm", "source": "crm.test", "relay": {**FAST_RELAY, **relay}, "sinks": sinks}


def checked_events(sinks: dict[str, dict], **relay: Any) -> dict:
    """The events: section as the config checker leaves it."""
    return validate({"events": events_section(sinks, **relay)}).events


def parts_config(b: Any, state: str, sinks: dict[str, dict]) -> dict:
    """A legacy table of parts (no update timestamp: snapshot mode) opted into the change feed."""
    return {
        "service": {"secret": "test-secret", "state": state},
        "sources": {"crm": {"kind": "odbc", "connection": b.connection, "timeout": "5s"}},
        "resources": {
            "parts": {
                "source": "crm",
                "table": TABLE,
                "key": ["part_no"],
                "changes": {"mode": "snapshot", "every": 0},
                "fields": {
                    "part_no": {"column": "PART_NO", "converter": "int"},
                    "name": {"column": "PART_NM", "converter": "trim"},
                    "quantity": {"column": "QTY", "converter": "int"},
                },
            }
        },
        "events": events_section(sinks),
    }


def create_parts(b: Any) -> None:
    b.drop("TABLE", TABLE)
    b.execute(
        f"CREATE TABLE {b.q(TABLE)} ({b.q('PART_NO')} INTEGER NOT NULL PRIMARY KEY, "
        f"{b.q('PART_NM')} CHAR(20) NOT NULL, {b.q('QTY')} INTEGER NOT NULL)"
    )
    b.executemany(f"INSERT INTO {b.q(TABLE)} VALUES (?, ?, ?)", [(n, f"PART {n}", n) for n in range(1, 6)])


def emit(store: StateStore, keys: int, rounds: int, resource: str = "parts") -> set[int]:
    """``rounds`` updates of each of ``keys`` keys, as scans append them; the new event ids."""
    before = store.last_event_id()
    for r in range(rounds):
        with store.begin() as conn:
            store.append_events(
                conn, [NewEvent(resource, "updated", {"part_no": k}, {"part_no": k, "round": r}) for k in range(keys)]
            )
    return set(range(before + 1, store.last_event_id() + 1))


@contextmanager
def relay_thread(store: StateStore, events: dict, name: str | None = None) -> Iterator[Relay]:
    relay = Relay(store, events, name)
    stop = threading.Event()
    thread = threading.Thread(target=relay.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield relay
    finally:
        stop.set()
        thread.join(30)
        relay.close()


def worker_config(tmp_path: Path, state: str, sinks: dict[str, dict], **relay: Any) -> Path:
    path = tmp_path / "relay.yaml"
    path.write_text(yaml.safe_dump({"service": {"state": state}, "events": events_section(sinks, **relay)}))
    return path


def worker_process(config: Path, log: Path, name: str) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "legacy_bridge.cli", "worker", "--config", str(config), "--name", name, "--no-scan"],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
