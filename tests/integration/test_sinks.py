"""Change events on every real broker of the test machines (RabbitMQ 5672, NATS JetStream 4222,
Mosquitto 1883) as CloudEvents, through the outbox and the relay: a legacy row's life in
order, the broker cut away and back while changes pile up, a relay SIGKILLed mid-batch, two
relays sharing the work.  RabbitMQ at the issue's scale (10,000 changes), NATS at 2,000, MQTT at
1,000.
Exchanges, streams and topics are named per run."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from helpers.backends import make_app, pg_state
from helpers.brokers import (
    MqttConsumer,
    NatsConsumer,
    RabbitConsumer,
    assert_complete_and_ordered,
    rabbit_url,
    run_name,
)
from helpers.servers import TcpProxy, stop, wait_until
from helpers.sink_fixtures import (
    TABLE,
    checked_events,
    create_parts,
    emit,
    parts_config,
    relay_thread,
    worker_config,
    worker_process,
)
from legacy_bridge.events import sink_cursors
from legacy_bridge.events.changes import Scanner
from legacy_bridge.events.outbox import webhook_id
from legacy_bridge.events.relay import Relay
from legacy_bridge.events.state import StateStore
from legacy_bridge.facades.webhooks import store_of


@dataclass
class Broker:
    kind: str
    port: int
    consumer: Callable[[str], Any]
    sink_options: Callable[[str, int], dict]
    scale: int  # events per test = keys * rounds, in units of 1,000
    separator: str
    #: repeats a cut link may cause: what the relay's partitions (4) had sent unacknowledged when the
    #: link broke (RabbitMQ: confirms awaited in turn, with a margin; NATS: the stream drops repeats
    #: by Nats-Msg-Id; MQTT: paho keeps up to 20 QoS 1 messages in flight per connection)
    repeats: int

    def sink(self, name: str, port: int | None = None, **options: Any) -> dict:
        return {"kind": self.kind, "timeout": "1s", **self.sink_options(name, port or self.port), **options}

    def routing(self, name: str, resource: str, kind: str) -> str:
        return f"{resource}.{kind}" if self.kind == "rabbitmq" else self.separator.join((name, resource, kind))


BROKERS = {
    "rabbitmq": Broker(
        "rabbitmq", 5672, RabbitConsumer, lambda name, port: {"url": rabbit_url(port), "exchange": name}, 10, ".", 120
    ),
    "nats": Broker(
        "nats",
        4222,
        NatsConsumer,
        lambda name, port: {"url": f"nats://127.0.0.1:{port}", "subject_prefix": name},
        2,
        ".",
        0,
    ),
    "mqtt": Broker(
        "mqtt",
        1883,
        MqttConsumer,
        # 1,000: Mosquitto queues at most 1,000 QoS 1 messages for a subscriber that lags behind
        lambda name, port: {"url": f"mqtt://127.0.0.1:{port}", "topic_prefix": name},
        1,
        "/",
        4 * 20,
    ),
}


@pytest.fixture(params=sorted(BROKERS))
def broker(request) -> Broker:
    return BROKERS[request.param]


def test_a_legacy_row_inserted_updated_deleted_reaches_a_consumer_as_cloudevents_in_order(
    broker, sqlite_only, tmp_path
):
    create_parts(sqlite_only)
    name = run_name(broker.kind)
    app = make_app(parts_config(sqlite_only, f"sqlite:///{tmp_path / 'state.db'}", {"hub": broker.sink(name)}))
    bridge, store = app.extensions["legacy_bridge"], store_of(app)
    scanner = Scanner(store, bridge.resources["parts"])
    scanner.scan()  # the baseline: no events
    relay = Relay(store, bridge.config.events)
    t, q = sqlite_only.q(TABLE), sqlite_only.q
    with broker.consumer(name) as consumer:
        sqlite_only.execute(f"INSERT INTO {t} VALUES (?, ?, ?)", 77, "GEAR", 3)
        scanner.scan()
        sqlite_only.execute(f"UPDATE {t} SET {q('QTY')} = ? WHERE {q('PART_NO')} = ?", 4, 77)
        scanner.scan()
        sqlite_only.execute(f"DELETE FROM {t} WHERE {q('PART_NO')} = ?", 77)
        scanner.scan()
        assert relay.run_once() == 3
        received = consumer.collect(3)
    relay.close()
    kinds = ("created", "updated", "deleted")
    assert [r.routing_key for r in received] == [broker.routing(name, "parts", k) for k in kinds]
    assert [r.id for r in received] == [webhook_id(e.id) for e in store.events(limit=10)]  # the webhook-ids
    events = [r.event for r in received]
    assert [e.get_type() for e in events] == [f"com.example.crm.parts.{k}.v1" for k in kinds]
    assert {e.get_source() for e in events} == {"crm.test/parts"}
    assert {e.get_subject() for e in events} == {"77"}
    assert [e.get_data() for e in events] == [
        {"part_no": 77, "name": "GEAR", "quantity": 3},
        {"part_no": 77, "name": "GEAR", "quantity": 4},
        {"part_no": 77},
    ]
    assert events[0].get_time() is not None and events[0].get_specversion() == "1.0"
    assert received[0].headers["ce-id"] == received[0].id  # binary mode: attributes in headers
    bridge.close()


def test_the_broker_cut_away_while_changes_pile_up_gets_every_event_in_order_per_key(broker, tmp_path):
    name = run_name(broker.kind)
    proxy = TcpProxy(("127.0.0.1", broker.port))
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    events = checked_events({"hub": broker.sink(name, port=proxy.port)})
    keys, rounds = 100, 10 * broker.scale
    with broker.consumer(name) as consumer:
        with relay_thread(store, events):
            expected = emit(store, keys=keys, rounds=rounds // 5)  # a fifth flows...
            consumer.collect(keys, timeout=30)
            proxy.cut()  # ...the broker is away mid-stream
            expected |= emit(store, keys=keys, rounds=rounds - rounds // 5)  # the rest piles up meanwhile
            assert wait_until(lambda: sink_cursors.status(store, "hub")["failed_attempts"] > 0, 10)
            time.sleep(1)  # retries back off meanwhile
            proxy.restore()
            consumer.collect(len(expected), timeout=120)
        proxy.close()
    duplicates = assert_complete_and_ordered(consumer.received, expected)
    assert duplicates <= broker.repeats  # at most what was unacknowledged when the link broke
    assert sink_cursors.status(store, "hub")["lag"] == 0


def _relay_processes_setup(
    broker: Broker, tmp_path: Path, batch: int, state: str | None = None
) -> tuple[str, StateStore, Path, Path]:
    """A per-run name, a state store whose sink cursors stand at the (empty) log's head, and
    the config file and log of worker processes that relay to the sink."""
    name = run_name(broker.kind)
    state = state or f"sqlite:///{tmp_path / 'state.db'}"
    store = StateStore(state)
    Relay(store, checked_events({"hub": broker.sink(name)})).close()
    return name, store, worker_config(tmp_path, state, {"hub": broker.sink(name)}, batch=batch), tmp_path / "relay.log"


def test_a_relay_killed_mid_batch_loses_nothing(broker, tmp_path):
    name, store, config, log = _relay_processes_setup(broker, tmp_path, batch=50)
    with broker.consumer(name) as consumer:
        expected = emit(store, keys=50, rounds=30 * broker.scale)
        first = worker_process(config, log, "first")
        try:
            consumer.collect(len(expected) // 10, timeout=60)
            assert len(consumer.received) >= len(expected) // 10, log.read_text()
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(5)
        assert first.returncode == -signal.SIGKILL
        assert sink_cursors.status(store, "hub")["lag"] > 0, "killed after the end: nothing was in flight"
        second = worker_process(config, log, "second")
        try:
            consumer.collect(len(expected), timeout=120)
            assert wait_until(lambda: sink_cursors.status(store, "hub")["lag"] == 0, 30), log.read_text()
        finally:
            stop(second)
    assert_complete_and_ordered(consumer.received, expected)


def test_two_relays_share_the_work_and_publish_no_event_twice(broker, tmp_path):
    _two_relays(broker, *_relay_processes_setup(broker, tmp_path, batch=20))


def test_two_relays_on_a_postgresql_state_store_publish_no_event_twice(tmp_path):
    with pg_state(f"lb_sinks_test_{os.getpid()}") as state:  # candidates picked FOR UPDATE SKIP LOCKED
        setup = _relay_processes_setup(BROKERS["rabbitmq"], tmp_path, batch=20, state=state)
        assert setup[1].dialect == "postgresql"
        _two_relays(BROKERS["rabbitmq"], *setup)
        setup[1].close()


def _two_relays(broker: Broker, name: str, store: StateStore, config: Path, log: Path) -> None:
    with broker.consumer(name) as consumer:
        relays = [worker_process(config, log, f"r{n}") for n in (1, 2)]
        try:
            expected: set[int] = set()
            for _ in range(10):  # changes keep coming while both run
                expected |= emit(store, keys=40, rounds=broker.scale * 2)
                time.sleep(0.1)
            consumer.collect(len(expected), timeout=120)
            assert wait_until(lambda: sink_cursors.status(store, "hub")["lag"] == 0, 30), log.read_text()
        finally:
            for relay in relays:
                stop(relay)
    assert assert_complete_and_ordered(consumer.received, expected) == 0  # none published twice
    assert "r1" in log.read_text() and "r2" in log.read_text()
