"""The ``actions:`` section: stored procedures and database functions called as
``POST <base_path>/<action>`` (``GET`` when declared read-only).

    actions:
      allocate-order:
        source: erp                     # an ODBC source (PostgreSQL, MariaDB)
        procedure: ALLOC_ORD            # or function: NEXT_NO
        read_only: false                # true: GET, read scope, retried like a read
        audit: true                     # an audit record per call (default: unless read-only)
        params:                         # every argument, in the routine's order
          customer_id: {param: P_CUST, converter: int, nullable: false, minimum: 1}  # mode: in (the default)
          amount:      {param: P_AMT, converter: {decimal: {scale: 2}}, mode: inout}
          order_no:    {param: P_ORD, mode: out}
          lines_cur:   {param: P_LINES, mode: inout}                # a refcursor (PostgreSQL)
        returns: {converter: int}       # functions: the scalar return value
        result_sets:                    # in the order the routine answers them
          - {name: lines, cursor: lines_cur, fields: {sku: {column: SKU, converter: trim}}}
        idempotency: {required: false, expire: 24h}
"""

from __future__ import annotations

from typing import Any

from legacy_bridge.config.checker import Checker
from legacy_bridge.config.model import ActionSpec, ResultSetSpec
from legacy_bridge.config.resources import RESOURCE_NAME, check_fields
from legacy_bridge.config.rules import RULE_KEYS, check_rules
from legacy_bridge.config.writes import check_idempotency
from legacy_bridge.contracts.converters import ConversionError
from legacy_bridge.contracts.converters import build as build_converter
from legacy_bridge.contracts.mapping import FieldMap, Mapping
from legacy_bridge.drivers import driver_class
from legacy_bridge.query.routines import MODES

__all__ = ["check_actions", "ACTION_KEYS", "PARAM_KEYS"]

ACTION_KEYS = {"source", "procedure", "function", "read_only", "description", "params", "returns", "result_sets"}
ACTION_KEYS |= {"idempotency", "audit"}
PARAM_KEYS = {"param", "converter", "mode", "required", "nullable", "description", *RULE_KEYS}
_SET_KEYS = {"name", "cursor", "fields", "description"}


def _check_param(ck: Checker, name: str, node: Any, path: str) -> tuple[FieldMap, str, bool] | None:
    if not RESOURCE_NAME.match(str(name)) or "-" in str(name):
        ck.fail(path, "parameter names are lower_snake_case (letters, digits, _)")
    node = ck.mapping(node, path)
    ck.unknown(node, PARAM_KEYS, path)
    legacy = node.get("param")
    if not isinstance(legacy, str) or not legacy:
        ck.fail(f"{path}.param", "required: the routine's parameter name")
        return None
    mode = node.get("mode", "in")
    if mode not in MODES:
        ck.fail(f"{path}.mode", f"expected one of {', '.join(MODES)}, got {mode!r}")
        return None
    required = node.get("required", mode != "out")
    if not isinstance(required, bool) or (required and mode == "out"):
        ck.fail(f"{path}.required", "expected true or false (an OUT parameter is never given)")
        return None
    try:
        converter = build_converter(node.get("converter"))
    except ConversionError as exc:
        ck.fail(f"{path}.converter", str(exc))
        return None
    nullable = node.get("nullable", True)
    if not isinstance(nullable, bool):
        ck.fail(f"{path}.nullable", f"expected true or false, got {nullable!r}")
    rules = check_rules(ck, node, converter.type, path)
    fmap = FieldMap(
        name=name,
        column=legacy,
        converter=converter,
        description=node.get("description"),
        nullable=nullable is not False,
        rules=rules,
    )
    return fmap, mode, required


def _check_sets(ck: Checker, node: Any, path: str, modes: dict[str, str]) -> list[ResultSetSpec]:
    if node is None:
        return []
    if not isinstance(node, list):
        ck.fail(path, "expected a list of {name, fields} (cursor: for a refcursor parameter)")
        return []
    sets: list[ResultSetSpec] = []
    for i, item in enumerate(node):
        where = f"{path}[{i}]"
        item = ck.mapping(item, where)
        ck.unknown(item, _SET_KEYS, where)
        name = item.get("name")
        if not isinstance(name, str) or not RESOURCE_NAME.match(name) or "-" in name:
            ck.fail(f"{where}.name", "required: the set's name in the answer (lower_snake_case)")
            continue
        if any(s.name == name for s in sets):
            ck.fail(f"{where}.name", f"{name!r} names another result set already")
        cursor = item.get("cursor")
        if cursor is not None and modes.get(cursor) not in ("out", "inout"):
            ck.fail(f"{where}.cursor", f"{cursor!r} is not an OUT or INOUT parameter of the action")
        fields = check_fields(ck, item, where, 0)
        nested = [n for n, f in fields.items() if f.nested]
        if nested:
            ck.fail(f"{where}.fields", f"a result set's row has no nested column: {', '.join(nested)}")
        sets.append(ResultSetSpec(name, cursor, Mapping(fields=fields, key=[]), item.get("description")))
    return sets


