"""Key quantiles computed by the database, to cut a read into partitions of equal size.

One statement numbers the rows the read selects in its key order (``ROW_NUMBER()``) and counts
them (a ``COUNT(*)`` subquery), and keeps only the last row of each of ``parts`` runs: the rows
whose number ``rn`` satisfies ``(rn * parts) % count < parts`` (the run boundary falls between
``rn - 1`` and ``rn``).  The database walks its key index once and sends back at most ``parts``
rows, whatever the table's size; the count and the boundaries come from one statement, so one
snapshot (SQLite, PostgreSQL and MariaDB give a statement a consistent view of its rows).

Window functions: SQLite 3.25+, PostgreSQL, MariaDB 10.2+, SQL Server, DB2, Oracle.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from legacy_bridge.drivers.odbc.sql import Dialect, compile_select, order_by
from legacy_bridge.query.legacy import Query, SortValue

__all__ = ["compile_quantiles"]


def compile_quantiles(
    d: Dialect, target: dict[str, Any], query: Query, parts: int, compares: Mapping[str, str]
) -> tuple[str, list[Any]]:
    """SQL (and its parameters) answering, per run of ``query``'s rows cut in ``parts``, the
    sort values of ``query.order``'s columns in its last row, then the count of all rows."""
    keys = [SortValue(k.column) for k in query.order]
    whole = replace(query, columns=keys, order=[], after=None, limit=None)
    inner, params = compile_select(d, target, whole, compares)
    window = f"ROW_NUMBER() OVER (ORDER BY {order_by(d, query.order, compares)}) AS {d.ident('lb_rn')}, "
    # the count as a subquery of the same statement (the same snapshot), not COUNT(*) OVER (): a
    # window over every row makes the database hold them all at once (SQLite: in the worker, 560
    # MiB for 1M rows), where ROW_NUMBER in index order streams
    window += f"(SELECT COUNT(*) FROM ({inner}) lb_c) AS {d.ident('lb_count')}, "
    counted = list(params)  # the subquery's parameters come first in the text
    inner = "SELECT " + window + inner.removeprefix("SELECT ")  # limit None: no TOP after SELECT
    params = counted + params
    rn, count, n = d.ident("lb_rn"), d.ident("lb_count"), int(parts)
    values = ", ".join(d.ident(f"lb_sort_{i}") for i in range(len(keys)))
    sql = f"SELECT {values}, {count} FROM ({inner}) lb_q WHERE ({rn} * {n}) % {count} < {n} ORDER BY {rn}"
    return sql, params
