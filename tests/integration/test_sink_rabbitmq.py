"""Change events on a real RabbitMQ (127.0.0.1:5672) as CloudEvents, through the outbox and
the relay: a legacy row's life in order, the broker cut away and back, a relay SIGKILLed
mid-batch, two relays sharing the work.  Exchanges and queues are named per run."""
from __future__ import annotations

import signal
import time
from pathlib import Path

from helpers.backends import make_app
from helpers.brokers import RabbitConsumer, assert_complete_and_ordered, rabbit_url, run_name
from helpers.servers import TcpProxy, stop, wait_until
from helpers.sink_fixtures import (TABLE, checked_events, create_parts, emit, parts_config, relay_thread,
                                   worker_config, worker_process)
from legacy_bridge.facades.webhooks import store_of

from legacy_bridge.events import sink_cursors
from legacy_bridge.events.changes import Scanner
from legacy_bridge.events.outbox import webhook_id
from legacy_bridge.events.relay import Relay
from legacy_bridge.events.state import StateStore


def _rabbit(exchange: str, port: int = 5672, **options) -> dict:
    return {"kind": "rabbitmq", "url": rabbit_url(port), "exchange": exchange, "timeout": "1s", **options}


def test_a_legacy_row_inserted_updated_deleted_reaches_a_consumer_as_cloudevents_in_order(sqlite_only, tmp_path):
    create_parts(sqlite_only)
    exchange = run_name("parts")
    app = make_app(parts_config(sqlite_only, f"sqlite:///{tmp_path / 'state.db'}", {"hub": _rabbit(exchange)}))
    bridge, store = app.extensions["legacy_bridge"], store_of(app)
    scanner = Scanner(store, bridge.resources["parts"])
    scanner.scan()                                   # the baseline: no events
    relay = Relay(store, bridge.config.events)
    t, q = sqlite_only.q(TABLE), sqlite_only.q
    with RabbitConsumer(exchange) as consumer:
        sqlite_only.execute(f"INSERT INTO {t} VALUES (?, ?, ?)", 77, "GEAR", 3)
        scanner.scan()
        sqlite_only.execute(f"UPDATE {t} SET {q('QTY')} = ? WHERE {q('PART_NO')} = ?", 4, 77)
        scanner.scan()
        sqlite_only.execute(f"DELETE FROM {t} WHERE {q('PART_NO')} = ?", 77)
        scanner.scan()
        assert relay.run_once() == 3
        received = consumer.collect(3)
    relay.close()
    ids = [e.id for e in store.events(limit=10)]
    assert [r.routing_key for r in received] == ["parts.created", "parts.updated", "parts.deleted"]
    assert [r.id for r in received] == [webhook_id(i) for i in ids]          # the webhook-id, too
    events = [r.event for r in received]
    assert [e.get_type() for e in events] == [f"com.example.crm.parts.{k}.v1" for k in ("created", "updated", "deleted")]
    assert {e.get_source() for e in events} == {"crm.test/parts"}
    assert {e.get_subject() for e in events} == {"77"}
    assert [e.get_data() for e in events] == [{"part_no": 77, "name": "GEAR", "quantity": 3},
                                              {"part_no": 77, "name": "GEAR", "quantity": 4}, {"part_no": 77}]
    assert events[0].get_time() is not None and events[0].get_specversion() == "1.0"
    assert received[0].headers["ce-id"] == received[0].id and received[0].content_type == "application/json"
    bridge.close()


def test_structured_mode_sends_the_whole_event_as_one_json_document(tmp_path):
    exchange = run_name("structured")
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    events = checked_events({"hub": _rabbit(exchange, mode="structured")})
    with RabbitConsumer(exchange) as consumer:
        relay = Relay(store, events)
        expected = emit(store, keys=2, rounds=1)
        assert relay.run_once() == 2
        received = consumer.collect(2)
        relay.close()
    assert {r.content_type for r in received} == {"application/cloudevents+json"}
    assert not any(k.startswith("ce-") for r in received for k in r.headers)
    assert {int(r.id[4:]) for r in received} == expected


def test_an_event_no_queue_takes_is_reported_as_unroutable(tmp_path):
    exchange = run_name("unroutable")
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    events = checked_events({"hub": _rabbit(exchange)})
    with RabbitConsumer(exchange, binding="orders.*"):      # nothing binds parts.*
        relay = Relay(store, events)
        emit(store, keys=3, rounds=1)
        assert relay.run_once() == 3
        relay.close()
    status = sink_cursors.status(store, "hub")
    assert (status["unroutable"], status["published"], status["lag"]) == (3, 3, 0)


def test_the_broker_cut_away_while_changes_pile_up_gets_every_event_in_order_per_key(tmp_path):
    exchange = run_name("outage")
    proxy = TcpProxy(("127.0.0.1", 5672))
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    events = checked_events({"hub": _rabbit(exchange, port=proxy.port)})
    with RabbitConsumer(exchange) as consumer:
        with relay_thread(store, events):
            expected = emit(store, keys=100, rounds=20)             # 2,000 flowing
            while len(consumer.collect(200, timeout=5)) < 200:
                pass
            proxy.cut()                                             # the broker is away mid-stream
            expected |= emit(store, keys=100, rounds=80)            # 8,000 more while it is away
            time.sleep(1.5)                                         # the relay retries (and backs off) meanwhile
            assert sink_cursors.status(store, "hub")["failures"] > 0
            proxy.restore()
            consumer.collect(len(expected), timeout=120)
        proxy.close()
    duplicates = assert_complete_and_ordered(consumer.received, expected)
    assert duplicates <= 4 * 1      # at most the one unconfirmed message per partition at the cut
    assert sink_cursors.status(store, "hub")["lag"] == 0


def test_a_relay_killed_mid_batch_loses_nothing(tmp_path):
    exchange = run_name("kill")
    state = f"sqlite:///{tmp_path / 'state.db'}"
    store = StateStore(state)
    config, log = worker_config(tmp_path, state, {"hub": _rabbit(exchange)}, batch=50), tmp_path / "relay.log"
    with RabbitConsumer(exchange) as consumer:
        Relay(store, checked_events({"hub": _rabbit(exchange)})).close()      # the sink's cursors, at the head
        expected = emit(store, keys=50, rounds=60)                   # 3,000 events
        first = worker_process(config, log, "first")
        try:
            consumer.collect(300, timeout=60)
            assert len(consumer.received) >= 300, log.read_text()
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


def test_two_relays_share_the_work_and_publish_no_event_twice(tmp_path):
    exchange = run_name("two")
    state = f"sqlite:///{tmp_path / 'state.db'}"
    store = StateStore(state)
    config, log = worker_config(tmp_path, state, {"hub": _rabbit(exchange)}, batch=20), tmp_path / "relays.log"
    with RabbitConsumer(exchange) as consumer:
        Relay(store, checked_events({"hub": _rabbit(exchange)})).close()
        relays = [worker_process(config, log, name) for name in ("r1", "r2")]
        try:
            expected = set()
            for _ in range(10):                                    # changes keep coming while both run
                expected |= emit(store, keys=40, rounds=5)
                time.sleep(0.1)
            consumer.collect(len(expected), timeout=120)
            assert wait_until(lambda: sink_cursors.status(store, "hub")["lag"] == 0, 30), Path(log).read_text()
        finally:
            for relay in relays:
                stop(relay)
    assert assert_complete_and_ordered(consumer.received, expected) == 0      # none published twice
