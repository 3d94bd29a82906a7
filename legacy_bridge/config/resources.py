"""Checks of one resource of the ``resources:`` section: its source and target, fields,
key, limits, contract, operations (SOAP), watermark and change feed."""

from __future__ import annotations

import re
from typing import Any

from legacy_bridge.config.checker import Checker, import_object
from legacy_bridge.config.drops import check_drop
from legacy_bridge.config.embeds import check_embeds, embedded_field
from legacy_bridge.config.model import ResourceSpec
from legacy_bridge.config.operations import OPERATIONS, check_operations, target_keys
from legacy_bridge.config.rules import RULE_KEYS, check_rules
from legacy_bridge.config.writes import WriteSpec, check_idempotency, check_writes
from legacy_bridge.contracts.converters import ConversionError
from legacy_bridge.contracts.converters import build as build_converter
from legacy_bridge.contracts.mapping import KINDS, FieldMap, Mapping
from legacy_bridge.drivers import driver_class
from legacy_bridge.events.changes import check_options as check_changes_options
from legacy_bridge.query.watermark import check_watermark

__all__ = ["check_resource", "check_changes", "check_fields", "RESOURCE_KEYS", "RESOURCE_NAME", "FIELD_KEYS"]

NAME = re.compile(r"^[a-z][a-z0-9_]*$")
RESOURCE_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
RESOURCE_KEYS = {
    "source",
    "table",
    "view",
    "select",
    "key",
    "fields",
    "description",
    "default_limit",
    "max_limit",
    "contract",
    "get",
    "list",
    "create",
    "update",
    "delete",
    "faults",
    "watermark",
    "changes",
    "versions",
    "embed",
    "writes",
    "idempotency",
    "drop",
}
FIELD_KEYS = {"column", "converter", "filter", "sort", "description", "nullable", "type", "fields", *RULE_KEYS}


def _check_field(ck: Checker, name: str, node: Any, path: str, depth: int = 0) -> FieldMap | None:
    """One field: a scalar, or (``type: object|array``) a nested one with inner ``fields``."""
    if not NAME.match(str(name)):
        ck.fail(path, "field names are lower_snake_case (letters, digits, _)")
    if isinstance(node, str):
        node = {"column": node}
    node = ck.mapping(node, path)
    ck.unknown(node, FIELD_KEYS, path)
    kind = node.get("type", "scalar")
    if kind not in KINDS:
        ck.fail(f"{path}.type", f"expected object or array (a scalar field has no type), got {kind!r}")
        return None
    column = node.get("column")
    if column is not None and (not isinstance(column, str) or not column):
        ck.fail(f"{path}.column", "expected the legacy column name")
        return None
    if column is None and kind != "object":
        ck.fail(f"{path}.column", "required: the legacy column name")
        return None
    inner = _check_inner(ck, node, kind, path, depth)
    try:
        converter = build_converter(node.get("converter"))
    except ConversionError as exc:
        ck.fail(f"{path}.converter", str(exc))
        return None
    for flag in ("filter", "sort", "nullable"):
        if flag in node and not isinstance(node[flag], bool):
            ck.fail(f"{path}.{flag}", f"expected true or false, got {node[flag]!r}")
    if kind != "scalar" and node.get("sort"):
        ck.fail(f"{path}.sort", f"a field of type {kind} cannot be sorted on")
    if inner and node.get("filter"):
        ck.fail(f"{path}.filter", "filter on the inner fields (filter: true on each)")
    if node.get("filter") and depth > 1:
        ck.fail(f"{path}.filter", "filters reach one level into nested fields (lines.sku), not deeper")
    value_type = converter.type if not inner else kind
    rules = check_rules(ck, node, value_type, path)
    return FieldMap(
        name=name,
        column=column,
        converter=converter,
        filter=node.get("filter") is True,
        sort=node.get("sort") is True,
        description=node.get("description"),
        nullable=node.get("nullable", True) is True,
        kind=kind,
        fields=inner,
        rules=rules,
    )


