"""The YAML config: loaded, ``${ENV}``-interpolated and validated at start-up.

Every problem is collected with its key path and reported together; the app refuses
to start on an invalid file (:class:`~legacy_bridge.errors.ConfigError`).
"""
from __future__ import annotations

import codecs
import os
import re
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from legacy_bridge import auth, ratelimit
from legacy_bridge.contracts.converters import ConversionError, build as build_converter
from legacy_bridge.contracts.mapping import FieldMap, Mapping
from legacy_bridge.drivers import driver_class
from legacy_bridge.errors import ConfigError
from legacy_bridge.webhooks import check_config as check_webhooks
from legacy_bridge.resilience import POLICY_KEYS, check_policy
from legacy_bridge.watermark import check_watermark

from .config_operations import check_operations, target_keys

NAME = re.compile(r"^[a-z][a-z0-9_]*$")
RESOURCE_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}
_SIZE = re.compile(r"^\s*(\d+)\s*(B|KB|KiB|MB|MiB|GB|GiB)?\s*$", re.I)
_SIZE_UNITS = {"b": 1, "kb": 1000, "kib": 1024, "mb": 1000 ** 2, "mib": 1024 ** 2, "gb": 1000 ** 3,
               "gib": 1024 ** 3}

TOP_KEYS = {"service", "sources", "resources", "plugins", "auth", "rate_limits", "webhooks"}
SERVICE_DEFAULTS = {"title": "legacy-bridge", "version": "1", "base_path": "/v1",
                    "default_limit": 100, "max_limit": 1000, "secret": None,
                    "readiness_timeout": 2.0, "max_body": 1 << 20, "metrics": True,
                    "state": None, "max_exports": None}
RESOURCE_KEYS = {"source", "table", "view", "select", "key", "fields", "description",
                 "default_limit", "max_limit", "contract", "get", "list", "create", "faults",
                 "watermark"}
RESOURCE_KEYS |= {"changes"}          # the change feed: legacy_bridge.changes.check_options
# operation-bound resources (SOAP): placeholders each operation's params may use
FIELD_KEYS = {"column", "converter", "filter", "sort", "description", "nullable"}


@dataclass
class ResourceSpec:
    name: str
    source: str
    target: dict[str, str]
    mapping: Mapping
    default_limit: int
    max_limit: int
    description: str | None = None
    contract: type | None = None
    operations: tuple[str, ...] = ("get", "list")    # the routes it has: get, list, create
    changes: dict[str, Any] | None = None    # change feed options (legacy_bridge.changes)
    watermark: tuple[str, ...] = ()      # field(s) that grow on every write: updated_since


@dataclass
class Config:
    service: dict[str, Any]
    sources: dict[str, dict[str, Any]]
    resources: dict[str, ResourceSpec] = field(default_factory=dict)
    origin: str = "config"
    auth: dict[str, Any] | None = None          # None: no auth: section, every route is open
    rate_limits: dict[str, Any] | None = None
    webhooks: dict[str, Any] = field(default_factory=dict)    # the webhooks: section, defaults filled in


def parse_duration(value: Any) -> float:
    """``5s``, ``500ms``, ``2m`` or a number of seconds."""
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, (int, float)):
        return float(value)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_size(value: Any) -> int:
    """``1MiB``, ``64KiB``, ``10MB`` or a number of bytes."""
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int):
        return value
    match = _SIZE.match(str(value))
    if not match:
        raise ValueError
    return int(match.group(1)) * _SIZE_UNITS[(match.group(2) or "b").lower()]


def interpolate(node: Any, path: str, problems: list[tuple[str, str]]) -> Any:
    """Replace ``${VAR}`` / ``${VAR:-default}`` in every string of the tree."""
    if isinstance(node, dict):
        return {k: interpolate(v, f"{path}.{k}" if path else str(k), problems) for k, v in node.items()}
    if isinstance(node, list):
        return [interpolate(v, f"{path}[{i}]", problems) for i, v in enumerate(node)]
    if not isinstance(node, str):
        return node

    def one(match: re.Match) -> str:
        value = os.environ.get(match.group(1), match.group(2))
        if value is None:
            problems.append((path, f"environment variable {match.group(1)} is not set"))
            return ""
        return value
    return _ENV.sub(one, node)


