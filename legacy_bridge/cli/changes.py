"""``legacy-bridge scan [RESOURCE] [--every 30s]``: run change-detection scans.

Without ``--every`` it scans once (every resource with ``changes:``, or the one named)
and exits; with it, it repeats until Ctrl-C / SIGTERM.  Exit code 1 if a scan failed.
Several of these may run at once (hosts, cron): a scan that another one is running is
skipped, not repeated.
"""

from __future__ import annotations

import signal
import time
from typing import Any

import click

from legacy_bridge.cli.common import fail, load_config
from legacy_bridge.errors import LegacyBridgeError


def _scan_all(scanners: list[Any]) -> int:
    failed = 0
    for scanner in scanners:
        try:
            result = scanner.scan()
        except LegacyBridgeError as error:
            failed += 1
            click.echo(f"{scanner.name}: FAILED {error.detail}", err=True)
            continue
        if result.skipped:
            click.echo(f"{scanner.name}: skipped (another scan is running)")
        else:
            what = (
                "baseline"
                if result.baseline
                else f"{result.created} created, {result.updated} updated, {result.deleted} deleted"
            )
            click.echo(f"{scanner.name}: {result.mode} scan of {result.rows} row(s) in {result.seconds:.2f}s: {what}")
    return failed


@click.command()
@click.argument("resource", required=False)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="The YAML config file (default: $LEGACY_BRIDGE_CONFIG).",
)
@click.option("--every", default=None, help="Repeat at this interval (30s, 5m) until stopped.")
def scan(resource: str | None, config_path: str | None, every: str | None) -> None:
    """Detect changes (snapshot diff or watermark pull) and append them to the change feed."""
    from legacy_bridge.config import parse_duration
    from legacy_bridge.events.changes import Scanner
    from legacy_bridge.events.state import StateStore, state_url
    from legacy_bridge.resources import Bridge

    config = load_config(config_path)
    try:
        interval = parse_duration(every) if every is not None else None
    except ValueError:
        fail(f"error: --every expects a duration such as 30s, got {every!r}")
    names = [n for n, spec in config.resources.items() if spec.changes]
    if resource is not None:
        if resource not in names:
            fail(f"error: {resource!r} has no changes: section; with one: {', '.join(names) or 'none'}")
        names = [resource]
    if not names:
        fail("error: no resource declares changes:")
    bridge = Bridge(config, secret="scan")
    store = StateStore(state_url(config.service, config.origin))
    store.migrate()
    scanners = [Scanner(store, bridge.resources[n]) for n in names]
    stop = []
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    failed = 0
    try:
        while True:
            failed = _scan_all(scanners)
            if interval is None:
                break
            deadline = time.monotonic() + interval
            while not stop and time.monotonic() < deadline:
                time.sleep(min(0.2, interval))
            if stop:
                break
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        bridge.close()
        store.close()
    if failed:
        raise click.exceptions.Exit(1)
