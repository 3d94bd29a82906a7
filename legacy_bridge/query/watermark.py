"""Watermarks: the field(s) of a resource that grow on every write, for incremental pulls.

``watermark: updated_at`` (a timestamp or a sequence / rowversion number) or
``watermark: [changed_on, changed_at]`` (a legacy YYYYMMDD + HHMMSS pair, compared as
one value).  ``updated_since=<value>`` then selects the rows whose watermark is
strictly greater, ordered by the watermark and then the key.
"""

from __future__ import annotations

from typing import Any

from legacy_bridge.contracts.mapping import FieldMap
from legacy_bridge.drivers import driver_class


def check_watermark(node: Any, fields: dict[str, FieldMap], source: Any) -> tuple[tuple[str, ...], list[str]]:
    """The watermark's field names and the problems with ``node`` (a resource's ``watermark:``)."""
    if node is None:
        return (), []
    names = [node] if isinstance(node, str) else node
    if not isinstance(names, list) or not 1 <= len(names) <= 2 or not all(isinstance(n, str) for n in names):
        return (), ["expected a field name, or a [date field, time field] pair"]
    missing = [n for n in names if n not in fields]
    if missing:
        return (), [f"no field {missing[0]!r}; fields: {', '.join(fields)}"]
    problems = [f"field {n!r} is of type {fields[n].kind}: a watermark is scalar" for n in names if fields[n].nested]
    if len(names) == 2 and (fields[names[0]].type, fields[names[1]].type) != ("date", "time"):
        problems.append("a pair is a date field then a time field (converters yyyymmdd and hhmmss)")
    try:
        sortable = isinstance(source, dict) and driver_class(source.get("kind")).supports_sort
    except KeyError:
        sortable = False
    if not sortable:
        problems.append("needs a source that can sort (ODBC): pulls are ordered by the watermark")
    return tuple(names), problems
