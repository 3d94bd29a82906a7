"""Operations endpoints: ``/healthz`` (process alive) and ``/readyz`` (every source probed)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from flask import Blueprint, Response, current_app

from legacy_bridge.errors import LegacyBridgeError
from legacy_bridge.jsonio import dumps

bp = Blueprint("ops", __name__)


def _json(body: dict, status: int = 200) -> Response:
    return Response(dumps(body), status=status, mimetype="application/json")


@bp.get("/healthz")
def healthz() -> Response:
    return _json({"status": "ok"})


def probe_all(drivers: dict, timeout: float) -> dict[str, dict]:
    """Probe every source at once, each with ``timeout``; a report per source."""
    def one(item):
        name, driver = item
        try:
            driver.probe(timeout)
            return name, {"status": "ok"}
        except LegacyBridgeError as error:
            return name, {"status": "failing", "error": error.slug,
                          **({"legacy_code": error.legacy_code} if getattr(error, "legacy_code", None) else {})}
    if not drivers:
        return {}
    with ThreadPoolExecutor(max_workers=min(8, len(drivers))) as pool:
        return dict(pool.map(one, drivers.items()))


@bp.get("/readyz")
def readyz() -> Response:
    bridge = current_app.extensions["legacy_bridge"]
    report = probe_all(bridge.drivers, bridge.config.service["readiness_timeout"])
    failing = sorted(name for name, r in report.items() if r["status"] != "ok")
    body = {"status": "ok" if not failing else "failing", "sources": report}
    if failing:
        body["detail"] = f"failing source(s): {', '.join(failing)}"
    return _json(body, 503 if failing else 200)
