"""Config checks of operation-bound resources (SOAP): ``get`` / ``list`` / ``create``
name an operation, fill its parameters from placeholders and find the records."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from legacy_bridge.contracts.mapping import FieldMap
from legacy_bridge.drivers import driver_class

if TYPE_CHECKING:
    from legacy_bridge.config.checker import Checker

OPERATION_KEYS = {"operation", "params", "records", "next"}
LIST_KEYS = OPERATION_KEYS | {"required"}
PLACEHOLDERS = {"get": ("key",), "list": ("filter", "page", "limit"), "create": ("body",)}
_PLACEHOLDER = re.compile(r"^\{([a-z]+)(?:\.([a-z][a-z0-9_]*))?\}$")


def _check_operation(ck: Checker, op: str, node: Any, path: str, fields: dict[str, FieldMap], key: list) -> dict:
    node = ck.mapping(node, path)
    ck.unknown(node, LIST_KEYS if op == "list" else OPERATION_KEYS, path)
    if not isinstance(node.get("operation"), str) or not node.get("operation"):
        ck.fail(f"{path}.operation", "required: the name of the operation in the WSDL")
    for k in ("records", "next"):
        if k in node and (not isinstance(node[k], str) or not node[k]):
            ck.fail(f"{path}.{k}", "expected a dotted path into the response, e.g. Shipments.Shipment")
    params = ck.mapping(node.get("params"), f"{path}.params")
    allowed = PLACEHOLDERS[op]
    used = set()
    for param, template in params.items():
        match = _PLACEHOLDER.match(template) if isinstance(template, str) else None
        if match is None:
            if isinstance(template, str) and "{" in template:
                ck.fail(
                    f"{path}.params.{param}",
                    f"{template!r} is not a placeholder; {op} takes " + ", ".join(f"{{{a}}}" for a in allowed),
                )
            continue
        kind, name = match.groups()
        used.add(kind)
        if kind not in allowed:
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
        _check_required(ck, node, params, f"{path}.required")
    if op == "list" and ("next" in node) != ("page" in used):
        ck.fail(
            path,
            "next (where the response holds the next page token) and a {page} parameter "
            "(where the request takes it) go together",
        )
    return node


def _check_required(ck: Checker, node: dict, params: dict, path: str) -> None:
    """``list.required``: the filters the operation cannot do without, each a ``{filter.<field>}``
    parameter (the OpenAPI document marks them required)."""
    required = node.get("required")
    if required is None:
        return
    filters = [
        m.group(2)
        for t in params.values()
        if isinstance(t, str) and (m := _PLACEHOLDER.match(t)) and m.group(1) == "filter"
    ]
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
    """The target of an operation-bound resource: get/list/create, faults, field columns."""
    target: dict[str, Any] = {}
    for op in ("get", "list", "create"):
        if op in node:
            target[op] = _check_operation(ck, op, node[op], f"{path}.{op}", fields, key)
    if "get" not in target and "list" not in target:
        ck.fail(path, "a get or a list operation is required")
    faults = ck.mapping(node.get("faults"), f"{path}.faults")
    ck.unknown(faults, {"not_found", "invalid"}, f"{path}.faults")
    for k, codes in faults.items():
        if not isinstance(codes, list) or not all(isinstance(c, str) and c for c in codes):
            ck.fail(f"{path}.faults.{k}", "expected a list of fault codes, e.g. [Client.NotFound]")
    target["faults"] = {k: list(v) for k, v in faults.items() if isinstance(v, list)}
    target["fields"] = {name: f.column for name, f in fields.items()}
    operations = tuple(op for op in ("get", "list", "create") if op in target)
    return target, (("get",) if "get" not in operations else ()) + operations


def target_keys(kind: Any) -> tuple[str, ...]:
    """What a source kind's resources name: tables (ODBC) or operations (SOAP)."""
    try:
        return driver_class(kind).target_keys
    except (KeyError, TypeError):
        return ("table", "view", "select")
