"""``legacy-bridge worker``: delivers webhooks, publishes to the event sinks (a relay thread, when
``events.sinks`` names any) and runs the due change scans, until stopped."""

from __future__ import annotations

import os
import signal
import threading

import click

from legacy_bridge.cli.common import config_option, load_config


def _stop_on_signals(stop: threading.Event) -> None:
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())


@click.command("worker")
@config_option
@click.option("--once", is_flag=True, help="One pass (scan, fan out, deliver what is due), then exit.")
@click.option("--name", default=None, help="This worker's name in claims (default: host:pid:random).")
@click.option(
    "--scan/--no-scan",
    default=True,
    show_default=True,
    help="Also run the due change scans of resources with changes: (or leave them to legacy-bridge scan).",
)
def worker(config_path: str | None, once: bool, name: str | None, scan: bool = True) -> None:
    """Deliver webhooks and publish change events to the configured sinks, with retries."""
    from legacy_bridge.events.state import StateStore, state_url
    from legacy_bridge.events.webhooks import Settings
    from legacy_bridge.events.worker import Worker, due_scans
    from legacy_bridge.ops.logs import configure
    from legacy_bridge.resources import Bridge

    config = load_config(config_path)
    configure(os.environ.get("LEGACY_BRIDGE_LOG_LEVEL", "INFO"))
    store = StateStore(state_url(config.service, config.origin))
    store.migrate()
    bridge = Bridge(config, secret="worker")  # reads only: no cursor is signed
    runner = Worker(
        store,
        Settings.from_config(config.webhooks),
        name,
        due_scans(store, bridge) if scan else None,
        config.events.get("retention"),
    )
    relay = None
    if config.events.get("sinks"):  # the broker clients are the [events] extra
        from legacy_bridge.events.relay import Relay

        relay = Relay(store, config.events, runner.name, resources=bridge.resources)
    relay_thread = None
    try:
        if once:
            click.echo(f"{runner.run_once()} delivery attempt(s)")
            if relay is not None:
                click.echo(f"{relay.run_once()} event(s) published to sinks")
            return
        stop = threading.Event()
        _stop_on_signals(stop)
        if relay is not None:  # its own thread: a broker that is away must not hold up webhooks
            relay_thread = threading.Thread(target=relay.run, args=(stop,), name="relay", daemon=True)
            relay_thread.start()
            click.echo(f"relay to sink(s) {', '.join(relay.sinks)}")
        click.echo(f"webhook worker {runner.name} on {store.dialect} state store (Ctrl-C to stop)")
        runner.run(stop)
    finally:
        if relay_thread is not None:
            relay_thread.join(60)
        if relay is not None:
            relay.close()
        runner.close()
        bridge.close()
        store.close()