def _check_inner_field(ck: Checker, name: str, node: Any, path: str) -> FieldMap | None:
    return _check_field(ck, name, node, path, depth=1)


def check_fields(ck: Checker, node: dict, path: str, depth: int) -> dict[str, FieldMap]:
    """The ``fields:`` of a resource (depth 0) or of a nested field."""
    raw = ck.mapping(node.get("fields"), f"{path}.fields")
    if not raw:
        ck.fail(f"{path}.fields", "required: at least one field")
    checked = {}
    for fname, fnode in raw.items():
        fmap = _check_field(ck, fname, fnode, f"{path}.fields.{fname}", depth)
        if fmap is not None:
            checked[fname] = fmap
    return checked


def _check_inner(ck: Checker, node: dict, kind: str, path: str, depth: int) -> dict[str, FieldMap]:
    """The inner fields of a nested field (an array of scalars has none)."""
    if "fields" not in node:
        if kind == "object":
            ck.fail(f"{path}.fields", "required for type object: its inner fields")
        return {}
    if kind == "scalar":
        ck.fail(f"{path}.fields", "only fields of type object or array have inner fields")
        return {}
    if "converter" in node:
        ck.fail(f"{path}.converter", "a field with inner fields converts each of them: put converters there")
    inner = check_fields(ck, node, path, depth + 1)
    if node.get("column") is None:  # a grouping object: its fields are the row's own columns
        for fname, fmap in inner.items():
            if fmap.nested and fmap.column is None:
                ck.fail(f"{path}.fields.{fname}", "a grouping object (no column) holds columns or nested columns")
    return inner


def _names_its_files(source: Any) -> bool:
    """A source whose driver needs no table (a flat-file source names its files itself)."""
    try:
        return isinstance(source, dict) and driver_class(source.get("kind")).target_optional
    except (KeyError, TypeError):
        return False


def _column_problems(source: Any, fields: dict[str, FieldMap]) -> list[tuple[str, str]]:
    """Fields naming a column the source's layout lacks, when its config alone gives the
    layout (a flat file's copybook or declared columns): found at start-up, not per request."""
    try:
        driver = driver_class(source.get("kind"))
    except (KeyError, TypeError, AttributeError):
        return []
    return driver.check_columns(source, dict(_layout_columns(fields, (), "")))


def _layout_columns(fields: dict[str, FieldMap], outer: tuple[str, ...], prefix: str):
    """(dotted field name, column) of every field: a row column as a string, an inner column of
    a nested one as the path (outer column, inner column)."""
    for name, f in fields.items():
        path = outer + (f.column,) if f.column is not None else outer
        if f.column is not None:
            yield prefix + name, path if len(path) > 1 else path[0]
        if f.fields:
            yield from _layout_columns(f.fields, path, f"{prefix}{name}.")


def _writes_tables(source: Any) -> bool:
    try:
        return isinstance(source, dict) and driver_class(source.get("kind")).writes_tables
    except (KeyError, TypeError):
        return False


def _sorts(source: Any) -> bool:
    try:
        return isinstance(source, dict) and driver_class(source.get("kind")).supports_sort
    except (KeyError, TypeError):
        return False


def check_changes(ck: Checker, node: dict, spec: ResourceSpec, source: Any) -> dict | None:
    """A resource's ``changes:`` (the change feed), checked by legacy_bridge.changes."""
    path = f"resources.{spec.name}.changes"
    options, problems = check_changes_options(
        node["changes"], spec.mapping.fields, tuple(spec.watermark), _sorts(source)
    )
    for key, message in problems:
        ck.fail(f"{path}.{key}" if key else path, message)
    return options


