"""Key quantiles computed by the database, to cut a read into partitions of equal size.

One statement numbers the rows the read selects in its key order (``ROW_NUMBER()``) and counts
them (``COUNT(*) OVER ()``), and keeps only the last row of each of ``parts`` runs: the rows
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
    inner, params = compile_select(d, target, replace(query, columns=keys, order=[], after=None, limit=None), compares)
    window = f"ROW_NUMBER() OVER (ORDER BY {order_by(d, query.order, compares)}) AS {d.ident('lb_rn')}, "
    window += f"COUNT(*) OVER () AS {d.ident('lb_count')}, "
    inner = "SELECT " + window + inner.removeprefix("SELECT ")  # limit None: no TOP after SELECT
    rn, count, n = d.ident("lb_rn"), d.ident("lb_count"), int(parts)
    values = ", ".join(d.ident(f"lb_sort_{i}") for i in range(len(keys)))
    sql = f"SELECT {values}, {count} FROM ({inner}) lb_q WHERE ({rn} * {n}) % {count} < {n} ORDER BY {rn}"
    return sql, params
