"""``legacy-bridge index [RESOURCE]``: build the flat-file key indexes now, with a progress bar.

The same builds a server runs in the background (one builder per index across workers and
hosts, by a lease in the state store): run before traffic arrives, or to watch a build another
process holds (its progress comes from its lease).  Exits 0 when every served file version of
the resources' flat-file sources is indexed, 1 when a build failed.
"""

from __future__ import annotations

import sys
import time
from typing import IO, Any

import click

from legacy_bridge.cli.common import EXIT_FAILING, config_option, fail, load_config, reason
from legacy_bridge.errors import LegacyBridgeError

WIDTH = 30


def bar(entry: dict[str, Any]) -> str:
    """One build as a line: ``[#####.....]  45.2% file key index ...``."""
    what = f"{entry['file']} ({'key ' + ','.join(entry['key']) if entry.get('key') else 'bad-records survey'})"
    state = entry.get("state")
    if state == "done":
        return f"[{'#' * WIDTH}] 100.0% {what}: done"
    if state in ("waiting", "failed"):
        return f"[{'.' * WIDTH}]      - {what}: {state}{': ' + entry['error'] if entry.get('error') else ''}"
    percent = float(entry.get("percent") or 0.0)
    filled = int(WIDTH * percent / 100)
    rate = f", {entry['records_per_s']:,} records/s" if entry.get("records_per_s") else ""
    eta = f", {entry['eta_s']} s left" if entry.get("eta_s") is not None else ""
    owner = f" by {entry['owner']}" if entry.get("owner") else ""
    done = f"[{'#' * filled}{'.' * (WIDTH - filled)}] {percent:5.1f}%"
    return f"{done} {what}: {entry.get('records', 0):,} records{rate}{eta}{owner}"


def _show(lines: list[str], shown: int, stream: IO[str]) -> int:
    """Redraw ``lines`` over the ``shown`` lines drawn before (a terminal), or print them."""
    if stream.isatty() and shown:
        stream.write(f"\x1b[{shown}F\x1b[J")
    stream.write("\n".join(lines) + "\n")
    stream.flush()
    return len(lines)


@click.command("index")
@click.argument("resource_name", metavar="[RESOURCE]", required=False)
@click.option("--every", type=float, default=1.0, show_default=True, help="Seconds between progress lines.")
@config_option
def index(resource_name: str | None, every: float, config_path: str | None) -> None:
    """Build the key indexes of RESOURCE's flat files (every flat-file resource by default)."""
    from legacy_bridge.events.state import StateStore, state_url
    from legacy_bridge.index_builds import index_in_background, indexing_drivers, place_indexes, shared
    from legacy_bridge.resources import Bridge

    config = load_config(config_path)
    if resource_name is not None and resource_name not in config.resources:
        fail(f"error: no resource {resource_name!r}; resources: {', '.join(config.resources) or 'none'}")
    url = state_url(config.service, config.origin)
    place_indexes(config, url)
    bridge = Bridge(config, secret="index")  # no cursor leaves the process
    store = StateStore(url) if shared(url) else None
    try:
        wanted = [resource_name] if resource_name else list(bridge.resources)
        drivers = indexing_drivers(bridge)
        sources = sorted({bridge.resources[n].spec.source for n in wanted} & set(drivers))
        if not sources:
            fail("error: no flat-file resource to index")
        index_in_background(bridge, store, wanted)
        shown, stream = 0, sys.stderr
        while True:
            entries = [e for s in sources for e in drivers[s].index_progress(finished=True)]
            shown = _show([bar(e) for e in entries] or ["no file to index"], shown, stream)
            if any(e["state"] == "failed" for e in entries):
                raise click.exceptions.Exit(EXIT_FAILING)
            if all(e["state"] == "done" for e in entries):
                break
            time.sleep(every)
        click.echo(f"indexed {len(entries)} survey(s) of {', '.join(sources)}", err=True)
    except LegacyBridgeError as error:
        fail(f"error: {reason(error)}", EXIT_FAILING)
    finally:
        bridge.close()
        if store is not None:
            store.close()
