"""A field's declared rules (``pattern``, ``min_length``/``max_length``, ``minimum``/``maximum``,
``enum``): checked here once, then held by the contract on keys, filters and bodies before the
legacy system is called."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from legacy_bridge.config.checker import Checker
from legacy_bridge.contracts.mapping import Rules

__all__ = ["RULE_KEYS", "check_rules"]

RULE_KEYS = ("pattern", "min_length", "max_length", "minimum", "maximum", "enum")
_TEXT = ("string",)
_ORDERED = ("integer", "number", "decimal", "date", "datetime", "time")


def _bound(value: Any, type_name: str) -> Any:
    """A ``minimum``/``maximum`` as a value of the field's canonical type."""
    if type_name == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("expected a whole number")
        return value
    if type_name in ("number", "decimal"):
        if isinstance(value, bool):
            raise ValueError("expected a number")
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise ValueError("expected a number") from None
        return number if type_name == "decimal" else float(number)
    parse = {"date": dt.date.fromisoformat, "datetime": dt.datetime.fromisoformat, "time": dt.time.fromisoformat}
    if isinstance(value, (dt.date, dt.time)):  # YAML reads 2020-01-01 as a date already
        return value
    return parse[type_name](str(value))


def _length(ck: Checker, node: dict, key: str, path: str) -> int | None:
    value = node.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        ck.fail(f"{path}.{key}", f"expected a whole number >= 0, got {value!r}")
        return None
    return value


def check_rules(ck: Checker, node: dict, type_name: str, path: str) -> Rules:
    """The rules ``node`` declares for a field of canonical type ``type_name``."""
    given = [k for k in RULE_KEYS if k in node]
    if not given:
        return Rules()
    if type_name in ("object", "array"):
        ck.fail(f"{path}.{given[0]}", f"rules apply to scalar fields, not to a field of type {type_name}")
        return Rules()
    pattern = node.get("pattern")
    if pattern is not None:
        if type_name not in _TEXT:
            ck.fail(f"{path}.pattern", f"a pattern applies to text fields; this one is {type_name}")
        try:
            re.compile(str(pattern))
        except re.error as exc:
            ck.fail(f"{path}.pattern", f"not a regular expression: {exc}")
    lengths = [_length(ck, node, k, path) for k in ("min_length", "max_length")]
    if any(k in node for k in ("min_length", "max_length")) and type_name not in _TEXT:
        ck.fail(f"{path}.min_length", f"lengths apply to text fields; this one is {type_name}")
    if None not in lengths and lengths[0] > lengths[1]:  # type: ignore[operator]
        ck.fail(f"{path}.max_length", "is smaller than min_length")
    bounds: list[Any] = []
    for key in ("minimum", "maximum"):
        if node.get(key) is None:
            bounds.append(None)
            continue
        if type_name not in _ORDERED:
            ck.fail(f"{path}.{key}", f"a range applies to numbers, dates and times; this one is {type_name}")
            bounds.append(None)
            continue
        try:
            bounds.append(_bound(node[key], type_name))
        except (ValueError, TypeError) as exc:
            ck.fail(f"{path}.{key}", f"{node[key]!r} is not a {type_name} ({exc})")
            bounds.append(None)
    if None not in bounds and bounds[0] > bounds[1]:
        ck.fail(f"{path}.maximum", "is smaller than minimum")
    enum = node.get("enum")
    if enum is not None and (not isinstance(enum, list) or not enum or any(isinstance(v, (dict, list)) for v in enum)):
        ck.fail(f"{path}.enum", "expected a non-empty list of values")
        enum = None
    return Rules(
        pattern=None if pattern is None else str(pattern),
        min_length=lengths[0],
        max_length=lengths[1],
        minimum=bounds[0],
        maximum=bounds[1],
        enum=None if enum is None else tuple(enum),
    )
