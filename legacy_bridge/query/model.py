"""The canonical request of a list: what a client asked, in the contract's terms only.

Field names are the contract's, values are canonical (a date is a ``datetime.date``, a
code-table value its canonical name): no column, no legacy value.  The planner
(:mod:`legacy_bridge.query.planner`) translates a :class:`ListQuery` to legacy terms, once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Filter:
    """``field <op> value`` on a contract field.

    ``value`` is canonical: one value, a tuple of them (``in``), a bool (``isnull``) or the
    text to look for (``startswith``, ``contains``).  ``parameter`` and ``text`` are the
    query parameter and its text as given, so a later refusal still names them.
    """

    field: str
    op: str
    value: Any
    parameter: str
    text: str = ""


@dataclass(frozen=True)
class Watermark:
    """``updated_since``: the canonical value of each watermark field (a date + time pair
    for a YYYYMMDD+HHMMSS watermark), or ``values`` None for "from the first row"; ``text``
    as the client gave it, to hand back when a pull finds nothing newer.

    ``source``: the watermark exactly as the source returned it (legacy values), for a pull
    that resumes from its own last row (the change scanner): a round trip through canonical
    values could change its form (SQLite keeps timestamps as text, with their fraction).
    """

    values: tuple | None
    text: str
    source: tuple | None = None


@dataclass
class ListQuery:
    """One list request (a page or, without ``limit`` and ``cursor``, an export).

    ``sort`` holds (field, descending) pairs; ``since`` is given for incremental pulls,
    which are ordered by the watermark and then the key.
    """

    fields: list[str]
    filters: list[Filter] = field(default_factory=list)
    sort: list[tuple[str, bool]] = field(default_factory=list)
    limit: int = 100
    cursor: str | None = None
    since: Watermark | None = None
    partition: str | None = None  # a token of GET /<resource>/partitions: read that partition only

    @property
    def incremental(self) -> bool:
        return self.since is not None
