"""Operating the sinks without a broker: lag, failures and the oldest unsent event in /metrics
and /readyz while the broker is unreachable; replay by id and by time; retention that never
prunes an unsent event."""

from __future__ import annotations

import time

import pytest
import yaml
from click.testing import CliRunner

from helpers.backends import make_app
from helpers.servers import free_port
from helpers.sink_fixtures import emit, events_section
from legacy_bridge.cli import main
from legacy_bridge.config import validate
from legacy_bridge.events import sink_cursors
from legacy_bridge.events.outbox import create_subscription
from legacy_bridge.events.relay import Relay
from legacy_bridge.events.sink_ops import first_event_at, prune
from legacy_bridge.events.state import StateStore
from legacy_bridge.events.webhooks import Settings
from legacy_bridge.events.worker import Worker

NOWHERE = {"kind": "rabbitmq", "url": f"amqp://guest:guest@127.0.0.1:{free_port()}/%2F", "timeout": "1s"}


def _app_with_sink(tmp_path):
    state = f"sqlite:///{tmp_path / 'state.db'}"
    return make_app({"service": {"state": state}, "events": events_section({"hub": NOWHERE})}), StateStore(state)


def test_lag_failures_and_the_oldest_unsent_event_show_in_metrics_and_readyz(tmp_path):
    app, store = _app_with_sink(tmp_path)
    relay = Relay(store, app.extensions["legacy_bridge"].config.events)
    emit(store, keys=3, rounds=2)
    assert relay.run_once() == 0  # the broker is unreachable: nothing confirmed
    relay.close()
    metrics = app.test_client().get("/metrics").get_data(as_text=True)
    assert 'legacy_bridge_sink_lag_events{sink="hub"} 6.0' in metrics
    assert 'legacy_bridge_sink_published_total{sink="hub"} 0.0' in metrics
    assert 'legacy_bridge_sink_failed_attempts_total{sink="hub"}' in metrics
    assert 'legacy_bridge_sink_failed_attempts_total{sink="hub"} 0.0' not in metrics
    age = next(line for line in metrics.splitlines() if line.startswith("legacy_bridge_sink_oldest_unsent_age_seconds"))
    assert float(age.split()[-1]) >= 0
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 200  # a broker away delays events; the API still serves
    hub = ready.get_json()["sinks"]["hub"]
    assert (hub["state"], hub["lag"], hub["published"]) == ("retrying", 6, 0)
    assert "cannot connect" in hub["last_error"] and hub["oldest_unsent"].endswith("Z")


def test_readyz_says_when_no_relay_has_run_for_a_sink(tmp_path):
    app, _ = _app_with_sink(tmp_path)
    assert app.test_client().get("/readyz").get_json()["sinks"]["hub"]["state"] == "unknown"


def test_replay_moves_every_partition_back_to_an_id_or_a_time(tmp_path):
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    sink_cursors.ensure(store, "hub", 4)
    ids = sorted(emit(store, keys=4, rounds=3))
    assert first_event_at(store, f"evt_{ids[5]}") == ids[5] == first_event_at(store, str(ids[5]))
    assert first_event_at(store, "2000-01-01T00:00:00Z") == ids[0]
    assert first_event_at(store, "2999-01-01T00:00:00+02:00") == ids[-1] + 1  # nothing that late
    with pytest.raises(ValueError, match="--since: expected an event id"):
        first_event_at(store, "yesterday")
    config = tmp_path / "lb.yaml"
    config.write_text(yaml.safe_dump({"service": {"state": store.url}, "events": events_section({"hub": NOWHERE})}))
    result = CliRunner().invoke(
        main, ["events", "replay", "--config", str(config), "--sink", "hub", "--since", f"evt_{ids[5]}"]
    )
    assert result.exit_code == 0, result.output
    assert {c.partition: c.position for c in sink_cursors.claim(store, "hub", 4, "me", 10, 4)} == {
        p: ids[5] - 1 for p in range(4)
    }
    wrong = CliRunner().invoke(main, ["events", "replay", "--config", str(config), "--sink", "nope", "--since", "1"])
    assert wrong.exit_code == 2 and "no sink 'nope'; configured: hub" in wrong.output


def test_retention_prunes_only_old_events_every_sink_and_subscription_has_taken(tmp_path):
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    sink_cursors.ensure(store, "hub", 2)
    ids = sorted(emit(store, keys=2, rounds=5))  # 10 events
    later = time.time() + 3600
    assert prune(store, retention=60, now=later) == 0  # old enough, but nothing sent yet
    for cursor in sink_cursors.claim(store, "hub", 2, "me", 10, 2):  # the sink confirmed all but the last 4
        sink_cursors.advance(store, cursor, "me", ids[5], 0, 0)
    sub = create_subscription(store, "https://example.com/hook", ["*.*"], "whsec_x")
    assert sub["id"]  # a new subscription starts at the head
    assert prune(store, retention=60, now=later) == 6
    assert [e.id for e in store.events(limit=100)] == ids[6:]
    assert prune(store, retention=7200, now=later) == 0  # younger than the retention
    for cursor in sink_cursors.claim(store, "hub", 2, "me", 10, 2):
        sink_cursors.advance(store, cursor, "me", ids[-1], 0, 0)
    assert prune(store, retention=60, now=later) == 3  # the newest event always stays
    assert [e.id for e in store.events(limit=100)] == ids[-1:]
    emit(store, keys=1, rounds=1)
    assert store.last_event_id() == ids[-1] + 1  # ids never come back


def test_the_worker_prunes_the_log_by_the_configured_retention(tmp_path):
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    ids = sorted(emit(store, keys=3, rounds=2))
    time.sleep(0.01)
    Worker(store, Settings.from_config({}), retention=0.001).run_once()
    assert [e.id for e in store.events(limit=100)] == ids[-1:]


def test_events_status_and_prune_from_the_command_line(tmp_path):
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    sink_cursors.ensure(store, "hub", 4)
    emit(store, keys=2, rounds=1)
    config = tmp_path / "lb.yaml"
    config.write_text(yaml.safe_dump({"service": {"state": store.url}, "events": events_section({"hub": NOWHERE})}))
    shown = CliRunner().invoke(main, ["events", "status", "--config", str(config)])
    assert shown.exit_code == 0 and '"hub":{"lag":2' in shown.output, shown.output
    refused = CliRunner().invoke(main, ["events", "prune", "--config", str(config)])
    assert refused.exit_code == 2 and "events.retention is not set" in refused.output
    config.write_text(
        yaml.safe_dump(
            {"service": {"state": store.url}, "events": {**events_section({"hub": NOWHERE}), "retention": "1h"}}
        )
    )
    pruned = CliRunner().invoke(main, ["events", "prune", "--config", str(config)])
    assert pruned.exit_code == 0 and "0 event(s) pruned" in pruned.output


class _Broken:
    """A sink whose client fails in a way nobody planned for."""

    def publish(self, messages):
        raise KeyError("surprise")

    def close(self):
        pass


def test_an_unexpected_client_error_backs_the_partition_off_instead_of_spinning(tmp_path):
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    events = validate({"events": events_section({"hub": NOWHERE})}).events
    relay = Relay(store, events, sinks={"hub": _Broken()})
    emit(store, keys=4, rounds=1)
    assert relay.run_once() == 0
    status = sink_cursors.status(store, "hub")
    assert status["retrying"] >= 1 and "unexpected KeyError" in status["last_error"] and status["lag"] == 4
    assert relay.run_once() == 0  # backing off: not tried again at once
    assert sink_cursors.status(store, "hub")["failed_attempts"] == status["failed_attempts"]
