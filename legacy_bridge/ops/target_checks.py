"""The start-up check of what resources name in their sources: a SOAP resource's operations,
asked of the service's WSDL (``Driver.check_target``), so an operation the service lacks
stops the start with a message that names it instead of failing its first call.

The check is bounded: a source that does not answer within the readiness timeout is checked
on its first call instead (its resources still serve when it comes back).  It asks throwaway
drivers, closed after, so the drivers that serve (and the processes forked later) share no
connection with it.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor, wait

from legacy_bridge.config.model import Config, ResourceSpec
from legacy_bridge.drivers import driver_class

log = logging.getLogger("legacy_bridge")

__all__ = ["target_problems"]


def target_problems(config: Config, timeout: float) -> list[tuple[str, str]]:
    """(config path, message) of every target a source says it lacks, among the sources that
    answer within ``timeout``."""
    specs: dict[str, list[ResourceSpec]] = {}
    for spec in [*config.resources.values(), *(s for v in config.versions for s in v.resources.values())]:
        if driver_class(config.sources[spec.source]["kind"]).checks_targets:
            specs.setdefault(spec.source, []).append(spec)
    if not specs:
        return []
    drivers = {name: driver_class(config.sources[name]["kind"])(name, config.sources[name]) for name in specs}

    def ask(name: str) -> list[tuple[str, str]]:
        found: dict[tuple[str, str], None] = {}
        for spec in specs[name]:
            for message in drivers[name].check_target(spec.target):
                found[(f"resources.{spec.name}", message)] = None  # a version's resource says it again
        return list(found)

    pool = ThreadPoolExecutor(max_workers=min(8, len(drivers)), thread_name_prefix="target-check")
    futures = {name: pool.submit(ask, name) for name in drivers}
    done, _ = wait(futures.values(), timeout=timeout)
    # every answer in: join the threads, so none is alive when gunicorn forks its workers (a
    # lock one held would stay held in the child); a source still silent is left behind
    pool.shutdown(wait=len(done) == len(futures), cancel_futures=True)
    problems: list[tuple[str, str]] = []
    for name, future in futures.items():
        error = future.exception() if future in done else TimeoutError("no answer in time")
        if error is None:
            problems += future.result()
        else:
            log.warning("source %s: its targets are not checked at start-up (%s); on first use instead", name, error)
    for driver in drivers.values():
        driver.close()
    return problems
