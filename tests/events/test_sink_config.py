"""The events: section: sinks, relay and retention checked with clear, located errors."""

from __future__ import annotations

import pytest

from legacy_bridge.config.loader import validate
from legacy_bridge.errors import ConfigError


def test_a_rabbitmq_sink_is_filled_with_defaults_and_env_credentials(monkeypatch):
    monkeypatch.setenv("MQ_PASSWORD", "s3cret")
    config = validate(
        {
            "service": {"title": "crm"},
            "events": {
                "retention": "168h",
                "sinks": {"hub": {"kind": "rabbitmq", "url": "amqp://app:${MQ_PASSWORD}@mq/%2F"}},
            },
        }
    )
    hub = config.events["sinks"]["hub"]
    assert hub["url"] == "amqp://app:s3cret@mq/%2F"
    assert (hub["exchange"], hub["mode"], hub["events"], hub["timeout"]) == (
        "legacy-bridge.events",
        "binary",
        ["*.*"],
        5.0,
    )
    assert config.events["retention"] == 168 * 3600
    assert (config.events["source"], config.events["contract_version"]) == ("crm", "1")


def test_every_bad_sink_key_is_reported_with_its_path():
    with pytest.raises(ConfigError) as caught:
        validate(
            {
                "events": {
                    "relay": {"batch": 0, "lease": "soon"},
                    "retention": "forever",
                    "sinks": {
                        "a": {"kind": "kafka"},
                        "b": {
                            "kind": "rabbitmq",
                            "mode": "packed",
                            "events": ["customers.renamed"],
                            "colour": 1,
                            "unroutable": "drop",
                        },
                    },
                }
            }
        )
    text = str(caught.value)
    for expected in (
        "events.sinks.a.kind",
        "known: mqtt, nats, rabbitmq",
        "events.sinks.b.url",
        "required",
        "events.sinks.b.mode",
        "events.sinks.b.events[0]",
        "events.sinks.b.colour",
        "events.sinks.b.unroutable",
        "events.relay.batch",
        "events.relay.lease",
        "events.retention",
    ):
        assert expected in text, text


def test_a_lease_shorter_than_a_batch_may_take_is_refused():
    with pytest.raises(ConfigError, match="events.relay.lease"):
        validate(
            {
                "events": {
                    "relay": {"lease": "5s"},
                    "sinks": {"hub": {"kind": "rabbitmq", "url": "amqp://mq", "timeout": "10s"}},
                }
            }
        )


def test_binary_mode_on_mqtt_3_1_1_is_refused_it_has_no_user_properties():
    with pytest.raises(ConfigError, match="events.sinks.plant.mode: binary mode needs MQTT 5"):
        validate({"events": {"sinks": {"plant": {"kind": "mqtt", "url": "mqtt://broker", "protocol": "3.1.1"}}}})
    config = validate(
        {
            "events": {
                "sinks": {"plant": {"kind": "mqtt", "url": "mqtt://broker", "protocol": "3.1.1", "mode": "structured"}}
            }
        }
    )
    assert config.events["sinks"]["plant"]["topic_prefix"] == "legacy-bridge"
