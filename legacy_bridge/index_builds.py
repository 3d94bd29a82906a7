"""Key indexes of flat files built from the start, in the background (see
:mod:`legacy_bridge.drivers.flatfile.builds`): each flat-file source learns its resources'
keys, and decides who builds with leases in the state store when there is a shared one."""

from __future__ import annotations

from legacy_bridge.config import Config
from legacy_bridge.drivers.base import Driver
from legacy_bridge.errors import LegacyBridgeError
from legacy_bridge.events.leases import StoreLeases
from legacy_bridge.events.state import StateStore, local_folder
from legacy_bridge.events.x12_acks import StoreAckLedger
from legacy_bridge.resources import Bridge

__all__ = [
    "acknowledge_received",
    "index_in_background",
    "indexing_drivers",
    "place_indexes",
    "shared",
    "start_index_builds",
]


def place_indexes(config: Config, url: str) -> None:
    """Flat-file indexes beside a local state store (each host its own), unless a source names
    its ``index_dir``."""
    folder = local_folder(url)
    for name, options in config.sources.items():
        if folder is not None and options["kind"] == "flatfile":
            options.setdefault("index_dir", str(folder / "flatfile-index" / name))


def shared(url: str) -> bool:
    """Whether the state store at ``url`` is one several processes can share (not in memory)."""
    return url != "sqlite://"


def indexing_drivers(bridge: Bridge) -> dict[str, Driver]:
    """The (bare) drivers that build indexes in the background, by source name."""
    return {name: guarded.driver for name, guarded in bridge.drivers.items() if guarded.driver.builds_indexes}


def index_in_background(
    bridge: Bridge, store: StateStore | None, resources: list[str] | None = None, start: bool = True
) -> None:
    """Start indexing every served file version on its resources' keys; with ``store``
    (a state store the processes share), one builder per index across workers and hosts."""
    drivers = indexing_drivers(bridge)
    if not drivers:
        return
    if store is not None:
        store.migrate()
        for driver in drivers.values():
            driver.use_leases(StoreLeases(store))
    for name, resource in bridge.resources.items():
        if resource.spec.source in drivers and (resources is None or name in resources):
            drivers[resource.spec.source].watch_keys(tuple(resource.mapping.columns(resource.key)), start)


def start_index_builds(bridge: Bridge) -> None:
    """Look for file versions to index now (a gunicorn worker at its start: the preloading
    master starts no thread, a fork would not carry it over)."""
    for driver in indexing_drivers(bridge).values():
        try:
            driver.index_progress()  # lists the files, which starts the builds
        except LegacyBridgeError:
            pass  # no file yet: the builds start when one is listed


def acknowledge_received(bridge: Bridge, store: StateStore, url: str) -> list[tuple[str, str]]:
    """Have the sources that acknowledge what they receive (X12 ``acknowledge:``) write each
    acknowledgement once through ``store``; the problem when it is an in-memory store (each
    process its own, forgotten at a restart: groups acknowledged again, numbers from 1 again)."""
    ledger = StoreAckLedger(store)
    asking = [
        name
        for name, driver in bridge.bare_drivers.items()
        if driver.writes_acknowledgements and driver.use_acknowledgements(ledger)
    ]
    if asking and not shared(url):
        why = "needs a lasting state store (service.state, or a config file it is kept beside): in memory, a restart"
        return [(f"sources.{name}.acknowledge", f"{why} would acknowledge every group again") for name in asking]
    if asking:
        store.migrate()
    return []
