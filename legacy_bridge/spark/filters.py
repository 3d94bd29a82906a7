"""Filters Spark pushes, handed to the API in its query grammar (``field[op]=value``).

A filter is sent when the resource's list takes that parameter (the OpenAPI document lists each
``field[op]`` it takes) and its value has a text the API reads back the same.  Comparisons of
text other than equality are not sent: a legacy database may order and compare text by its own
collation (MariaDB's ignore case), where Spark compares code points: equality, ``in`` and the
text matches then select more rows than Spark would, never fewer; ``ne`` and ranges could select
fewer.  Every filter is also
returned to Spark, which checks it again on the rows the API sends: a sent filter only narrows
the read, so the result is Spark's own semantics whatever the source's collation.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from pyspark.sql.datasource import (
    EqualTo,
    Filter,
    GreaterThan,
    GreaterThanOrEqual,
    In,
    IsNotNull,
    IsNull,
    LessThan,
    LessThanOrEqual,
    Not,
    StringContains,
    StringStartsWith,
)

__all__ = ["to_parameter"]

_COMPARE = {GreaterThan: "gt", GreaterThanOrEqual: "gte", LessThan: "lt", LessThanOrEqual: "lte"}


def _text(value: Any) -> str | None:
    """A filter value as the API reads it, or None when it has no such text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, float):
        return repr(value) if value == value and value not in (float("inf"), float("-inf")) else None
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, str):
        return value
    return None


def _field(attribute: tuple[str, ...]) -> str:
    return ".".join(attribute)


def to_parameter(f: Filter, accepted: set[str]) -> tuple[str, str] | None:
    """The query parameter (name, value) that sends ``f``, or None when it cannot be sent."""
    name, op, value = None, "eq", None
    if isinstance(f, EqualTo):
        name, value = _field(f.attribute), _text(f.value)
    elif isinstance(f, Not) and isinstance(f.child, EqualTo) and not isinstance(f.child.value, str):
        name, op, value = _field(f.child.attribute), "ne", _text(f.child.value)
    elif type(f) in _COMPARE and not isinstance(getattr(f, "value", None), str):
        name, op, value = _field(f.attribute), _COMPARE[type(f)], _text(f.value)  # type: ignore[attr-defined]
    elif isinstance(f, In):
        texts = [_text(v) for v in f.value]
        if any(t is None or "," in t for t in texts) or not texts:
            return None
        name, op, value = _field(f.attribute), "in", ",".join(t for t in texts if t is not None)
    elif isinstance(f, (IsNull, IsNotNull)):
        name, op, value = _field(f.attribute), "isnull", "true" if isinstance(f, IsNull) else "false"
    elif isinstance(f, (StringStartsWith, StringContains)) and f.value:
        name, value = _field(f.attribute), f.value
        op = "startswith" if isinstance(f, StringStartsWith) else "contains"
    if name is None or value is None:
        return None
    parameter = name if op == "eq" else f"{name}[{op}]"
    return (parameter, value) if parameter in accepted else None