def _check_action(ck: Checker, name: str, node: Any, sources: dict, resources: dict) -> ActionSpec | None:
    path = f"actions.{name}"
    if not RESOURCE_NAME.match(str(name)):
        ck.fail(path, "action names are lower case letters, digits, - and _")
    elif name in resources or name == "docs":
        ck.fail(path, f"{name!r} names a resource already (the route {name} is taken)")
    node = ck.mapping(node, path)
    ck.unknown(node, ACTION_KEYS, path)
    source = node.get("source")
    options = sources.get(source) if isinstance(sources.get(source), dict) else None
    if options is None:
        ck.fail(f"{path}.source", f"unknown source {source!r}; known: {', '.join(sorted(sources)) or 'none'}")
    else:
        try:
            calls = driver_class(options.get("kind")).calls_routines
        except KeyError:
            calls = True  # the source's own check names its kind
        if not calls:
            ck.fail(f"{path}.source", f"sources of kind {options.get('kind')} have no stored procedures (odbc has)")
    kinds = [k for k in ("procedure", "function") if k in node]
    if len(kinds) != 1 or not isinstance(node.get(kinds[0]), str) or not node[kinds[0]]:
        ck.fail(path, "exactly one of procedure or function is required: the routine's name")
        return None
    kind = kinds[0]
    read_only = node.get("read_only", False)
    if not isinstance(read_only, bool):
        ck.fail(f"{path}.read_only", f"expected true or false, got {read_only!r}")
    elif not read_only and options is not None and options.get("read_only", True) is not False:
        ck.fail(path, "its source is read-only: set read_only: false on the source, or read_only: true here")
    params: dict[str, FieldMap] = {}
    modes: dict[str, str] = {}
    required = []
    for pname, pnode in ck.mapping(node.get("params"), f"{path}.params").items():
        checked = _check_param(ck, pname, pnode, f"{path}.params.{pname}")
        if checked is not None:
            params[pname], modes[pname], needed = checked
            if needed:
                required.append(pname)
    returns = None
    if "returns" in node:
        rnode = ck.mapping(node["returns"], f"{path}.returns")
        ck.unknown(rnode, {"converter", "description"}, f"{path}.returns")
        if kind != "function":
            ck.fail(f"{path}.returns", "a procedure returns no value: OUT parameters answer for it")
        try:
            converter = build_converter(rnode.get("converter"))
            returns = FieldMap(
                name="return", column="return", converter=converter, description=rnode.get("description")
            )
        except ConversionError as exc:
            ck.fail(f"{path}.returns.converter", str(exc))
    audit = node.get("audit", not read_only)
    if not isinstance(audit, bool):
        ck.fail(f"{path}.audit", f"expected true or false, got {audit!r}")
    sets = _check_sets(ck, node.get("result_sets"), f"{path}.result_sets", modes)
    idempotency = check_idempotency(ck, node.get("idempotency"), f"{path}.idempotency", not read_only)
    return ActionSpec(
        name=name,
        source=str(source),
        kind=kind,
        routine=node[kind],
        params=params,
        modes=modes,
        required=tuple(required),
        read_only=read_only is True,
        audit=audit is True,
        returns=returns,
        result_sets=sets,
        description=node.get("description"),
        idempotency=idempotency,
    )


def check_actions(ck: Checker, node: Any, sources: dict, resources: dict) -> dict[str, ActionSpec]:
    """Every action of the ``actions:`` section (problems collected in ``ck``)."""
    actions = {}
    for name, anode in ck.mapping(node, "actions").items():
        before = len(ck.problems)
        spec = _check_action(ck, str(name), anode, sources, resources)
        if spec is not None and len(ck.problems) == before:
            actions[str(name)] = spec
    return actions
