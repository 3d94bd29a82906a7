"""REST endpoints of the configured actions (stored procedures and functions):
``POST <base>/<action>`` with a JSON object of the IN / INOUT parameters, under the
Idempotency-Key rules of any POST; ``GET <base>/<action>?param=...`` for an action declared
read-only.  The answer: ``{"return": ..., "out": {...}, "result_sets": {"<name>": [...]}}``."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, g, request

from legacy_bridge.actions import Action
from legacy_bridge.errors import InvalidInput
from legacy_bridge.formats.jsonio import dumps

from .http import json_response
from .idempotency import idempotent


def post_view(action: Action):
    def view() -> Response:
        canonical = action.parse(request.get_json(silent=True))
        return json_response(dumps(action.call(canonical, g.get("key_id"))))

    return idempotent(action.name, action.spec.idempotency, action.driver.policy.timeout, view)


def get_view(action: Action):
    def view() -> Response:
        given = request.args.to_dict(flat=False)
        repeated = [name for name, values in given.items() if len(values) > 1]
        if repeated:
            raise InvalidInput(f"{repeated[0]}: given more than once", parameter=repeated[0])
        canonical = action.parse({name: values[0] for name, values in given.items()})
        return json_response(dumps(action.call(canonical, g.get("key_id"))))

    return view


def register(app: Flask, actions: dict[str, Action], base_path: str) -> None:
    """One route per action: ``POST <base_path>/<action>``, or ``GET`` when it is read-only."""
    if not actions:
        return
    bp = Blueprint("actions", __name__)
    for name, action in actions.items():
        endpoint = "action_" + name.replace("-", "_")
        if action.spec.read_only:
            bp.add_url_rule(f"{base_path}/{name}", endpoint, get_view(action), methods=["GET"])
        else:
            bp.add_url_rule(f"{base_path}/{name}", endpoint, post_view(action), methods=["POST"])
    app.register_blueprint(bp)
