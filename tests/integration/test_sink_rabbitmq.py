"""What only RabbitMQ does: structured mode on the RabbitMQ binding, unroutable events
reported (the behaviours every broker shares are in test_sinks.py)."""

from __future__ import annotations

import yaml
from click.testing import CliRunner

from helpers.brokers import RabbitConsumer, assert_complete_and_ordered, rabbit_url, run_name
from helpers.servers import free_port
from helpers.sink_fixtures import checked_events, emit, events_section
from legacy_bridge.cli import main
from legacy_bridge.events import sink_cursors
from legacy_bridge.events.relay import Relay
from legacy_bridge.events.state import StateStore


def _rabbit(exchange: str, port: int = 5672, **options) -> dict:
    return {"kind": "rabbitmq", "url": rabbit_url(port), "exchange": exchange, "timeout": "1s", **options}


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
    with RabbitConsumer(exchange, binding="orders.*"):  # nothing binds parts.*
        relay = Relay(store, events)
        emit(store, keys=3, rounds=1)
        assert relay.run_once() == 3
        relay.close()
    status = sink_cursors.status(store, "hub")
    assert (status["unroutable"], status["published"], status["lag"]) == (3, 3, 0)


def test_a_replay_publishes_a_range_again_in_order_with_the_same_ids(tmp_path):
    exchange = run_name("replay")
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    sink = _rabbit(exchange)
    config = tmp_path / "lb.yaml"
    config.write_text(yaml.safe_dump({"service": {"state": store.url}, "events": events_section({"hub": sink})}))
    with RabbitConsumer(exchange) as consumer:
        relay = Relay(store, checked_events({"hub": sink}))
        ids = sorted(emit(store, keys=3, rounds=4))
        assert relay.run_once() == 12
        consumer.collect(12)
        result = CliRunner().invoke(
            main, ["events", "replay", "--config", str(config), "--sink", "hub", "--since", f"evt_{ids[6]}"]
        )
        assert result.exit_code == 0, result.output
        assert relay.run_once() == 6
        relay.close()
        consumer.collect(18, distinct=False)
    again = [int(r.id[4:]) for r in consumer.received[12:]]
    assert sorted(again) == ids[6:]
    assert assert_complete_and_ordered(consumer.received[12:], set(ids[6:])) == 0


def test_check_reaches_every_sink_and_fails_on_an_unreachable_one(tmp_path):
    config, exchange = tmp_path / "lb.yaml", run_name("check")
    config.write_text(
        yaml.safe_dump(
            {
                "service": {"state": f"sqlite:///{tmp_path / 'state.db'}"},
                "events": events_section({"hub": _rabbit(exchange), "away": _rabbit("x", port=free_port())}),
            }
        )
    )
    with RabbitConsumer(exchange):  # removes the exchange the check declared
        result = CliRunner().invoke(main, ["check", "--config", str(config)])
    assert result.exit_code == 1, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines()[-4:] if line.startswith("  ")}
    assert " ok " in lines["hub"] and "amqp://127.0.0.1:5672/ exchange lb-test-check" in lines["hub"]
    assert "FAILING" in lines["away"] and "cannot connect" in lines["away"]
