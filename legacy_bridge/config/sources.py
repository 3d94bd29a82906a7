"""Checks of the ``sources:`` section (and ``plugins:``, which may register more kinds)."""

from __future__ import annotations

import codecs
from importlib import import_module
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from legacy_bridge.config.checker import Checker, parse_duration
from legacy_bridge.drivers import driver_class
from legacy_bridge.ops.policy import POLICY_KEYS, check_policy

__all__ = ["import_plugins", "check_source"]


def import_plugins(ck: Checker, plugins: Any) -> None:
    """Import the modules that register custom converters or drivers, before they are named."""
    if not isinstance(plugins, list):
        ck.fail("plugins", "expected a list of Python module names")
        return
    for i, module in enumerate(plugins):
        try:
            import_module(str(module))
        except ImportError as exc:
            ck.fail(f"plugins[{i}]", f"cannot import {module!r} ({exc})")


def check_source(ck: Checker, name: str, node: Any) -> dict | None:
    path = f"sources.{name}"
    node = ck.mapping(node, path)
    kind = node.get("kind")
    if kind is None:
        ck.fail(f"{path}.kind", "required")
        return None
    try:
        cls = driver_class(kind)
    except KeyError as exc:
        ck.fail(f"{path}.kind", exc.args[0])
        return None
    # retries, breaker and timezone apply to every kind: checked here, not by the driver
    shared = {k: node.pop(k) for k in (*POLICY_KEYS, "timezone") if k in node}
    for key, message in cls.check_options(node):
        ck.fail(f"{path}.{key}", message)
    node.update(shared)
    if "timezone" in node:
        try:
            ZoneInfo(str(node["timezone"]))
        except (ZoneInfoNotFoundError, ValueError):
            ck.fail(
                f"{path}.timezone", f"unknown time zone {node['timezone']!r}; an IANA name such as Europe/Berlin or UTC"
            )
    check_policy(node, path, ck.fail, parse_duration)
    for key in ("timeout", "connect_timeout"):
        ck.duration(node, key, path)
    if "encoding" in node:
        try:
            codecs.lookup(str(node["encoding"]))
        except LookupError:
            ck.fail(f"{path}.encoding", f"unknown encoding {node['encoding']!r}")
    pool = ck.mapping(node.get("pool"), f"{path}.pool")
    ck.unknown(pool, {"size", "overflow", "recycle", "pre_ping", "timeout"}, f"{path}.pool")
    ck.integer(pool, "size", f"{path}.pool", 5)
    ck.integer(pool, "overflow", f"{path}.pool", 10, low=0)
    for key in ("recycle", "timeout"):
        ck.duration(pool, key, f"{path}.pool")
    return node
