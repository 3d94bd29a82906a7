"""The relay's throughput to RabbitMQ with publisher confirms, beside a bare pika publisher with
confirms in the same run, and the end-to-end latency of a legacy change to a consumer.

    .venv/bin/python bench/events/run.py [--events 20000] [--rounds 3] [--changes 300]

Needs RabbitMQ on 127.0.0.1:5672 (guest/guest); exchanges and queues are named per run.
Throughput: N events already in the log (a SQLite state store file), published by one relay
(4 partitions, batches of 500, each message confirmed) until the log is drained; the baseline
publishes the very same N wire messages (headers and bodies built beforehand) with a bare
pika BlockingChannel in confirm mode (persistent, mandatory).  Rounds alternate, medians.
Latency: a legacy SQLite table read over ODBC in watermark mode (an integer sequence), a scan
due every 1 s and a relay polling every 500 ms (the defaults), as `legacy-bridge worker` runs
them; ``--changes`` updates at ~10 per second, each timed from its commit to its arrival at a
consumer.  Prints and writes JSON to bench/events/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import statistics as st
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pika

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from legacy_bridge.config import validate  # noqa: E402
from legacy_bridge.events.changes import Scanner  # noqa: E402
from legacy_bridge.events.relay import Relay  # noqa: E402
from legacy_bridge.events.sinks.envelope import Envelope, rabbitmq_message  # noqa: E402
from legacy_bridge.events.state import NewEvent, StateStore  # noqa: E402
from legacy_bridge.resources import Bridge  # noqa: E402

URL = "amqp://guest:guest@127.0.0.1:5672/%2F"


def _name(what: str) -> str:
    return f"lb-bench-{what}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class Queue:
    """An exchange with a bound queue (so every message is routable), removed afterwards."""

    def __init__(self) -> None:
        self.exchange = _name("events")
        self.connection = pika.BlockingConnection(pika.URLParameters(URL))
        self.channel = self.connection.channel()
        self.channel.exchange_declare(self.exchange, "topic", durable=True)
        self.queue = self.channel.queue_declare("", exclusive=True).method.queue
        self.channel.queue_bind(self.queue, self.exchange, "#")

    def purge(self) -> None:
        self.channel.queue_purge(self.queue)

    def close(self) -> None:
        self.channel.exchange_delete(self.exchange)
        self.connection.close()


def _events_config(exchange: str, **relay) -> dict:
    return validate(
        {
            "events": {
                "source": "bench",
                "type_prefix": "com.example.bench",
                "relay": {"partitions": 4, "batch": 500, **relay},
                "sinks": {"hub": {"kind": "rabbitmq", "url": URL, "exchange": exchange}},
            }
        }
    ).events


def _record(n: int) -> dict:
    return {
        "id": n,
        "name": f"CUSTOMER {n:07d}",
        "state": "MA",
        "opened_on": "2011-04-05",
        "active": True,
        "credit_limit": "1250.00",
        "city": "Springfield",
    }


def relay_run(work: Path, exchange: str, count: int) -> float:
    store = StateStore(f"sqlite:///{work / (_name('state') + '.db')}")
    relay = Relay(store, _events_config(exchange))
    for start in range(0, count, 5000):
        with store.begin() as conn:
            store.append_events(
                conn,
                [
                    NewEvent("customers", "updated", {"id": n}, _record(n))
                    for n in range(start, min(count, start + 5000))
                ],
            )
    started, done = time.perf_counter(), 0
    while done < count:
        done += relay.run_once()
    seconds = time.perf_counter() - started
    relay.close()
    store.close()
    return count / seconds


def bare_run(exchange: str, count: int) -> float:
    envelope = Envelope("bench", "com.example.bench", "1")
    store = StateStore("sqlite://")  # only to shape the same events as the relay sends
    with store.begin() as conn:
        store.append_events(conn, [NewEvent("customers", "updated", {"id": n}, _record(n)) for n in range(count)])
    wires = [rabbitmq_message(envelope.cloud_event(e), "binary") for e in store.events(limit=count)]
    connection = pika.BlockingConnection(pika.URLParameters(URL))
    channel = connection.channel()
    channel.confirm_delivery()
    started = time.perf_counter()
    for wire in wires:
        channel.basic_publish(
            exchange,
            "customers.updated",
            wire.body,
            pika.BasicProperties(delivery_mode=2, content_type=wire.content_type, headers=wire.headers),
            mandatory=True,
        )
    seconds = time.perf_counter() - started
    connection.close()
    return count / seconds


def throughput(work: Path, count: int, rounds: int) -> dict:
    target = Queue()
    relay, bare = [], []
    try:
        for _ in range(rounds):
            bare.append(bare_run(target.exchange, count))
            target.purge()
            relay.append(relay_run(work, target.exchange, count))
            target.purge()
    finally:
        target.close()
    return {
        "events": count,
        "rounds": rounds,
        "bare_events_per_s": [round(v) for v in bare],
        "relay_events_per_s": [round(v) for v in relay],
        "bare_median": round(st.median(bare)),
        "relay_median": round(st.median(relay)),
        "ratio": round(st.median(relay) / st.median(bare), 3),
    }


def latency(work: Path, changes: int) -> dict:
    db = work / "legacy.db"
    with sqlite3.connect(db) as conn:
        conn.execute(
            "CREATE TABLE PARTS (PART_NO INTEGER PRIMARY KEY, PART_NM CHAR(20) NOT NULL, SEQ INTEGER NOT NULL)"
        )
        conn.executemany("INSERT INTO PARTS VALUES (?, ?, ?)", [(n, f"PART {n}", n) for n in range(1, 1001)])
    target = Queue()
    config = validate(
        {
            "service": {"state": f"sqlite:///{work / 'latency-state.db'}"},
            "sources": {"legacy": {"kind": "odbc", "connection": f"Driver={{SQLite3}};Database={db};StepAPI=1"}},
            "resources": {
                "parts": {
                    "source": "legacy",
                    "table": "PARTS",
                    "key": ["part_no"],
                    "watermark": "seq",
                    "changes": {"mode": "watermark", "every": "1s"},
                    "fields": {
                        "part_no": {"column": "PART_NO", "converter": "int"},
                        "name": {"column": "PART_NM", "converter": "trim"},
                        "seq": {"column": "SEQ", "converter": "int", "sort": True},
                    },
                }
            },
            "events": {
                "relay": {"poll_interval": "500ms"},
                "sinks": {"hub": {"kind": "rabbitmq", "url": URL, "exchange": target.exchange}},
            },
        }
    )
    bridge = Bridge(config, secret="bench")
    store = StateStore(config.service["state"])
    scanner = Scanner(store, bridge.resources["parts"])
    scanner.scan()  # the baseline
    relay = Relay(store, config.events)
    stop = threading.Event()

    def scans() -> None:  # what the worker does: a due scan, each loop
        while not stop.is_set():
            if scanner.due():
                scanner.scan()
            stop.wait(0.1)

    committed: dict[str, float] = {}
    arrived: dict[str, float] = {}
    threads = [
        threading.Thread(target=scans, daemon=True),
        threading.Thread(target=relay.run, args=(stop,), daemon=True),
    ]
    for thread in threads:
        thread.start()
    consumer = pika.BlockingConnection(pika.URLParameters(URL))
    channel = consumer.channel()
    queue = channel.queue_declare("", exclusive=True).method.queue
    channel.queue_bind(queue, target.exchange, "#")
    channel.basic_consume(
        queue, lambda ch, m, p, body: arrived.setdefault(json.loads(body)["name"], time.time()), auto_ack=True
    )
    try:
        with sqlite3.connect(db, isolation_level=None) as legacy:
            for n in range(changes):
                name = f"V{n}"
                legacy.execute(
                    "UPDATE PARTS SET PART_NM = ?, SEQ = (SELECT MAX(SEQ) + 1 FROM PARTS) WHERE PART_NO = ?",
                    (name, n % 1000 + 1),
                )
                committed[name] = time.time()
                deadline = time.monotonic() + 0.1
                while time.monotonic() < deadline:
                    consumer.process_data_events(time_limit=0.02)
        deadline = time.monotonic() + 30
        while len(arrived) < changes and time.monotonic() < deadline:
            consumer.process_data_events(time_limit=0.2)
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
        consumer.close()
        relay.close()
        bridge.close()
        target.close()
    seconds = sorted(arrived[k] - committed[k] for k in committed if k in arrived)
    return {
        "changes": changes,
        "arrived": len(seconds),
        "scan_every_s": 1.0,
        "relay_poll_s": 0.5,
        "p50_ms": round(1000 * seconds[len(seconds) // 2]),
        "p99_ms": round(1000 * seconds[min(len(seconds) - 1, int(len(seconds) * 0.99))]),
        "max_ms": round(1000 * seconds[-1]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--changes", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        result = {
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "throughput": throughput(Path(work), args.events, args.rounds),
            "latency": latency(Path(work), args.changes),
        }
    print(json.dumps(result, indent=2))
    out = ROOT / "bench" / "events" / "results" / f"{result['when'][:10]}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
