"""An operation's arguments: the ``params`` of a resource's get/list/create with their
placeholders filled, and which filters a list operation takes as parameters.

Placeholders (checked at start-up by legacy_bridge/config/operations.py): ``{key}``,
``{key.<field>}``, ``{filter.<field>}`` (eq), ``{filter.<field>.<op>}`` (op: gt, gte, lt,
lte; ``.eq`` spells the bare form), ``{page}``, ``{limit}``, ``{body}``, ``{body.<field>}``.
"""

from __future__ import annotations

import re
from typing import Any

from zeep.xsd import SkipValue

from legacy_bridge.query.legacy import Condition

PLACEHOLDER = re.compile(r"^\{(key|filter|body|page|limit)(?:\.([a-z][a-z0-9_]*))?(?:\.(eq|gt|gte|lt|lte))?\}$")
#: the filter operators a ``{filter.<field>.<op>}`` parameter may take
PARAMETER_OPERATORS = ("eq", "gt", "gte", "lt", "lte")
# several bounds on one parameter: the narrowest is the one the service must apply
_NARROWEST = {"gt": max, "gte": max, "lt": min, "lte": min}


def placeholder(template: Any) -> tuple[str, str | None, str | None] | None:
    """``(kind, field, operator)`` of a placeholder template, else None; a bare
    ``{filter.x}`` has operator ``eq``."""
    match = PLACEHOLDER.match(template) if isinstance(template, str) else None
    if match is None:
        return None
    kind, name, op = match.groups()
    return kind, name, op or ("eq" if kind == "filter" else None)


def value_name(kind: str, name: str | None = None, op: str | None = None) -> str:
    """The name a placeholder's value goes by: ``filter.carrier``, ``filter.shipped_on.gte``."""
    return ".".join(p for p in (kind, name, None if op == "eq" else op) if p)


def set_path(tree: dict, path: str, value: Any) -> None:
    """``tree["A"]["B"] = value`` for ``path`` ``A.B``, creating the dicts on the way."""
    *parents, leaf = path.split(".")
    for part in parents:
        tree = tree.setdefault(part, {})
    tree[leaf] = value


def legacy_tree(values: dict[str, Any]) -> dict[str, Any]:
    """A record (legacy column -> value) as the nested arguments its dotted columns spell; a
    nested column's dicts (an object, an array's elements) are spelled out the same way."""
    tree: dict[str, Any] = {}
    for column, value in values.items():
        if value is not None:
            set_path(tree, column, spelled(value))
    return tree


def spelled(value: Any) -> Any:
    """A legacy value as an argument: a nested column's dicts spelled out by their dotted columns."""
    if isinstance(value, dict):
        return legacy_tree(value)
    if isinstance(value, list):
        return [spelled(v) for v in value]
    return value


def fill(spec: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """The operation's arguments: ``spec["params"]`` with placeholders filled from
    ``values`` (by :func:`value_name`); a placeholder with no value leaves its parameter
    out of the envelope, even one the schema requires (every rpc part is): a list without
    that filter is a fair request, and the service is the judge of what it needs."""
    out: dict[str, Any] = {}
    for path, template in (spec.get("params") or {}).items():
        found = placeholder(template)
        value = template if found is None else values.get(value_name(*found))
        set_path(out, path, SkipValue if value is None else value)
    return out


def filter_bindings(target: dict[str, Any]) -> dict[tuple[str, str], str]:
    """(legacy column, operator) -> the value name of the list parameter that takes it: what
    the list operation filters on itself.  The config check refused two bindings of one pair."""
    fields = target.get("fields", {})
    bindings = {}
    for template in (target.get("list", {}).get("params") or {}).values():
        found = placeholder(template)
        if found and found[0] == "filter" and found[1] in fields:
            bindings[(fields[found[1]], found[2] or "eq")] = value_name(*found)
    return bindings


def filter_values(bindings: dict[tuple[str, str], str], where: list[Condition]) -> dict[str, Any] | None:
    """The list parameters' values for the conditions pushed down (all bound: the driver said
    so), or None when they contradict (two different eq values: nothing matches)."""
    values: dict[str, Any] = {}
    for c in where:
        assert isinstance(c.column, str)  # a bound condition: never inside a nested column
        name = bindings[(c.column, c.op)]
        if name in values and c.op == "eq" and values[name] != c.value:
            return None
        values[name] = _NARROWEST[c.op](values[name], c.value) if name in values and c.op != "eq" else c.value
    return values
