"""Versioned contracts: the same source served as ``/v1/<resource>`` and ``/v2/<resource>``
with different contracts, and the deprecation of a version.

The base version is the last segment of ``service.base_path`` (``v1`` by default): it serves
every resource with the resource's own ``fields``.  Another version serves the resources whose
``versions:`` name it, each with what that version changes (``fields``, ``key``, ...) over the
resource's own keys; its routes sit beside the base version's (``/v2`` beside ``/v1``).  The
top-level ``versions:`` section marks versions deprecated (``deprecated``, ``sunset``, ``link``).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from legacy_bridge.config.checker import Checker
from legacy_bridge.config.model import ApiVersion, ResourceSpec, base_version
from legacy_bridge.config.resources import check_resource

__all__ = ["check_versions", "OVERRIDE_KEYS", "VERSION_KEYS"]

VERSION_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
#: what a version of a resource may change (the source and its target stay the resource's)
OVERRIDE_KEYS = {"fields", "key", "description", "contract", "watermark", "default_limit", "max_limit"}
VERSION_KEYS = {"deprecated", "sunset", "link"}


def _moment(ck: Checker, node: dict, key: str, path: str) -> dt.datetime | None:
    """A date (midnight UTC) or an ISO 8601 timestamp (UTC unless it says its offset)."""
    value = node.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            value = None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if not isinstance(value, dt.datetime):
        ck.fail(f"{path}.{key}", f"expected a date such as 2026-06-30 (or a timestamp), got {node.get(key)!r}")
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _versioned_resource(
    ck: Checker, name: str, node: dict, version: str, override: Any, sources: dict, service: dict
) -> ResourceSpec | None:
    path = f"resources.{name}.versions.{version}"
    override = ck.mapping(override, path)
    ck.unknown(override, OVERRIDE_KEYS, path)
    merged = {k: v for k, v in node.items() if k not in ("versions", "changes")}  # the feed is the base's
    merged.update({k: v for k, v in override.items() if k in OVERRIDE_KEYS})
    sub = Checker()
    spec = check_resource(sub, name, merged, sources, service)
    prefix = f"resources.{name}"
    ck.problems.extend((path + p[len(prefix) :] if p.startswith(prefix) else p, m) for p, m in sub.problems)
    if spec is not None and not sub.problems:
        spec.version = version
        return spec
    return None


def check_versions(
    ck: Checker, raw: Any, nodes: dict, sources: dict, service: dict, resources: dict[str, ResourceSpec]
) -> list[ApiVersion]:
    """Every version served, the base first, the others in the order they are declared
    (the ``versions:`` section first); a problem names its path."""
    base = base_version(service, resources)
    declared = ck.mapping(raw, "versions")
    extra: dict[str, dict[str, ResourceSpec]] = {n: {} for n in declared if n != base.name}
    for name, node in nodes.items():
        if not isinstance(node, dict) or "versions" not in node:
            continue
        for version, override in ck.mapping(node["versions"], f"resources.{name}.versions").items():
            if version == base.name:
                ck.fail(
                    f"resources.{name}.versions.{version}",
                    f"{version} is the base version (service.base_path): its contract is the resource's own fields",
                )
                continue
            extra.setdefault(version, {})
            if name in resources:  # a resource refused already has its problems listed
                spec = _versioned_resource(ck, name, node, version, override, sources, service)
                if spec is not None:
                    extra[version][name] = spec
    if extra and not base.name:
        ck.fail(
            "service.base_path",
            "must end in the base version's name (e.g. /v1) when other versions are served beside it",
        )
    versions = [base] + [
        ApiVersion(name=v, path=base.path[: len(base.path) - len(base.name)] + v, resources=specs)
        for v, specs in extra.items()
    ]
    for version in versions:
        path = f"versions.{version.name}"
        if not VERSION_NAME.match(version.name or "v"):
            ck.fail(path, "version names are lower case letters, digits, _ and - (e.g. v2)")
        if version.name in declared:
            node = ck.mapping(declared[version.name], path)
            ck.unknown(node, VERSION_KEYS, path)
            version.deprecated = _moment(ck, node, "deprecated", path)
            version.sunset = _moment(ck, node, "sunset", path)
            link = node.get("link")
            if link is not None and (not isinstance(link, str) or not link.strip()):
                ck.fail(f"{path}.link", "expected a URL (the page that explains the deprecation)")
            version.link = link
            if version.sunset and version.deprecated and version.sunset < version.deprecated:
                ck.fail(f"{path}.sunset", "must not come before deprecated")
            if (version.sunset or link) and not version.deprecated:
                ck.fail(f"{path}.deprecated", "required with sunset or link: the date the version was deprecated")
        if (
            not version.base
            and not version.resources
            and not any(p.startswith("resources.") and f".versions.{version.name}" in p for p, _ in ck.problems)
        ):
            ck.fail(path, "no resource declares this version (resources.<name>.versions)")
    return versions
