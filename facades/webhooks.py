"""``/v1/webhooks``: subscribe a URL to change events, list deliveries, redeliver (their OpenAPI
document: webhooks_openapi.py).

- ``POST /v1/webhooks`` ``{"url", "events": ["customers.updated", "orders.*"], "description"}``
  -> 201 with the signing ``secret``: the only time it is shown.
- ``GET /v1/webhooks``, ``GET|DELETE /v1/webhooks/<id>``
- ``GET /v1/webhooks/<id>/deliveries?status=pending|delivered|dead&limit=&before=``: newest first
- ``GET /v1/webhooks/<id>/deliveries/<delivery id>``
- ``POST /v1/webhooks/<id>/deliveries/<delivery id>/redeliver`` -> 202: a dead (or delivered)
  delivery is sent again, same body and ``webhook-id``, with a fresh attempt budget.
- ``POST /v1/webhooks/<id>/redeliver`` ``{"status": "dead"|"delivered", "since", "until"}`` -> 202
  ``{"redelivered": n}``: every such delivery made in [since, until) at once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request

from legacy_bridge.errors import Conflict, InvalidInput, NotFound
from legacy_bridge.events import outbox, webhook_deliveries
from legacy_bridge.events.state import StateStore, parse_instant, state_url
from legacy_bridge.events.webhooks import EVENT_PATTERN, Settings, new_secret

from .http import integer_arg, json_response

STATE_EXTENSION = "legacy_bridge.state"
MAX_LIMIT = 500
MAX_ID = (1 << 63) - 1  # the largest id a 64-bit state store column holds
STATUSES = (outbox.PENDING, outbox.DELIVERED, outbox.DEAD)


def _refuse_unknown(body: dict[str, Any], known: tuple[str, ...]) -> None:
    """A body member the route does not take is a 400 naming it (never silently ignored)."""
    unknown = sorted(set(body) - set(known))
    if unknown:
        raise InvalidInput(
            f"unknown member(s): {', '.join(unknown)}; known: {', '.join(known)}",
            parameter=unknown[0],
            slug="invalid-body",
        )


def store_of(app: Flask) -> StateStore:
    """The app's state store: the bridge's when it has one, else one opened here once."""
    bridge = app.extensions["legacy_bridge"]
    store = getattr(bridge, "state", None) or app.extensions.get(STATE_EXTENSION)
    if store is None:
        store = app.extensions[STATE_EXTENSION] = StateStore(state_url(bridge.config.service, bridge.config.origin))
    return store


def _iso(value: float | None) -> str | None:
    if value is None:
        return None
    return dt.datetime.fromtimestamp(value, dt.UTC).isoformat().replace("+00:00", "Z")


def _shown(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _iso(v) if k.endswith("_at") else v for k, v in item.items()}


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput(
            'the body must be a JSON object: {"url": ..., "events": [...]}', parameter="body", slug="invalid-body"
        )
    _refuse_unknown(body, ("url", "events", "description"))
    return body


def _events(value: Any, resources: dict) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise InvalidInput(
            'events must be a non-empty list such as ["customers.updated", "orders.*"]',
            parameter="events",
            slug="invalid-body",
        )
    for pattern in value:
        match = EVENT_PATTERN.match(pattern)
        if match is None:
            raise InvalidInput(
                f"{pattern!r} is not <resource|*>.<created|updated|deleted|*>", parameter="events", slug="invalid-body"
            )
        if match.group(1) != "*" and match.group(1) not in resources:
            raise InvalidInput(
                f"{pattern!r}: no resource {match.group(1)!r}; resources: {', '.join(sorted(resources))}",
                parameter="events",
                slug="invalid-body",
            )
    return list(dict.fromkeys(value))


def _subscription(sub_id: str) -> dict[str, Any]:
    sub = outbox.get_subscription(store_of(current_app), sub_id)
    if sub is None:
        raise NotFound(f"no webhook subscription {sub_id!r}")
    return sub


def _delivery(store: StateStore, sub_id: str, delivery_id: int) -> dict[str, Any]:
    # ids are 64-bit in the state store: a larger one names no delivery (and cannot be bound)
    row = webhook_deliveries.get_delivery(store, sub_id, delivery_id) if delivery_id <= MAX_ID else None
    if row is None:
        raise NotFound(f"no delivery {delivery_id} of webhook subscription {sub_id!r}")
    return row


def usable(resources: dict) -> bool:
    """Whether a config can use webhooks: their events are those of the change feed, so
    some resource must declare ``changes:``.  Otherwise the routes are neither served nor
    documented."""
    return any(getattr(resource.spec, "changes", None) for resource in resources.values())


def _bulk_body() -> tuple[str, float | None, float | None]:
    """``{"status": "dead"|"delivered", "since": time, "until": time}`` (every member optional)."""
    body = request.get_json(silent=True) if request.get_data() else {}
    if not isinstance(body, dict):
        raise InvalidInput(
            'the body must be a JSON object such as {"status": "dead", "since": "2026-11-29T00:00:00Z"}',
            parameter="body",
            slug="invalid-body",
        )
    _refuse_unknown(body, ("status", "since", "until"))
    status = body.get("status", outbox.DEAD)
    if status not in (outbox.DEAD, outbox.DELIVERED):
        raise InvalidInput(
            "status must be dead or delivered (pending ones are retried by themselves)",
            parameter="status",
            slug="invalid-body",
        )
    bounds: list[float | None] = []
    for name in ("since", "until"):
        value = body.get(name)
        try:
            bounds.append(None if value is None else parse_instant(value).replace(tzinfo=dt.UTC).timestamp())
        except (TypeError, ValueError, AttributeError):
            raise InvalidInput(
                f"{name} must be a time such as 2026-11-29T10:00:00Z", parameter=name, slug="invalid-body"
            ) from None
    since, until = bounds
    if since is not None and until is not None and since >= until:
        raise InvalidInput("since must be before until", parameter="until", slug="invalid-body")
    return status, since, until


def register(app: Flask, base_path: str) -> None:
    """Add the webhook routes under ``base_path``."""
    bp = Blueprint("webhooks", __name__, url_prefix=f"{base_path}/webhooks")
    bridge = app.extensions["legacy_bridge"]
    settings = Settings.from_config(bridge.config.webhooks)

    @bp.post("")
    def create() -> Response:
        body = _body()
        url = body.get("url")
        if not isinstance(url, str):
            raise InvalidInput(
                "url is required: the http(s) URL to POST events to", parameter="url", slug="invalid-body"
            )
        settings.policy.resolve(url)  # TargetRefused (400) for a forbidden target
        events = _events(body.get("events"), bridge.resources)
        description = body.get("description")
        if description is not None and not isinstance(description, str):
            raise InvalidInput("description must be a string", parameter="description", slug="invalid-body")
        secret = new_secret()
        sub = outbox.create_subscription(store_of(current_app), url, events, secret, description)
        return json_response(
            {**_shown(sub), "secret": secret}, 201, {"Location": f"{request.base_url.rstrip('/')}/{sub['id']}"}
        )

    @bp.get("")
    def index() -> Response:
        return json_response({"data": [_shown(s) for s in outbox.list_subscriptions(store_of(current_app))]})

    @bp.get("/<sub_id>")
    def show(sub_id: str) -> Response:
        return json_response(_shown(_subscription(sub_id)))

    @bp.delete("/<sub_id>")
    def remove(sub_id: str) -> Response:
        if not outbox.delete_subscription(store_of(current_app), sub_id):
            raise NotFound(f"no webhook subscription {sub_id!r}")
        return Response(status=204)

    @bp.get("/<sub_id>/deliveries")
    def deliveries(sub_id: str) -> Response:
        _subscription(sub_id)
        status = request.args.get("status")
        if status is not None and status not in STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(STATUSES)}", parameter="status")
        limit = integer_arg("limit", 50, 1, MAX_LIMIT)
        rows = webhook_deliveries.list_deliveries(
            store_of(current_app), sub_id, status, integer_arg("before", None, 1, MAX_ID), limit
        )
        more = len(rows) == limit
        return json_response({"data": [_shown(r) for r in rows], "next_before": rows[-1]["id"] if more else None})

    @bp.get("/<sub_id>/deliveries/<int:delivery_id>")
    def delivery(sub_id: str, delivery_id: int) -> Response:
        return json_response(_shown(_delivery(store_of(current_app), sub_id, delivery_id)))

    @bp.post("/<sub_id>/deliveries/<int:delivery_id>/redeliver")
    def redeliver(sub_id: str, delivery_id: int) -> Response:
        store = store_of(current_app)
        _delivery(store, sub_id, delivery_id)
        row = webhook_deliveries.redeliver(store, sub_id, delivery_id)
        if row is None:
            raise Conflict(f"delivery {delivery_id} is still pending: it will be attempted again by itself")
        return json_response(_shown(row), 202)

    @bp.post("/<sub_id>/redeliver")
    def redeliver_many(sub_id: str) -> Response:
        _subscription(sub_id)
        status, since, until = _bulk_body()
        count = webhook_deliveries.redeliver_many(store_of(current_app), sub_id, status, since, until)
        return json_response({"redelivered": count, "status": status}, 202)

    app.register_blueprint(bp)
