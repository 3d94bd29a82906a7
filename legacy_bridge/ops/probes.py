"""Probing sources in bounded time: for ``/readyz`` and the start-up check of column types."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Protocol

from legacy_bridge.errors import LegacyBridgeError

log = logging.getLogger("legacy_bridge")

# A guarded probe runs within its own deadline (the guard's budget); past it and this
# grace, a probe that still has not answered (a driver that ignores deadlines) is
# reported instead of awaited.
_GRACE = 1.0


class Probed(Protocol):
    """What a probe asks: a driver, or a driver behind its guard."""

    name: str

    def probe(self, timeout: float) -> None: ...


def _probe(driver: Probed, timeout: float) -> dict:
    try:
        driver.probe(timeout)
        return {"status": "ok"}
    except LegacyBridgeError as error:
        return {
            "status": "failing",
            "error": error.slug,
            **({"legacy_code": code} if (code := getattr(error, "legacy_code", None)) else {}),
            **getattr(error, "readiness", {}),
        }  # e.g. which record of which file, and why
    except Exception:  # a probe bug must not turn /readyz into a 500
        log.exception("readiness probe of %s failed", driver.name)
        return {"status": "failing", "error": "internal-error"}


def probe_all(drivers: Mapping[str, Probed], timeout: float) -> dict[str, dict]:
    """Probe every source at once, each with ``timeout``; a report per source.

    The whole probe is bounded by ``timeout`` plus a short grace even when a driver
    ignores its timeout: a source still silent then is reported as timing out.
    """
    if not drivers:
        return {}
    pool = ThreadPoolExecutor(max_workers=min(8, len(drivers)), thread_name_prefix="readyz")
    futures = {name: pool.submit(_probe, driver, timeout) for name, driver in drivers.items()}
    done, _ = wait(futures.values(), timeout=timeout + _GRACE)
    pool.shutdown(wait=False, cancel_futures=True)
    return {
        name: future.result() if future in done else {"status": "failing", "error": "source-timeout"}
        for name, future in futures.items()
    }
