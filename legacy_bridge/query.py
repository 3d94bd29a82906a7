"""The driver-neutral query: what a facade asks of a driver, in legacy terms.

Columns are legacy column names, values are legacy values (already converted back
from canonical ones).  No SQL here: each driver compiles a Query its own way.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

OPERATORS = ("eq", "ne", "lt", "lte", "gt", "gte", "in", "startswith", "contains", "isnull")


@dataclass(frozen=True)
class Condition:
    """``column <op> value``; ``nulls`` are the legacy sentinels that mean null."""

    column: str
    op: str
    value: Any
    nulls: tuple = ()


@dataclass(frozen=True)
class SortKey:
    column: str
    descending: bool = False
    nullable: bool = True


@dataclass
class Query:
    """One page (or one stream) of a resource.

    ``order`` always ends with the key columns, so it is a total order;
    ``after`` holds the values of ``order``'s columns in the last row already seen
    (keyset pagination); ``limit`` of None means "all rows" (exports).
    """

    columns: list[str]
    where: list[Condition] = field(default_factory=list)
    order: list[SortKey] = field(default_factory=list)
    after: tuple | None = None
    limit: int | None = None