class _Checker:
    """Collects (path, message) problems while building the typed config."""

    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append((path, message))

    def mapping(self, node: Any, path: str) -> dict:
        if node is None:
            return {}
        if not isinstance(node, dict):
            self.fail(path, f"expected a mapping, got {type(node).__name__}")
            return {}
        return node

    def unknown(self, node: dict, known: set[str], path: str) -> None:
        for key in node:
            if key not in known:
                self.fail(f"{path}.{key}" if path else str(key),
                          f"unknown key; known: {', '.join(sorted(known))}")

    def integer(self, node: dict, key: str, path: str, default: int, low: int = 1) -> int:
        value = node.get(key, default)
        if isinstance(value, str) and value.strip().isdecimal():   # ${VAR} interpolation yields text
            value = node[key] = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            self.fail(f"{path}.{key}", f"expected an integer >= {low}, got {value!r}")
            return default
        return value

    def duration(self, node: dict, key: str, path: str) -> None:
        if key in node:
            try:
                node[key] = parse_duration(node[key])
            except ValueError:
                self.fail(f"{path}.{key}", f"expected a duration such as 5s or 500ms, got {node[key]!r}")


def _import(spec: str) -> Any:
    module, _, attr = spec.partition(":")
    return getattr(import_module(module), attr)


def _import_plugins(ck: _Checker, plugins: Any) -> None:
    """Import the modules that register custom converters or drivers, before they are named."""
    if not isinstance(plugins, list):
        ck.fail("plugins", "expected a list of Python module names")
        return
    for i, module in enumerate(plugins):
        try:
            import_module(str(module))
        except ImportError as exc:
            ck.fail(f"plugins[{i}]", f"cannot import {module!r} ({exc})")


def _check_source(ck: _Checker, name: str, node: Any) -> dict | None:
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
            ck.fail(f"{path}.timezone", f"unknown time zone {node['timezone']!r}; an IANA name such as "
                                        "Europe/Berlin or UTC")
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


def _check_field(ck: _Checker, name: str, node: Any, path: str) -> FieldMap | None:
    if not NAME.match(str(name)):
        ck.fail(path, "field names are lower_snake_case (letters, digits, _)")
    if isinstance(node, str):
        node = {"column": node}
    node = ck.mapping(node, path)
    ck.unknown(node, FIELD_KEYS, path)
    column = node.get("column")
    if not isinstance(column, str) or not column:
        ck.fail(f"{path}.column", "required: the legacy column name")
    try:
        converter = build_converter(node.get("converter"))
    except ConversionError as exc:
        ck.fail(f"{path}.converter", str(exc))
        return None
    for flag in ("filter", "sort", "nullable"):
        if flag in node and not isinstance(node[flag], bool):
            ck.fail(f"{path}.{flag}", f"expected true or false, got {node[flag]!r}")
    if not isinstance(column, str):
        return None
    return FieldMap(name=name, column=column, converter=converter,
                    filter=node.get("filter") is True, sort=node.get("sort") is True,
                    description=node.get("description"), nullable=node.get("nullable", True) is True)


def _names_its_files(source: Any) -> bool:
    """A source whose driver needs no table (a flat-file source names its files itself)."""
    try:
        return isinstance(source, dict) and getattr(driver_class(source.get("kind")), "target_optional", False)
    except (KeyError, TypeError):
        return False


def _column_problems(source: Any, fields: dict[str, FieldMap]) -> list[tuple[str, str]]:
    """Fields naming a column the source's layout lacks, when its config alone gives the
    layout (a flat file's copybook or declared columns): found at start-up, not per request."""
    try:
        check = getattr(driver_class(source.get("kind")), "check_columns", None)
    except (KeyError, TypeError, AttributeError):
        return []
    return check(source, {n: f.column for n, f in fields.items()}) if check else []


def _sorts(source: Any) -> bool:
    try:
        return isinstance(source, dict) and driver_class(source.get("kind")).supports_sort
    except (KeyError, TypeError):
        return False


def _check_changes(ck: _Checker, node: dict, spec: ResourceSpec, source: Any) -> dict | None:
    """A resource's ``changes:`` (the change feed), checked by legacy_bridge.changes."""
    from legacy_bridge.changes import check_options
    path = f"resources.{spec.name}.changes"
    options, problems = check_options(node["changes"], spec.mapping.fields,
                                      tuple(getattr(spec, "watermark", ())), _sorts(source))
    for key, message in problems:
        ck.fail(f"{path}.{key}" if key else path, message)
    return options


