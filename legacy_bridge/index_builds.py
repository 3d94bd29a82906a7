"""Key indexes of flat files built from the start, in the background (see
:mod:`legacy_bridge.drivers.flatfile.builds`): each flat-file source learns its resources'
keys, and decides who builds with leases in the state store when there is a shared one."""

from __future__ import annotations

from legacy_bridge.drivers.base import Driver
from legacy_bridge.events.leases import StoreLeases
from legacy_bridge.events.state import StateStore
from legacy_bridge.resources import Bridge

__all__ = ["index_in_background", "indexing_drivers"]


def indexing_drivers(bridge: Bridge) -> dict[str, Driver]:
    """The (bare) drivers that build indexes in the background, by source name."""
    return {name: guarded.driver for name, guarded in bridge.drivers.items() if guarded.driver.builds_indexes}


def index_in_background(bridge: Bridge, store: StateStore | None) -> None:
    """Start indexing every served file version on its resources' keys; with ``store``
    (a state store the processes share), one builder per index across workers and hosts."""
    drivers = indexing_drivers(bridge)
    if not drivers:
        return
    if store is not None:
        store.migrate()
        for driver in drivers.values():
            driver.use_leases(StoreLeases(store))
    for resource in bridge.resources.values():
        if resource.spec.source in drivers:
            drivers[resource.spec.source].watch_keys(tuple(resource.mapping.columns(resource.key)))
