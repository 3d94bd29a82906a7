"""The YAML config: loaded, ``${ENV}``-interpolated and validated at start-up.

Every problem is collected with its key path and reported together; the app refuses
to start on an invalid file (:class:`~legacy_bridge.errors.ConfigError`).  Each section
is checked by its own module: sources, resources (operations for SOAP), and the auth,
rate-limit and webhook sections by their own packages' checks.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from legacy_bridge.config.actions import check_actions
from legacy_bridge.config.checker import Checker, interpolate, parse_size
from legacy_bridge.config.model import Config
from legacy_bridge.config.resources import check_changes, check_resource
from legacy_bridge.config.sources import check_source, import_plugins
from legacy_bridge.config.versions import check_versions
from legacy_bridge.errors import ConfigError
from legacy_bridge.events.sinks.registry import check_config as check_events
from legacy_bridge.events.sinks.registry import document_problems
from legacy_bridge.events.webhooks import check_config as check_webhooks
from legacy_bridge.security import auth, ratelimit

__all__ = ["validate", "load", "SERVICE_DEFAULTS", "TOP_KEYS"]

TOP_KEYS = {
    "service",
    "sources",
    "resources",
    "plugins",
    "auth",
    "rate_limits",
    "webhooks",
    "events",
    "versions",
    "actions",
}
SERVICE_DEFAULTS: dict[str, Any] = {
    "title": "legacy-bridge",
    "version": "1",
    "base_path": "/v1",
    "default_limit": 100,
    "max_limit": 1000,
    "secret": None,
    "readiness_timeout": 2.0,
    "max_body": 1 << 20,
    "metrics": True,
    "state": None,
    "max_exports": None,
}


def validate(raw: Any, origin: str = "config") -> Config:
    """Build a :class:`Config` from parsed YAML or raise one ConfigError listing every problem."""
    ck = Checker()
    raw = interpolate(ck.mapping(raw, ""), "", ck.problems)
    ck.unknown(raw, TOP_KEYS, "")
    import_plugins(ck, raw.get("plugins", []))
    service = {**SERVICE_DEFAULTS, **ck.mapping(raw.get("service"), "service")}
    ck.unknown(service, set(SERVICE_DEFAULTS), "service")
    for key in ("default_limit", "max_limit"):
        service[key] = ck.integer(service, key, "service", SERVICE_DEFAULTS[key])
    ck.duration(service, "readiness_timeout", "service")
    if service["max_exports"] is not None:
        service["max_exports"] = ck.integer(service, "max_exports", "service", 1)
    try:
        service["max_body"] = parse_size(service["max_body"])
    except ValueError:
        ck.fail("service.max_body", f"expected a size such as 1MiB or 65536, got {service['max_body']!r}")
    if not isinstance(service["metrics"], bool):
        ck.fail("service.metrics", f"expected true or false, got {service['metrics']!r}")
    if not str(service["base_path"]).startswith("/"):
        ck.fail("service.base_path", "must start with /")
    sources = {}
    for name, node in ck.mapping(raw.get("sources"), "sources").items():
        checked = check_source(ck, name, node)
        if checked is not None:
            sources[name] = checked
    resources = {}
    for name, node in ck.mapping(raw.get("resources"), "resources").items():
        before = len(ck.problems)
        sub = Checker()
        spec = check_resource(sub, name, node, ck.mapping(raw.get("sources"), "sources"), service)
        ck.problems.extend(sub.problems)
        if spec is not None and "changes" in node:
            spec.changes = check_changes(ck, node, spec, ck.mapping(raw.get("sources"), "sources").get(spec.source))
        if spec is not None and len(ck.problems) == before:
            if spec.default_limit > spec.max_limit:
                ck.fail(f"resources.{name}.default_limit", "must not exceed max_limit")
            resources[name] = spec
    versions = check_versions(
        ck,
        raw.get("versions"),
        ck.mapping(raw.get("resources"), "resources"),
        ck.mapping(raw.get("sources"), "sources"),
        service,
        resources,
    )
    actions = check_actions(ck, raw.get("actions"), ck.mapping(raw.get("sources"), "sources"), resources)
    auth_options = auth.check_config(ck, raw["auth"]) if "auth" in raw else None
    limits = ratelimit.check_config(ck, raw["rate_limits"]) if "rate_limits" in raw else None
    webhook_options = check_webhooks(ck, raw.get("webhooks"))
    event_options = check_events(ck, raw.get("events"), service)
    for key, message in document_problems(event_options["sinks"], resources):
        ck.fail(key, message)
    if ck.problems:
        raise ConfigError(ck.problems, origin)
    return Config(
        service=service,
        sources=sources,
        resources=resources,
        origin=origin,
        auth=auth_options,
        rate_limits=limits,
        webhooks=webhook_options,
        events=event_options,
        versions=versions,
        actions=actions,
    )


def load(path: str | os.PathLike) -> Config:
    """Read and validate a YAML config file."""
    origin = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([("", f"cannot read the config file ({exc.strerror})")], origin) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError([("", f"not valid YAML: {exc}")], origin) from None
    return validate(raw, origin)