def check_resource(ck: Checker, name: str, node: Any, sources: dict, service: dict) -> ResourceSpec | None:
    path = f"resources.{name}"
    if not RESOURCE_NAME.match(str(name)):
        ck.fail(path, "resource names are lower case letters, digits, - and _")
    elif name == "docs":
        ck.fail(path, "docs is reserved: <base_path>/docs is the version's docs page")
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
            ck.fail(f"{path}.{k}", f"sources of kind {kind} take operations ({', '.join(OPERATIONS)}), not {k}")
    for k in (*OPERATIONS, "faults"):
        if k in node and not by_operation:
            ck.fail(f"{path}.{k}", f"only for sources whose kind binds operations (soap), not {kind}")
    if not by_operation and len(targets) != 1:
        ck.fail(path, "exactly one of table, view or select is required")
    for kind, value in targets.items():
        if not isinstance(value, str) or not value.strip():
            ck.fail(f"{path}.{kind}", "expected a non-empty string")
    select = targets.get("select")
    if isinstance(select, str) and (";" in select or not re.match(r"^\s*(select|with)\b", select, re.I)):
        ck.fail(f"{path}.select", "must be one read-only SELECT statement (no ';')")
    raw_fields = node.get("fields") if isinstance(node.get("fields"), dict) else {}
    fields = check_fields(ck, node, path, 0)
    for fname, message in _column_problems(sources.get(source), fields):
        ck.fail(f"{path}.fields.{fname.replace('.', '.fields.')}.column", message)
    embeds = check_embeds(ck, node.get("embed"), f"{path}.embed", sources.get(source), fields, _check_inner_field)

    given = node.get("key")
    key: list[str] = [given] if isinstance(given, str) else given
    if not isinstance(key, list) or not key:
        ck.fail(f"{path}.key", "required: the field(s) that identify a record, e.g. [id]")
        key = []
    for k in key:
        if k not in raw_fields:
            ck.fail(f"{path}.key", f"key field {k!r} is not among the fields")
        elif k in fields and fields[k].nested:
            ck.fail(f"{path}.key", f"key field {k!r} is of type {fields[k].kind}: a key is scalar")
    limits = {k: ck.integer(node, k, path, service[k]) for k in ("default_limit", "max_limit")}
    contract = None
    if "contract" in node:
        try:
            contract = import_object(str(node["contract"]))
        except (ImportError, AttributeError, ValueError) as exc:
            ck.fail(f"{path}.contract", f"cannot import {node['contract']!r} ({exc})")
    operations: tuple[str, ...] = ("get", "list")
    writes = None
    if by_operation:
        targets, operations = check_operations(ck, node, path, fields, key)
        if {"create", "update", "delete"} & set(operations):  # its operations' writes, journaled as a table's
            writes = WriteSpec("create" in operations, "update" in operations, "delete" in operations)
    if "writes" in node:
        writes = check_writes(
            ck, node["writes"], f"{path}.writes", fields, key, sources.get(source), _writes_tables(sources.get(source))
        )
        if writes is not None and "table" not in targets:
            ck.fail(f"{path}.writes", "writes go to a table: this resource reads a view or a select")
        operations += tuple(op for op in (writes.operations if writes else ()) if op not in operations)
    drop = None
    if "drop" in node:
        drop = check_drop(ck, node["drop"], f"{path}.drop", fields, sources.get(source))
        if "writes" in node:
            ck.fail(f"{path}.drop", "a resource takes writes (a table) or drops (files), not both")
        operations += ("create",)
    idempotency = check_idempotency(ck, node.get("idempotency"), f"{path}.idempotency", "create" in operations)
    watermark, problems = check_watermark(node.get("watermark"), fields, sources.get(source))
    for problem in problems:
        ck.fail(f"{path}.watermark", problem)
    if ck.problems or not fields:
        return None
    # keys are always filterable and sortable, and never null
    for k in key:
        fields[k] = FieldMap(**{**fields[k].__dict__, "filter": True, "sort": True, "nullable": False})
    fields.update({n: embedded_field(e) for n, e in embeds.items()})  # arrays of the child's rows
    return ResourceSpec(
        name=name,
        source=source,
        target=targets,
        description=node.get("description"),
        mapping=Mapping(fields=fields, key=list(key)),
        contract=contract,
        operations=operations,
        writes=writes,
        drop=drop,
        idempotency=idempotency,
        watermark=watermark,
        default_limit=limits["default_limit"],
        max_limit=limits["max_limit"],
        embeds=embeds,
    )
