"""88-level condition names: each one a boolean column beside the field it tests.

``05 STATUS PIC X. 88 STATUS-ACTIVE VALUE 'A'. 88 STATUS-CLOSED VALUES 'C' 'X'.``
gives the columns ``STATUS_ACTIVE`` and ``STATUS_CLOSED``: True when the field holds
one of the values (or lies in a ``THRU`` range), False otherwise, None when the field
itself is None (blank numeric, an absent OCCURS DEPENDING ON element).  Text is
compared without trailing blanks, as the decoder trims it; numbers numerically
(``VALUE 1`` matches ``Decimal('1.00')``).  ``THRU`` ranges on text compare code
points in Unicode order, not the EBCDIC collating sequence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from legacy_bridge.drivers.flatfile.copybook.parse import Field, Layout

__all__ = ["Condition", "conditions", "with_conditions", "code_table"]


@dataclass(frozen=True)
class Condition:
    """One 88 level of one field occurrence."""

    name: str  # column name: STATUS-ACTIVE -> STATUS_ACTIVE (+ OCCURS index)
    cobol_name: str
    field: str  # the column it tests
    values: tuple[Any, ...]  # single values, normalised to the field's type
    ranges: tuple[tuple[Any, Any], ...]

    def test(self) -> Callable[[Any], bool | None]:
        """value -> True / False (None stays None)."""
        values, ranges = frozenset(self.values), self.ranges
        if not ranges:
            return lambda v: None if v is None else v in values
        return lambda v: None if v is None else (v in values or any(lo <= v <= hi for lo, hi in ranges))


def _normal(literal: Any, f: Field) -> Any:
    """A VALUE literal as the decoder returns the field's values; None if it can never match."""
    if f.type == "text":
        return str(literal).rstrip()
    if isinstance(literal, str):  # SPACE on a numeric field, or a quoted number
        try:
            literal = Decimal(literal.strip())
        except InvalidOperation:
            return None
    return literal


def conditions(layout: Layout) -> list[Condition]:
    """Every condition name of the layout as a column, names unique among the layout's columns."""
    used = set(layout.columns)
    found = []
    for f in layout.fields:
        suffix = "".join(f"_{i + 1}" for _, i in f.path if i is not None)
        for cobol_name, literals in f.conditions:
            values, ranges = [], []
            for lit in literals:
                if isinstance(lit, tuple):
                    low, high = _normal(lit[0], f), _normal(lit[1], f)
                    if low is not None and high is not None:
                        ranges.append((low, high))
                elif (v := _normal(lit, f)) is not None:
                    values.append(v)
            name = cobol_name.replace("-", "_") + suffix
            if name in used:  # a condition named like a field: qualify it
                name = f"{f.name}_{name}"
            while name in used:
                name += "_"
            used.add(name)
            found.append(Condition(name, cobol_name, f.name, tuple(values), tuple(ranges)))
    return found


def with_conditions(
    decode: Callable[[bytes], tuple], layout: Layout, conds: list[Condition]
) -> Callable[[bytes], tuple]:
    """``decode`` with the condition columns appended to each row (``decode`` itself if none)."""
    if not conds:
        return decode
    index = {name: i for i, name in enumerate(layout.columns)}
    tests = [(index[c.field], c.test()) for c in conds]

    def decode_with_conditions(record: bytes) -> tuple:
        row = decode(record)
        return row + tuple(test(row[i]) for i, test in tests)

    return decode_with_conditions


def code_table(conds: list[Condition]) -> dict[Any, str] | None:
    """value -> condition name when each condition of one field names one value (an enum), else None."""
    table: dict[Any, str] = {}
    for c in conds:
        if c.ranges or len(c.values) != 1 or c.values[0] in table:
            return None
        value = c.values[0]
        if isinstance(value, Decimal):
            if value != value.to_integral_value():
                return None
            value = int(value)
        table[value] = c.cobol_name
    return table or None
