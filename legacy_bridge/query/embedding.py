"""Embedded children (a resource's ``embed:``): one extra query per page of parents.

A page of parent rows (or a batch of an export) is read first; then ONE query on the child
table selects the children of all of them (``WHERE <child column> IN (<the page's values>)``,
one IN per column of a composite join, the exact pairs kept here), in the embed's order.
The children are grouped by their join values, and each parent row gets its list (``[]``
for none) appended at its end, where the reader expects the embedded field's column: a list
of ``{child legacy column: legacy value}`` dicts, as a driver delivers any array of objects.

Never one query per parent row; a driver only runs a legacy :class:`Query` on the child
table, knowing nothing of the grouping.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass, replace
from typing import Any

from legacy_bridge.config.model import Embed
from legacy_bridge.query.legacy import Condition, Query, Related, Rows, SortKey, SortValue

__all__ = ["EmbedPlan", "parent_columns", "plan_embed", "attach", "related", "MAX_PARENTS"]

#: the parents whose children one query reads (an IN list of at most this many values per
#: join column): a page up to this size costs one extra query, an export reads this many at once
MAX_PARENTS = 1000

Fetch = Callable[[dict[str, Any], Query], Rows]


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
    element: tuple[tuple[str, int], ...]  # (child legacy column, its position in a child row)

    def children(self, rows: Sequence[tuple], fetch: Fetch) -> list[list[dict[str, Any]]]:
        """The children of each of ``rows``, in the embed's order (one query per
        :data:`MAX_PARENTS` rows)."""
        keys = [tuple(_join_value(row[p]) for p in self.parent_positions) for row in rows]
        wanted = list(dict.fromkeys(k for k in keys if None not in k))
        groups: dict[tuple, list[dict[str, Any]]] = {}
        for start in range(0, len(wanted), MAX_PARENTS):
            self._read(wanted[start : start + MAX_PARENTS], fetch, groups)
        return [groups.get(key, []) for key in keys]

    def _read(self, keys: list[tuple], fetch: Fetch, groups: dict[tuple, list[dict[str, Any]]]) -> None:
        # one IN per join column; with a composite join that selects a superset (every
        # combination), so only the exact pairs of the batch are kept
        where = [
            Condition(column, "in", tuple(dict.fromkeys(k[i] for k in keys))) for i, column in enumerate(self.join)
        ]
        wanted = set(keys)
        element, positions = self.element, self.child_positions
        with closing(fetch(self.target, replace(self.query, where=where))) as rows:
            for row in rows:
                key = tuple(_join_value(row[p]) for p in positions)
                if key in wanted:
                    groups.setdefault(key, []).append({column: row[p] for column, p in element})


def plan_embed(embed: Embed, parent_columns: Sequence[str | SortValue]) -> EmbedPlan:
    """The read of ``embed``'s children, for parent rows whose values are in ``parent_columns``
    order (they must hold the join's parent columns)."""
    join = tuple(child for _, child in embed.on)
    inner = [f.row_column for f in embed.fields.values()]
    columns = list(dict.fromkeys([*join, *inner]))
    ordered = [embed.fields[name] for name, _ in embed.order]
    # then every other inner column: children equal on all of them are equal as records
    order = [SortKey(f.row_column, desc, f.nullable) for f, (_, desc) in zip(ordered, embed.order)]
    named = {k.column for k in order}
    order += [SortKey(c, False, True) for c in dict.fromkeys(inner) if c not in named]
    return EmbedPlan(
        name=embed.name,
        target=dict(embed.target),
        query=Query(columns=columns, order=order),
        join=join,
        parent_positions=tuple(parent_columns.index(parent) for parent, _ in embed.on),
        child_positions=tuple(columns.index(c) for c in join),
        element=tuple((c, columns.index(c)) for c in dict.fromkeys(inner)),
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
