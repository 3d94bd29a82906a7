"""Rate limits per key and per resource (Flask-Limiter), on when the config has ``rate_limits:``.

Counters live in memory (one worker) by default, or in Redis (``storage_uri:
redis://host:6379``) so that every worker and host shares them.  A request is counted
against its key's limit (all resources) and against the limit of the resource it
calls (per key); over either, it gets a 429 problem with Retry-After.  Without auth the
client's address stands for the key.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from flask import Flask, Response, current_app, g, request
from flask_limiter import ApplicationLimit, Limiter, RateLimitExceeded
from limits import parse_many

from legacy_bridge.errors import RateLimited
from legacy_bridge.problems import openapi_response, response_of
from legacy_bridge.security.auth import public_paths
from legacy_bridge.security.scopes import resource_of

log = logging.getLogger("legacy_bridge")
RATE_KEYS = {"storage_uri", "strategy", "default", "keys", "resources", "key_prefix"}
STRATEGIES = ("fixed-window", "moving-window", "sliding-window-counter")


def _check_limit(ck: Any, value: Any, path: str) -> None:
    try:
        if not isinstance(value, str) or not parse_many(value):
            raise ValueError
    except ValueError:
        ck.fail(path, f"expected a limit such as '100/minute' or '10/second;500/hour', got {value!r}")


def check_config(ck: Any, node: Any) -> dict:
    """The ``rate_limits:`` section, validated into ``ck`` (a config checker)."""
    node = ck.mapping(node, "rate_limits")
    ck.unknown(node, RATE_KEYS, "rate_limits")
    uri = node.setdefault("storage_uri", "memory://")
    if not isinstance(uri, str) or not uri.startswith(
        ("memory://", "redis://", "rediss://", "redis+sentinel://", "redis+cluster://")
    ):
        ck.fail("rate_limits.storage_uri", f"expected memory:// or redis://host:port, got {uri!r}")
    if node.setdefault("strategy", "fixed-window") not in STRATEGIES:
        ck.fail("rate_limits.strategy", f"expected one of {', '.join(STRATEGIES)}")
    if "default" in node:
        _check_limit(ck, node["default"], "rate_limits.default")
    for section in ("keys", "resources"):
        limits = ck.mapping(node.get(section), f"rate_limits.{section}")
        for name, value in limits.items():
            _check_limit(ck, value, f"rate_limits.{section}.{name}")
        node[section] = limits
    if not isinstance(node.setdefault("key_prefix", "legacy-bridge"), str):
        ck.fail("rate_limits.key_prefix", "expected a string")
    return node


class _Policy:
    """Which limit applies to the current request, from the config."""

    def __init__(self, options: dict, base_path: str | tuple[str, ...]) -> None:
        self.options = options
        self.base_path = base_path
        self.public = public_paths(base_path)

    def caller(self) -> str:
        key_id = g.get("key_id")
        return f"key:{key_id}" if key_id else f"addr:{request.remote_addr}"

    def resource(self) -> str:
        return resource_of(request.path, self.base_path)

    def per_key(self) -> str:
        return self.options["keys"].get(g.get("key_id"), self.options.get("default", ""))

    def per_resource(self) -> str:
        return self.options["resources"].get(self.resource(), "")

    def exempt(self) -> bool:
        path = request.path.rstrip("/")
        return path in self.public or path.startswith("/docs/")


def _too_many(error: RateLimitExceeded) -> Response:
    limiter: Limiter = current_app.extensions["legacy_bridge_limiter"]
    current = limiter.current_limit
    wait = max(1, math.ceil(current.reset_at - time.time())) if current else 1
    return response_of(
        RateLimited(f"rate limit {error.description} exceeded; retry in {wait} s", error.description, wait)
    )


def init_app(app: Flask, options: dict | None, base_path: str | tuple[str, ...]) -> Limiter | None:
    """Register the limiter when ``options`` (the ``rate_limits:`` section) is given.

    Call after auth's init_app: the key's id must be known when the limits are checked.
    """
    if options is None:
        return None
    policy = _Policy(options, base_path)
    limiter = Limiter(
        policy.caller,
        storage_uri=options["storage_uri"],
        strategy=options["strategy"],
        key_prefix=options["key_prefix"],
        headers_enabled=False,
        swallow_errors=True,  # a Redis outage must not take the API down with it
        application_limits=[
            ApplicationLimit(policy.per_key, scope="key", exempt_when=policy.exempt),
            ApplicationLimit(
                policy.per_resource, scope=lambda _endpoint: "resource:" + policy.resource(), exempt_when=policy.exempt
            ),
        ],
    )
    limiter.init_app(app)
    app.extensions["legacy_bridge_limiter"] = limiter
    app.register_error_handler(RateLimitExceeded, _too_many)
    return limiter


def document_limits(document: dict, options: dict | None) -> None:
    """A 429 response on every operation that a limit can reach."""
    if options is None or not (options.get("default") or options["keys"] or options["resources"]):
        return
    public = public_paths(())
    for path, operations in document.get("paths", {}).items():
        if path in public or path.startswith("/docs/"):
            continue
        for operation in operations.values():
            if isinstance(operation, dict) and "responses" in operation:
                operation["responses"].setdefault(
                    "429",
                    openapi_response(
                        "rate limit exceeded; see Retry-After", {"Retry-After": {"schema": {"type": "integer"}}}
                    ),
                )
