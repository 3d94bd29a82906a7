"""``legacy-bridge events``: the event sinks and the event log.

- ``events status``: each sink's lag, oldest unsent event, counters (JSON);
- ``events replay --sink S --since <event id|time>``: publish a range again (the relay does it);
- ``events prune``: apply ``events.retention`` now (the worker does it every minute).
"""

from __future__ import annotations

import click

from legacy_bridge.cli.common import config_option, fail, load_config


def _store(config_path: str | None):
    from legacy_bridge.events.state import StateStore, state_url

    config = load_config(config_path)
    store = StateStore(state_url(config.service, config.origin))
    store.migrate()
    return config, store


@click.group("events")
def events() -> None:
    """Event sinks (RabbitMQ, NATS, MQTT) and the change-event log."""


@events.command("status")
@config_option
def status(config_path: str | None) -> None:
    """Each sink's lag, oldest unsent event, published, unroutable and failed counts (JSON)."""
    from legacy_bridge.events.sink_ops import report
    from legacy_bridge.formats.jsonio import dumps

    config, store = _store(config_path)
    click.echo(dumps(report(store, list(config.events["sinks"]))).decode())
    store.close()


@events.command("replay")
@config_option
@click.option("--sink", "sink", required=True, help="The sink (a name under events.sinks).")
@click.option(
    "--since",
    "since",
    required=True,
    help="The first event to publish again: an event id (42 or evt_42) or a time (2026-11-29T10:00:00Z).",
)
def replay(config_path: str | None, sink: str, since: str) -> None:
    """Publish every event from --since on again to one sink, in order per key (the running
    relays do it; consumers see the same CloudEvents ids again)."""
    from legacy_bridge.events import sink_cursors
    from legacy_bridge.events.sink_ops import first_event_at

    config, store = _store(config_path)
    if sink not in config.events["sinks"]:
        fail(f"--sink: no sink {sink!r}; configured: {', '.join(sorted(config.events['sinks'])) or 'none'}")
    try:
        first = first_event_at(store, since)
    except ValueError as exc:
        fail(str(exc))
    sink_cursors.ensure(store, sink, config.events["relay"]["partitions"])
    sink_cursors.replay(store, sink, first - 1)
    click.echo(
        f"{sink}: events from id {first} on will be published again ({store.last_event_id() - first + 1} "
        "at most, fewer if pruned)"
    )
    store.close()


@events.command("prune")
@config_option
def prune(config_path: str | None) -> None:
    """Delete the events older than events.retention that every sink and subscription has taken."""
    from legacy_bridge.events.sink_ops import prune as prune_log

    config, store = _store(config_path)
    if config.events["retention"] is None:
        fail("events.retention is not set: every event is kept")
    click.echo(f"{prune_log(store, config.events['retention'])} event(s) pruned")
    store.close()
