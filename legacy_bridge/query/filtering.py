"""Conditions evaluated in Python, for the filters a driver cannot push down.

They compare legacy values, as the source would: the facade has already converted
each filter value to its legacy form, and legacy "no value" sentinels never match.  A
condition on an inner column of a nested one holds when any element matches.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

from legacy_bridge.query.legacy import Condition

_COMPARE = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "lte": operator.le,
    "gt": operator.gt,
    "gte": operator.ge,
}


def _test(c: Condition) -> Callable[[Any], bool]:
    nulls = frozenset(c.nulls)

    def is_null(v: Any) -> bool:
        return v is None or v in nulls

    if c.op == "isnull":
        return (lambda v: is_null(v)) if c.value else (lambda v: not is_null(v))
    if c.op == "in":
        wanted = frozenset(c.value)
        return lambda v: not is_null(v) and v in wanted
    if c.op == "startswith":
        return lambda v: not is_null(v) and str(v).startswith(c.value)
    if c.op == "contains":
        return lambda v: not is_null(v) and c.value in str(v)
    compare = _COMPARE[c.op]

    def test(v: Any) -> bool:
        try:
            return not is_null(v) and compare(v, c.value)
        except TypeError:  # a value of another type never matches, as in SQL
            return False

    return test


def _inner_test(c: Condition, inner: str | None) -> Callable[[Any], bool]:
    """A test of a nested column's value: the object's inner value, or any element's (an
    array of scalars: any element itself)."""
    test = _test(c)

    def any_element(value: Any) -> bool:
        if value is None:
            return False
        if isinstance(value, dict):
            return test(value.get(inner))
        if inner is None:
            return any(test(e) for e in value)
        return any(test(e.get(inner)) for e in value if e is not None)

    return any_element


def predicate(conditions: list[Condition], columns: Sequence[object]) -> Callable[[tuple], bool]:
    """A row test for ``conditions`` over rows whose values are in ``columns`` order."""
    tests = [
        (columns.index(c.column), _test(c))
        if isinstance(c.column, str)
        else (columns.index(c.column.column), _inner_test(c, c.column.inner))
        for c in conditions
    ]
    return lambda row: all(test(row[i]) for i, test in tests)
