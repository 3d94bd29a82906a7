"""The driver-neutral query: what a facade asks of a driver, in legacy terms.

Columns are legacy column names, values are legacy values (already converted back
from canonical ones).  No SQL here: each driver compiles a Query its own way.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from typing import Any

OPERATORS = ("eq", "ne", "lt", "lte", "gt", "gte", "in", "startswith", "contains", "isnull")


#: the rows a driver yields for a query; ``close()`` ends the read early (and frees the connection)
Rows = Generator[tuple, None, None]


@dataclass(frozen=True)
class Inner:
    """The legacy column of an inner field inside a nested column: ``column`` holds a dict
    (object) or a list of dicts (array), each with ``inner`` among its keys; ``inner`` None:
    the elements of an array of scalars themselves.  A condition on it holds when the
    object's value, or any element's, matches."""

    column: str
    inner: str | None = None


@dataclass(frozen=True)
class Condition:
    """``column <op> value``; ``nulls`` are the legacy sentinels that mean null."""

    column: str | Inner
    op: str
    value: Any
    nulls: tuple = ()


@dataclass(frozen=True)
class Related:
    """A where term: some row of another table of the source (``target``, its items), joined
    to this row by ``on`` (column here, column there) pairs, meets ``condition`` (a column
    of that table).  The filter of an embedded array (``lines.sku=AB12``: a row with a line
    whose sku is AB12), in :attr:`Query.related`."""

    target: tuple[tuple[str, str], ...]
    on: tuple[tuple[str, str], ...]
    condition: Condition


@dataclass(frozen=True)
class SortKey:
    column: str
    descending: bool = False
    nullable: bool = True


@dataclass(frozen=True)
class SortValue:
    """A select item: the value a driver compares sort column ``column`` by, for a keyset
    cursor to keep (the column's own value, or another form of it where the database orders
    the column otherwise than the value it reads compares: see drivers/odbc/order.py)."""

    column: str


@dataclass(frozen=True)
class ColumnValue:
    """A keyset value that is the column's own value (``updated_since``), not a sort value
    read from a row: the driver takes it through the column's sort expression."""

    value: Any


#: how a driver compares a sort column so that its keyset condition orders as its ORDER BY
#: (drivers/odbc/order.py): the column as read ("value"), its number ("number": MariaDB
#: ENUM/SET/BIT), its instant ("epoch": a MariaDB TIMESTAMP under a time zone with DST), the
#: column while the cursor keeps its text as the database prints it ("text"), or the number its
#: text reads back as ("rounded": SQLite REAL, which the SQLite ODBC driver reads as 15 digits)
COMPARES = ("value", "number", "epoch", "text", "rounded")


@dataclass(frozen=True)
class ColumnType:
    """What a driver knows of one legacy column, for the pager and the query parser.

    ``compare`` (one of COMPARES) is how the keyset condition compares the column so that it
    orders exactly as the ORDER BY it pages; ``unsortable`` says why no order can be paged
    (the column cannot be sorted on); ``low``/``high`` bound the integers it holds;
    ``length`` the characters of a text column, ``digits``/``scale`` a decimal's (writes).
    """

    name: str
    compare: str = "value"
    unsortable: str | None = None
    low: int | None = None
    high: int | None = None
    length: int | None = None
    digits: int | None = None
    scale: int | None = None


def find_column(types: dict[str, ColumnType], column: str) -> ColumnType | None:
    """``column``'s type in what a driver described, by its name as the config writes it: the
    exact name, else the same name in another case (MariaDB and SQLite names ignore case)."""
    found = types.get(column)
    if found is None:
        found = next((t for name, t in types.items() if name.upper() == column.upper()), None)
    return found


@dataclass(frozen=True)
class NewKey:
    """How a new row gets its key column: ``client`` (in the row), ``identity``, ``sequence``
    or ``procedure`` (the one ``name`` names, which hands out numbers) or ``max_plus_one``."""

    column: str
    strategy: str = "client"
    name: str | None = None


@dataclass(frozen=True)
class Bound:
    """The rows whose values of ``order``'s columns lie after ``low`` (exclusive) and not
    after ``high`` (inclusive), compared as ``order`` sorts them; None: no bound on that side.

    A key partition of a read is one (its key range), and so is the moment it was planned at
    (the high watermark then).  Values are what a keyset cursor keeps of each column (see
    :class:`SortValue`), so a bound compares exactly as the pages order.  ``order``'s columns
    hold no NULL (keys); a row whose watermark is NULL is inside every watermark bound.
    """

    order: tuple[SortKey, ...]
    low: tuple | None = None
    high: tuple | None = None


@dataclass(frozen=True)
class Extent:
    """A partition of a file read: the records of file version ``file`` (its token) that start
    at or after byte ``start`` and before ``end`` (None: the end of the file); ``record`` is the
    number of the record before ``start`` and ``block`` the offset of the block ``start`` opens
    (VB), so a read starts there as a cursor resumes."""

    file: str
    start: int
    end: int | None
    record: int
    block: int | None = None


@dataclass(frozen=True)
class Quantiles:
    """A read cut into runs of (nearly) equal size by the source: ``records`` it selects, and
    the sort values (what a cursor keeps) of the last row of each run, in order."""

    records: int
    boundaries: list[tuple]


@dataclass
class Query:
    """One page (or one stream) of a resource.

    ``order`` always ends with the key columns, so it is a total order;
    ``after`` holds the values of ``order``'s columns in the last row already seen
    (keyset pagination); ``limit`` of None means "all rows" (exports); ``related``: terms on
    other tables the rows must also meet (only for drivers that declare ``joins_tables``).
    """

    columns: Sequence[str | SortValue]
    where: list[Condition] = field(default_factory=list)
    order: list[SortKey] = field(default_factory=list)
    after: tuple | None = None
    limit: int | None = None
    related: list[Related] = field(default_factory=list)
    #: a partition's conditions (key range, moment), on top of ``where``: SQL sources
    bounds: tuple[Bound, ...] = ()
    #: a partition of a file source (its byte range)
    extent: Extent | None = None
