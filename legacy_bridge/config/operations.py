"""Config checks of operation-bound resources (SOAP): ``get`` / ``list`` / ``create`` /
``update`` / ``delete`` name an operation, fill its parameters from placeholders and find the
records; ``faults`` say what the service's fault codes mean."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from legacy_bridge.contracts.mapping import FieldMap
from legacy_bridge.drivers import driver_class
from legacy_bridge.errors import FAULT_KINDS

if TYPE_CHECKING:
    from legacy_bridge.config.checker import Checker

OPERATION_KEYS = {"operation", "params", "records", "next"}
#: the operations a resource may bind, in the order they are checked and described
OPERATIONS = ("get", "list", "create", "update", "delete")
EXTRA_KEYS = {
    "get": set(),
    "list": {"required", "parent_fields"},
    "create": {"returns"},
    "update": {"returns"},
    "delete": set(),
}
PLACEHOLDERS = {
    "get": ("key",),
    "list": ("filter", "page", "limit"),
    "create": ("body",),
    "update": ("key", "body"),
    "delete": ("key", "body"),
}
#: what a list parameter may take of a filter: {filter.<field>} is eq, {filter.<field>.gte} a bound
FILTER_OPERATORS = ("eq", "gt", "gte", "lt", "lte")
_PLACEHOLDER = re.compile(r"^\{([a-z]+)(?:\.([a-z][a-z0-9_]*))?(?:\.([a-z]+))?\}$")
#: create.returns / update.returns: what the operation answers (update: by default nothing
#: used, the record is read back with the get operation)
RETURNS = {"create": ("record", "key"), "update": ("record", "nothing")}


def _check_operation(ck: Checker, op: str, node: Any, path: str, fields: dict[str, FieldMap], key: list) -> dict:
    node = ck.mapping(node, path)
    ck.unknown(node, OPERATION_KEYS | EXTRA_KEYS[op], path)
    if not isinstance(node.get("operation"), str) or not node.get("operation"):
        ck.fail(f"{path}.operation", "required: the name of the operation in the WSDL")
    for k in ("records", "next"):
        if k in node and (not isinstance(node[k], str) or not node[k]):
            ck.fail(f"{path}.{k}", "expected a dotted path into the response, e.g. Shipments.Shipment")
    params = ck.mapping(node.get("params"), f"{path}.params")
    allowed = PLACEHOLDERS[op]
    used = set()
    if op in RETURNS and node.get("returns", RETURNS[op][0]) not in RETURNS[op]:
        ck.fail(f"{path}.returns", f"expected one of {', '.join(RETURNS[op])}, got {node['returns']!r}")
    for param, template in params.items():
        match = _PLACEHOLDER.match(template) if isinstance(template, str) else None
        if match is None:
            if isinstance(template, str) and "{" in template:
                ck.fail(
                    f"{path}.params.{param}",
                    f"{template!r} is not a placeholder; {op} takes " + ", ".join(f"{{{a}}}" for a in allowed),
                )
            continue
        kind, name, operator = match.groups()
        used.add(kind)
        if operator is not None and (kind != "filter" or operator not in FILTER_OPERATORS):
            ck.fail(
                f"{path}.params.{param}",
                f"{template}: only a filter takes an operator, one of {', '.join(FILTER_OPERATORS)}",
            )
        elif kind not in allowed:
            ck.fail(
                f"{path}.params.{param}",
                f"{op} cannot use {template}; it takes " + ", ".join(f"{{{a}}}" for a in allowed),
            )
        elif name is not None and name not in fields:
            ck.fail(f"{path}.params.{param}", f"{template}: no field {name!r}; fields: {', '.join(fields)}")
        elif kind == "filter" and (name is None or not (fields[name].filter or name in key)):
            ck.fail(f"{path}.params.{param}", f"{template}: name a field with filter: true")
        elif kind == "key" and name is not None and name not in key:
            ck.fail(f"{path}.params.{param}", f"{template}: {name!r} is not a key field")
        elif kind == "key" and name is None and len(key) != 1:
            ck.fail(f"{path}.params.{param}", "{key} needs a single-field key; use {key.<field>}")
        elif kind in ("page", "limit") and name is not None:
            ck.fail(f"{path}.params.{param}", f"{{{kind}}} takes no field name")
    if op == "list":
        _check_bindings(ck, params, fields, f"{path}.params")
        _check_required(ck, node, params, f"{path}.required")
        node = {**node, "parent_columns": _check_parent_fields(ck, node.get("parent_fields"), fields, path)}
    if op == "delete" and not used & {"key", "body"}:
        ck.fail(f"{path}.params", "names no record: give a {key} (or {key.<field>}) or a {body} parameter")
    if op == "list" and ("next" in node) != ("page" in used):
        ck.fail(
            path,
            "next (where the response holds the next page token) and a {page} parameter "
            "(where the request takes it) go together",
        )
    return node


def _filters(params: dict) -> list[tuple[str, str, str]]:
    """(parameter, field, operator) of every ``{filter.<field>[.<op>]}`` parameter."""
    return [
        (param, m.group(2), m.group(3) or "eq")
        for param, t in params.items()
        if isinstance(t, str) and (m := _PLACEHOLDER.match(t)) and m.group(1) == "filter" and m.group(2)
    ]


def _check_bindings(ck: Checker, params: dict, fields: dict[str, FieldMap], path: str) -> None:
    """Refuse two list parameters that one filter would fill: the same field and operator twice,
    or two fields of one column (``date_from`` and ``date_to`` both on ``ShipDate``), whose
    filter values the source could not tell apart: wrong data, silently.  A range is one field
    with ``{filter.<field>.gte}`` and ``{filter.<field>.lte}``."""
    seen: dict[tuple[str, str], tuple[str, str]] = {}
    for param, name, op in _filters(params):
        column = fields[name].column if name in fields else None
        if column is None:
            continue
        pair = (column, op)
        if pair not in seen:
            seen[pair] = (param, name)
            continue
        other_param, other = seen[pair]
        what = f"filter {name}" if other == name else f"fields {other} and {name} (both column {pair[0]})"
        suffix = "" if op == "eq" else f"[{op}]"
        ck.fail(
            f"{path}.{param}",
            f"{other_param} and {param} both take {what}{suffix}: one filter value would fill both "
            "(wrong data); bind a range to one field: {filter.<field>.gte} and {filter.<field>.lte}",
        )


def _check_parent_fields(ck: Checker, node: Any, fields: dict[str, FieldMap], path: str) -> dict[str, str]:
    """``list.parent_fields: {manifest_no: ManifestNo}``: fields a child record takes from the
    element it sits in one array up (its parent, see drivers/soap/records.py), by dotted path;
    returned as {the field's column: path in the parent}."""
    out: dict[str, str] = {}
    for name, parent_path in ck.mapping(node, f"{path}.parent_fields").items():
        if name not in fields:
            ck.fail(f"{path}.parent_fields.{name}", f"no field {name!r}; fields: {', '.join(fields)}")
        elif not isinstance(parent_path, str) or not parent_path:
            ck.fail(f"{path}.parent_fields.{name}", "expected a dotted path in the parent element, e.g. ManifestNo")
        elif fields[name].nested:
            ck.fail(
                f"{path}.parent_fields.{name}", f"{name!r} is of type {fields[name].kind}: a parent field is a scalar"
            )
        else:
            out[fields[name].row_column] = parent_path
    return out


def _check_required(ck: Checker, node: dict, params: dict, path: str) -> None:
    """``list.required``: the filters the operation cannot do without, each a ``{filter.<field>}``
    parameter (``<field>[<op>]`` for a ``{filter.<field>.<op>}`` one); the OpenAPI document marks
    them required."""
    required = node.get("required")
    if required is None:
        return
    filters = [name if op == "eq" else f"{name}[{op}]" for _, name, op in _filters(params)]
    if not isinstance(required, list) or not all(isinstance(n, str) for n in required):
        ck.fail(path, "expected a list of field names, e.g. [origin, destination]")
        return
    for name in required:
        if name not in filters:
            ck.fail(
                path,
                f"{name!r} is not a {{filter.<field>}} parameter of the operation; "
                f"filter parameters: {', '.join(filters) or 'none'}",
            )


def check_operations(
    ck: Checker, node: dict, path: str, fields: dict[str, FieldMap], key: list
) -> tuple[dict, tuple[str, ...]]:
    """The target of an operation-bound resource: its operations, faults, field columns."""
    target: dict[str, Any] = {}
    for op in OPERATIONS:
        if op in node:
            target[op] = _check_operation(ck, op, node[op], f"{path}.{op}", fields, key)
    if "get" not in target and "list" not in target:
        ck.fail(path, "a get or a list operation is required")
    for op in ("update", "delete"):
        if op in target and "get" not in target:
            ck.fail(
                f"{path}.{op}",
                f"{op} needs a get operation: the current record is read first (PATCH merges onto it, "
                "If-Match compares its ETag, the audit record keeps it)",
            )
    target["faults"] = _check_faults(ck, node.get("faults"), f"{path}.faults")
    target["fields"] = {name: f.column for name, f in fields.items()}
    target["key"] = [fields[k].column for k in key if k in fields]
    target["nested"] = nested_columns(fields)
    operations = tuple(op for op in OPERATIONS if op in target)
    return target, (("get",) if "get" not in operations else ()) + operations


def _check_faults(ck: Checker, node: Any, path: str) -> dict[str, dict[str, Any]]:
    """``faults: {<kind>: [codes]}`` or ``{<kind>: {codes: [...], retry_after: 30}}`` (retry_after:
    unavailable only), kinds from ``FAULT_KINDS``; normalized to ``{kind: {codes, retry_after}}``."""
    faults = ck.mapping(node, path)
    ck.unknown(faults, set(FAULT_KINDS), path)
    out: dict[str, dict[str, Any]] = {}
    owner: dict[str, str] = {}
    for kind, entry in faults.items():
        if kind not in FAULT_KINDS:
            continue
        retry_after = None
        if isinstance(entry, dict):
            ck.unknown(entry, {"codes", "retry_after"} if kind == "unavailable" else {"codes"}, f"{path}.{kind}")
            if "retry_after" in entry:
                retry_after = ck.integer(entry, "retry_after", f"{path}.{kind}", 30)
            entry = entry.get("codes")
        if not isinstance(entry, list) or not entry or not all(isinstance(c, str) and c for c in entry):
            ck.fail(f"{path}.{kind}", "expected a list of fault codes, e.g. [Client.NotFound] (or {codes: [...]})")
            continue
        for code in entry:
            if owner.setdefault(code, kind) != kind:
                ck.fail(f"{path}.{kind}", f"fault code {code} is listed under {owner[code]} too")
        out[kind] = {"codes": list(entry), "retry_after": retry_after}
    return out


def nested_columns(fields: dict[str, FieldMap]) -> tuple:
    """The nested columns among ``fields`` as the SOAP driver reads them (drivers/soap/records.py):
    ``(column, kind, element columns)``; a grouping object's (column-less) fields are looked
    into, as they are the record's own columns."""
    return tuple(c for c in _element_columns(fields) if isinstance(c, tuple))


def _element_columns(fields: dict[str, FieldMap]) -> tuple:
    """The columns of ``fields`` (of a record, or inside one element of a nested column): paths,
    nested columns as tuples."""
    out: list[Any] = []
    for f in fields.values():
        if f.column is None:
            out += _element_columns(f.fields)
        else:
            out.append((f.column, f.kind, _element_columns(f.fields)) if f.nested else f.column)
    return tuple(out)


def target_keys(kind: Any) -> tuple[str, ...]:
    """What a source kind's resources name: tables (ODBC) or operations (SOAP)."""
    try:
        return driver_class(kind).target_keys
    except (KeyError, TypeError):
        return ("table", "view", "select")
