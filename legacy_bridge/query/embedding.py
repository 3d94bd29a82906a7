"""Embedded children (a resource's ``embed:``): one extra query per page of parents.

A page of parent rows (or a batch of an export) is read first; then ONE query on the child
table selects the children of all of them (``WHERE <child column> IN (<the page's values>)``,
one IN per column of a composite join; integer keys that fill at least half of their range,
as a page in key order does, by the range ``>= <first> AND <= <last>`` instead, whose two
parameters keep one plan in the database), in the embed's order (integer join values: in join
order first, so each parent's children come as one run); what belongs to no parent of the batch
is left out here.  The children are grouped by their join values and each parent row gets its
list (``[]`` for none) appended at its end, at the embedded field's (pseudo) column.  The
elements are made canonical in the same pass, by the inner fields' generated row reader (kept
per embed): one pass over the child rows.

Never one query per parent row; a driver only runs a legacy :class:`Query` on the child
table, knowing nothing of the grouping.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from itertools import groupby
from operator import itemgetter
from typing import Any

from legacy_bridge.config.model import Embed
from legacy_bridge.query.legacy import Condition, Query, Related, SortKey, SortValue

__all__ = ["EmbedPlan", "parent_columns", "plan_embed", "attach", "related", "MAX_PARENTS"]

#: the parents whose children one query reads (an IN list of at most this many values per
#: join column): a page up to this size costs one extra query, an export reads this many at once
MAX_PARENTS = 1000

#: reads every row of a small legacy query at once (Driver.fetch_all)
Fetch = Callable[[dict[str, Any], Query], list[tuple]]


def _join_value(value: Any) -> Any:
    # CHAR columns compare without their trailing blanks in SQL: the children of parent 'A1  '
    # are those of 'A1'
    return value.rstrip(" ") if isinstance(value, str) else value


@dataclass(frozen=True)
class EmbedPlan:
    """How to read and group the children of a batch of parent rows for one embedded field."""

    name: str
    target: dict[str, str]
    query: Query  # the children's columns and order; the batch's IN lists are added per read
    join: tuple[str, ...]  # the child columns of the join, in ``on`` order
    parent_positions: tuple[int, ...]  # where the join's parent columns sit in a parent row
    child_positions: tuple[int, ...]  # where the join's child columns sit in a child row
    #: a child row as one element: the inner fields' generated row reader (contracts/mapping.py)
    element: Callable[[tuple], dict[str, Any]]

    def children(self, rows: Sequence[tuple], fetch: Fetch) -> list[list[dict[str, Any]]]:
        """The children of each of ``rows``, in the embed's order (one query per
        :data:`MAX_PARENTS` rows)."""
        key = _key_reader(self.parent_positions)
        keys = [key(row) for row in rows]
        wanted = list(dict.fromkeys(k for k in keys if _complete(k)))
        groups: dict[Any, list[dict[str, Any]]] = {}
        for start in range(0, len(wanted), MAX_PARENTS):
            self._read(wanted[start : start + MAX_PARENTS], fetch, groups)
        return [groups.get(k, []) for k in keys]

    def _read(self, keys: list[Any], fetch: Fetch, groups: dict[Any, list[dict[str, Any]]]) -> None:
        if len(self.join) == 1 and _dense(keys):  # a key range: 2 parameters, a plan the database keeps
            where = [Condition(self.join[0], "gte", min(keys)), Condition(self.join[0], "lte", max(keys))]
        elif len(self.join) == 1:
            where = [Condition(self.join[0], "in", tuple(keys))]
        else:  # one IN per column selects every combination: only the batch's own keys are kept
            where = [Condition(c, "in", tuple(dict.fromkeys(k[i] for k in keys))) for i, c in enumerate(self.join)]
        wanted = set(keys)
        element, group = self.element, groups.setdefault
        if len(self.join) == 1 and all(type(k) is int for k in keys):
            # integer join values (the usual foreign key) compare as read: the children come in
            # join order, then the embed's, so each parent's are one run of rows, told apart in
            # C (groupby) and made elements by one comprehension per parent, not calls per row
            order = [SortKey(self.join[0], False, False), *self.query.order]  # WHERE drops NULLs
            query = replace(self.query, where=where, order=order)
            for k, run in groupby(fetch(self.target, query), itemgetter(self.child_positions[0])):
                if k in wanted:
                    group(k, []).extend([element(row) for row in run])
            return
        # text keeps the embed's order alone: 'A1' and 'A1  ' are one parent's, in any order
        key = _key_reader(self.child_positions)
        for row in fetch(self.target, replace(self.query, where=where)):
            k = key(row)
            if k in wanted:
                group(k, []).append(element(row))


def _key_reader(positions: tuple[int, ...]) -> Callable[[tuple], Any]:
    """The join key of a row: its one join value, or a tuple of them (a composite join)."""
    if len(positions) == 1:  # the common join, once per child row: _join_value written in place
        (p,) = positions
        return lambda row: v.rstrip(" ") if type(v := row[p]) is str else v
    return lambda row: tuple([_join_value(row[p]) for p in positions])


def _dense(keys: list[Any]) -> bool:
    """Integer keys that fill at least half of their range (a page in key order): the range
    selects at most as many other parents' children as the page's own, kept out here."""
    if not all(type(k) is int for k in keys):
        return False
    return max(keys) - min(keys) < 2 * len(keys)


def _complete(key: Any) -> bool:
    """A key that can match (SQL's = never matches NULL)."""
    return key is not None and not (isinstance(key, tuple) and None in key)


def plan_embed(embed: Embed, parent_columns: Sequence[str | SortValue]) -> EmbedPlan:
    """The read of ``embed``'s children, for parent rows whose values are in ``parent_columns``
    order (they must hold the join's parent columns)."""
    join = tuple(child for _, child in embed.on)
    inner = [f.row_column for f in embed.fields.values()]
    columns = list(dict.fromkeys([*join, *inner]))
    # the embed's order alone (by default every inner field): the database need not sort more
    order = [SortKey(embed.fields[n].row_column, desc, embed.fields[n].nullable) for n, desc in embed.order]
    return EmbedPlan(
        name=embed.name,
        target=dict(embed.target),
        query=Query(columns=columns, order=order),
        join=join,
        parent_positions=tuple(parent_columns.index(parent) for parent, _ in embed.on),
        child_positions=tuple(columns.index(c) for c in join),
        element=embed.mapping.row_reader(list(embed.fields), columns),
    )


def attach(plans: Sequence[EmbedPlan], rows: list[tuple], fetch: Fetch) -> list[tuple]:
    """``rows`` with each plan's children appended, in ``plans`` order (one query per plan)."""
    if not plans or not rows:
        return rows
    lists = [plan.children(rows, fetch) for plan in plans]
    return [(*row, *(children[i] for children in lists)) for i, row in enumerate(rows)]


def related(embed: Embed, condition: Condition) -> Related:
    """A filter on an inner field of ``embed`` (``condition`` on its child column) as a where
    term of the parent: a child joined to the row meets it."""
    return Related(tuple(sorted(embed.target.items())), embed.on, condition)


def parent_columns(embeds: Iterable[Embed]) -> list[str]:
    """The parent columns the joins of ``embeds`` read in every parent row."""
    return [parent for embed in embeds for parent, _ in embed.on]
