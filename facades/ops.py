"""Operations endpoints: ``/healthz`` (process alive) and ``/readyz`` (every source probed,
each on a pooled connection within ``service.readiness_timeout``; with event sinks, each sink's
lag and state, and flat-file index builds under way with their progress, as details that do not
change the answer)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app

from legacy_bridge.drivers.base import Driver
from legacy_bridge.errors import LegacyBridgeError
from legacy_bridge.events.sink_ops import report as sink_report
from legacy_bridge.ops.probes import probe_all

from .http import json_response

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    return json_response({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    bridge = current_app.extensions["legacy_bridge"]
    report = probe_all(bridge.drivers, bridge.config.service["readiness_timeout"])
    for name, driver in bridge.drivers.items():  # a source's circuit breaker, when not closed
        state = driver.breaker_state()
        if state != "closed":
            report[name]["breaker"] = state
    for name, driver in bridge.drivers.items():  # index builds under way: details, not failures
        if driver.driver.builds_indexes and (building := _index_builds(driver.driver)):
            report[name]["indexes"] = building
    failing = sorted(name for name, r in report.items() if r["status"] != "ok")
    body = {"status": "ok" if not failing else "failing", "sources": report}
    if failing:
        body["detail"] = f"failing source(s): {', '.join(failing)}"
    sinks = current_app.extensions.get("legacy_bridge.sinks")
    if sinks:  # details only: a broker away delays events, the API still serves
        body["sinks"] = sink_report(current_app.extensions["legacy_bridge.state"], sinks)
    return json_response(body, 503 if failing else 200)


def _index_builds(driver: Driver) -> list[dict]:
    try:
        return driver.index_progress()
    except LegacyBridgeError:  # no file to index: the probe says so
        return []