def _check_resource(ck: _Checker, name: str, node: Any, sources: dict, service: dict) -> ResourceSpec | None:
    path = f"resources.{name}"
    if not RESOURCE_NAME.match(str(name)):
        ck.fail(path, "resource names are lower case letters, digits, - and _")
    node = ck.mapping(node, path)
    ck.unknown(node, RESOURCE_KEYS, path)
    source = node.get("source")
    if source not in sources:
        ck.fail(f"{path}.source", f"unknown source {source!r}; known: {', '.join(sorted(sources)) or 'none'}")
    kind = (sources.get(source) or {}).get("kind") if isinstance(sources.get(source), dict) else None
    by_operation = "get" in target_keys(kind)
    targets = {k: node[k] for k in ("table", "view", "select") if k in node}
    if not targets and _names_its_files(sources.get(source)):
        targets = {"file": str(sources[source].get("path"))}
    if by_operation:
        for k in targets:
            ck.fail(f"{path}.{k}", f"sources of kind {kind} take operations (get, list, create), not {k}")
    for k in ("get", "list", "create", "faults"):
        if k in node and not by_operation:
            ck.fail(f"{path}.{k}", f"only for sources whose kind binds operations (soap), not {kind}")
    if not by_operation and len(targets) != 1:
        ck.fail(path, "exactly one of table, view or select is required")
    for key, value in targets.items():
        if not isinstance(value, str) or not value.strip():
            ck.fail(f"{path}.{key}", "expected a non-empty string")
    select = targets.get("select")
    if isinstance(select, str) and (";" in select or not re.match(r"^\s*(select|with)\b", select, re.I)):
        ck.fail(f"{path}.select", "must be one read-only SELECT statement (no ';')")
    raw_fields = ck.mapping(node.get("fields"), f"{path}.fields")
    if not raw_fields:
        ck.fail(f"{path}.fields", "required: at least one field")
    fields = {}
    for fname, fnode in raw_fields.items():
        fmap = _check_field(ck, fname, fnode, f"{path}.fields.{fname}")
        if fmap is not None:
            fields[fname] = fmap
    for fname, message in _column_problems(sources.get(source), fields):
        ck.fail(f"{path}.fields.{fname}.column", message)
    key = node.get("key")
    key = [key] if isinstance(key, str) else key
    if not isinstance(key, list) or not key:
        ck.fail(f"{path}.key", "required: the field(s) that identify a record, e.g. [id]")
        key = []
    for k in key:
        if k not in raw_fields:
            ck.fail(f"{path}.key", f"key field {k!r} is not among the fields")
    limits = {k: ck.integer(node, k, path, service[k]) for k in ("default_limit", "max_limit")}
    contract = None
    if "contract" in node:
        try:
            contract = _import(str(node["contract"]))
        except (ImportError, AttributeError, ValueError) as exc:
            ck.fail(f"{path}.contract", f"cannot import {node['contract']!r} ({exc})")
    operations: tuple[str, ...] = ("get", "list")
    if by_operation:
        targets, operations = check_operations(ck, node, path, fields, key)
    watermark, problems = check_watermark(node.get("watermark"), fields, sources.get(source))
    for problem in problems:
        ck.fail(f"{path}.watermark", problem)
    if ck.problems or not fields:
        return None
    # keys are always filterable and sortable, and never null
    for k in key:
        fields[k] = FieldMap(**{**fields[k].__dict__, "filter": True, "sort": True, "nullable": False})
    return ResourceSpec(name=name, source=source, target=targets, description=node.get("description"),
                        mapping=Mapping(fields=fields, key=list(key)), contract=contract,
                        operations=operations, watermark=watermark, **limits)


def validate(raw: Any, origin: str = "config") -> Config:
    """Build a :class:`Config` from parsed YAML or raise one ConfigError listing every problem."""
    ck = _Checker()
    raw = interpolate(ck.mapping(raw, ""), "", ck.problems)
    ck.unknown(raw, TOP_KEYS, "")
    _import_plugins(ck, raw.get("plugins", []))
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
        checked = _check_source(ck, name, node)
        if checked is not None:
            sources[name] = checked
    resources = {}
    for name, node in ck.mapping(raw.get("resources"), "resources").items():
        before = len(ck.problems)
        sub = _Checker()
        spec = _check_resource(sub, name, node, ck.mapping(raw.get("sources"), "sources"), service)
        ck.problems.extend(sub.problems)
        if spec is not None and "changes" in node:
            spec.changes = _check_changes(ck, node, spec, ck.mapping(raw.get("sources"), "sources").get(spec.source))
        if spec is not None and len(ck.problems) == before:
            if spec.default_limit > spec.max_limit:
                ck.fail(f"resources.{name}.default_limit", "must not exceed max_limit")
            resources[name] = spec
    auth_options = auth.check_config(ck, raw["auth"]) if "auth" in raw else None
    limits = ratelimit.check_config(ck, raw["rate_limits"]) if "rate_limits" in raw else None
    webhook_options = check_webhooks(ck, raw.get("webhooks"))
    if ck.problems:
        raise ConfigError(ck.problems, origin)
    return Config(service=service, sources=sources, resources=resources, origin=origin,
                  auth=auth_options, rate_limits=limits, webhooks=webhook_options)


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
