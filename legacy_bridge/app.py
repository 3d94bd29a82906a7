"""The app factory: defaults, then the config file, then overrides (Flask's layering)."""

from __future__ import annotations

import hashlib
import logging
import os
from functools import partial
from typing import Any

from flask import Flask

from legacy_bridge import problems
from legacy_bridge.config import Config, load, validate
from legacy_bridge.events.control_numbers import ControlNumbers
from legacy_bridge.events.journal import WriteJournal
from legacy_bridge.events.state import StateStore, state_url
from legacy_bridge.ops import logs, metrics
from legacy_bridge.ops.target_checks import target_problems
from legacy_bridge.security import auth, ratelimit

from .actions import routine_problems
from .errors import ConfigError
from .index_builds import acknowledge_received, index_in_background, place_indexes, shared
from .resources import Bridge
from .x12_drops import X12DropWriter

log = logging.getLogger("legacy_bridge")


def _secret(config: Config) -> str:
    secret = config.service.get("secret") or os.environ.get("LEGACY_BRIDGE_SECRET")
    if secret:
        return secret
    # Every worker and host must sign cursors alike; without a configured secret the
    # key is derived from the config itself, which is stable but not secret.
    log.warning("service.secret is not set: cursors are signed with a key derived from the config")
    return hashlib.sha256(repr(sorted(config.sources.items())).encode()).hexdigest()


def load_config(test_config: dict[str, Any] | None = None) -> Config:
    """The validated config: ``LEGACY_BRIDGE`` (parsed YAML) or the file named by
    ``LEGACY_BRIDGE_CONFIG`` in ``test_config`` or the environment."""
    test_config = test_config or {}
    if "LEGACY_BRIDGE" in test_config:
        raw = test_config["LEGACY_BRIDGE"]
        return raw if isinstance(raw, Config) else validate(raw, "test_config")
    path = test_config.get("LEGACY_BRIDGE_CONFIG") or os.environ.get("LEGACY_BRIDGE_CONFIG")
    if not path:
        raise ConfigError([("", "no config file: set LEGACY_BRIDGE_CONFIG or pass --config")])
    return load(path)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the WSGI app; raises ConfigError (every problem listed) on a bad config."""
    config = load_config(test_config)
    logs.configure(os.environ.get("LEGACY_BRIDGE_LOG_LEVEL", "INFO"))
    app = Flask("legacy_bridge")
    app.url_map.strict_slashes = False  # /v1/customers/ is /v1/customers
    app.config.from_mapping(MAX_CONTENT_LENGTH=config.service["max_body"], JSON_SORT_KEYS=False)
    app.config.update({k: v for k, v in (test_config or {}).items() if k.isupper()})

    url = state_url(config.service, config.origin)
    place_indexes(config, url)
    bridge = Bridge(config, _secret(config))
    timeout = config.service["readiness_timeout"]
    unpageable = bridge.order_problems(timeout) + target_problems(config, timeout)
    unpageable += routine_problems(bridge.actions, bridge.bare_drivers, timeout)
    if unpageable:  # a sortable field the source cannot page in order, an operation or routine it lacks
        bridge.close()
        raise ConfigError(unpageable, config.origin)
    app.extensions["legacy_bridge"] = bridge
    state = app.extensions["legacy_bridge.state"] = StateStore(url)
    writes = any(spec.writes or spec.drop for spec in config.resources.values()) or bool(config.actions)
    if config.service.get("state") or writes or any(spec.changes for spec in config.resources.values()):
        state.migrate()  # a wrong state URL stops the start, not the first request
    # leases in the state store when it is one the processes share (not an in-memory one)
    # registered now, started by each process that serves (gunicorn: each worker at its start,
    # see gunicorn_conf.post_worker_init; else the first listing of the files)
    for resource in bridge.resources.values():  # a batch the last run left is finished (gunicorn: in the master)
        if resource.drop is not None:
            resource.drop.recover()
    index_in_background(bridge, state if shared(url) else None, start=False)
    unacknowledgeable = acknowledge_received(bridge, state, url)
    if unacknowledgeable:
        bridge.close()
        raise ConfigError(unacknowledgeable, config.origin)
    for _version, served in bridge.versions:  # each write leaves an audit record (and a change event)
        for resource in served.values():
            if resource.writer is not None:
                resource.writer.journal = WriteJournal(state, resource.name, resource.key, bool(resource.spec.changes))
            if resource.drop is not None:  # a record dropped: its audit record (no change feed of its own)
                resource.drop.journal = WriteJournal(state, resource.name, [], False)
            if isinstance(resource.drop, X12DropWriter):  # interchange and group numbers, shared by every host
                resource.drop.numbers = partial(ControlNumbers, state)
    for name, action in bridge.actions.items():  # a call's audit record: its parameters and answer
        if action.spec.audit:
            action.journal = WriteJournal(state, name, [], False)

    from legacy_bridge.facades import actions, changes, docs, ops, quarantine, resources, versions
    from legacy_bridge.facades import webhooks as webhook_routes

    base_paths = tuple(version.path for version, _ in bridge.versions)
    logs.init_app(app)
    metrics.init_app(app, enabled=config.service["metrics"])
    if config.events.get("sinks"):  # sink lag and counters, read from the state store at each scrape
        from legacy_bridge.events import sink_ops

        app.extensions["legacy_bridge.sinks"] = list(config.events["sinks"])
        app.extensions.setdefault(metrics.COLLECTORS, []).append(sink_ops.registry(state, list(config.events["sinks"])))
    problems.init_app(app)
    auth.init_app(app, config.auth, base_paths)  # before the limiter:
    ratelimit.init_app(app, config.rate_limits, base_paths)  # it limits per key
    versions.init_app(app, [version for version, _ in bridge.versions], measured=config.service["metrics"])
    app.register_blueprint(ops.bp)
    app.register_blueprint(docs.bp)
    docs.register_versions(app, bridge)
    for version, served in bridge.versions:
        if version.base:  # the change feed, quarantine and webhooks belong to the base version
            quarantine.register(app, served, version.path)
            if webhook_routes.usable(served):
                webhook_routes.register(app, version.path)
            changes.register(app, served, state, version.path)  # before /<key>
            actions.register(app, bridge.actions, version.path)
        resources.register(app, served, version.path, "resources" if version.base else f"resources_{version.name}")
    return app
