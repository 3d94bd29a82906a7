"""Sink kinds by name, imported only when a config names them (their clients are the
``[events]`` extra), and the ``events:`` section of the config, validated.

```yaml
events:
  source: crm.example.com        # CloudEvents source: <source>/<resource> (default: service.title)
  type_prefix: com.example.crm   # type: <type_prefix>.<resource>.<kind>.v<service.version>
  retention: 168h                # prune older events (none: keep every event)
  relay: {partitions: 4, batch: 500, lease: 30s, poll_interval: 500ms, backoff: 1s, max_backoff: 5m}
  sinks:
    warehouse: {kind: rabbitmq, url: "amqp://${MQ_USER}:${MQ_PASSWORD}@mq:5672/%2F", events: ["customers.*"]}
```
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from legacy_bridge.drivers.flatfile.x12_outbound import X12DropRules
from legacy_bridge.events.sinks.base import Sink
from legacy_bridge.events.webhooks import EVENT_PATTERN

__all__ = ["KINDS", "sink_class", "build", "check_config", "RELAY_DEFAULTS", "document_problems"]

KINDS = {
    "rabbitmq": "legacy_bridge.events.sinks.rabbitmq:RabbitMQSink",
    "nats": "legacy_bridge.events.sinks.nats_jetstream:NatsSink",
    "mqtt": "legacy_bridge.events.sinks.mqtt:MqttSink",
    "x12": "legacy_bridge.events.sinks.x12:X12Sink",
}
COMMON = {"kind": None, "events": ["*.*"], "mode": "binary", "timeout": 5.0}
RELAY_DEFAULTS: dict[str, Any] = {
    "partitions": 4,
    "batch": 500,
    "lease": 30.0,
    "poll_interval": 0.5,
    "backoff": 1.0,
    "max_backoff": 300.0,
}
TOP = {"source", "type_prefix", "retention", "relay", "sinks"}


def sink_class(kind: str) -> type[Sink]:
    """The class of a sink kind; ImportError when its client is not installed."""
    module, _, name = KINDS[kind].partition(":")
    return getattr(import_module(module), name)


def build(name: str, settings: dict[str, Any]) -> Sink:
    return sink_class(settings["kind"])(name, settings)


def _check_sink(ck: Any, name: str, node: Any) -> dict[str, Any] | None:
    path = f"events.sinks.{name}"
    node = ck.mapping(node, path)
    kind = node.get("kind")
    if kind not in KINDS:
        ck.fail(f"{path}.kind", f"unknown sink kind {kind!r}; known: {', '.join(sorted(KINDS))}")
        return None
    try:
        cls = sink_class(kind)
    except ImportError as exc:
        ck.fail(f"{path}.kind", f"the {kind} client is not installed ({exc.name}): pip install 'legacy-bridge[events]'")
        return None
    settings = {**COMMON, **cls.options, **node}
    ck.unknown(settings, set(COMMON) | set(cls.options), path)
    for key, default in cls.options.items():
        if default is None and not settings.get(key):
            ck.fail(f"{path}.{key}", "required")
    if settings["mode"] not in cls.modes:
        ck.fail(f"{path}.mode", f"expected {' or '.join(cls.modes)}, got {settings['mode']!r}")
    ck.duration(settings, "timeout", path)
    events = settings["events"]
    if not isinstance(events, list) or not events:
        ck.fail(f"{path}.events", "expected a list of event patterns such as [customers.*, orders.created]")
    else:
        for i, pattern in enumerate(events):
            if not isinstance(pattern, str) or not EVENT_PATTERN.match(pattern):
                ck.fail(f"{path}.events[{i}]", f"expected <resource|*>.<created|updated|deleted|*>, got {pattern!r}")
    for key, message in cls.check(settings):
        ck.fail(f"{path}.{key}", message)
    if "unroutable" in cls.options and settings["unroutable"] not in ("report", "retry"):
        ck.fail(f"{path}.unroutable", f"expected report or retry, got {settings['unroutable']!r}")
    return settings


def check_config(ck: Any, node: Any, service: dict[str, Any]) -> dict[str, Any]:
    """The ``events:`` section with defaults; problems go to ``ck`` with their key path."""
    node = dict(ck.mapping(node, "events"))
    ck.unknown(node, TOP, "events")
    relay = {**RELAY_DEFAULTS, **ck.mapping(node.get("relay"), "events.relay")}
    ck.unknown(relay, set(RELAY_DEFAULTS), "events.relay")
    for key in ("partitions", "batch"):
        relay[key] = ck.integer(relay, key, "events.relay", RELAY_DEFAULTS[key])
    for key in ("lease", "poll_interval", "backoff", "max_backoff"):
        ck.duration(relay, key, "events.relay")
    retention = node.get("retention")
    if retention is not None:
        holder = {"retention": retention}
        ck.duration(holder, "retention", "events")
        retention = holder["retention"]
    sinks = {}
    for name, sink in ck.mapping(node.get("sinks"), "events.sinks").items():
        checked = _check_sink(ck, str(name), sink)
        if checked is not None:
            sinks[str(name)] = checked
    timeouts = [s["timeout"] for s in sinks.values() if isinstance(s["timeout"], float)]
    if timeouts and isinstance(relay["lease"], float) and relay["lease"] <= 2 * max(timeouts):
        # a batch must finish inside the lease, or a second relay could publish it too
        ck.fail("events.relay.lease", f"must exceed twice the longest sink timeout ({max(timeouts)}s)")
    return {
        "source": str(node.get("source") or service.get("title") or "legacy-bridge"),
        "type_prefix": str(node.get("type_prefix") or "legacy-bridge"),
        "contract_version": str(service.get("version", "1")),
        "retention": retention,
        "relay": relay,
        "sinks": sinks,
    }


def document_problems(sinks: dict[str, dict[str, Any]], resources: dict[str, Any]) -> list[tuple[str, str]]:
    """The x12 sinks whose ``resource`` is no resource with an x12 drop, as (key, message)."""
    problems = []
    documents = sorted(n for n, spec in resources.items() if isinstance(spec.drop, X12DropRules))
    for name, settings in sinks.items():
        if settings.get("kind") == "x12" and settings.get("resource") not in documents:
            problems.append(
                (
                    f"events.sinks.{name}.resource",
                    f"expected a resource with an x12 drop (its mapping, envelope and folder), got "
                    f"{settings.get('resource')!r}; x12 drop resources: {', '.join(documents) or 'none'}",
                )
            )
    return problems
