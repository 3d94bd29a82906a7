"""Compile a :class:`~legacy_bridge.query.Query` into portable SQL text + parameters.

Only configured identifiers reach the text, each quoted with the backend's own quote
character; every value is a ``?`` parameter.  Pagination is keyset only: the ``after``
values become ``WHERE`` terms (composite and mixed-direction orders expanded into
ANDs and ORs every backend understands), never an OFFSET.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from legacy_bridge.query.legacy import Bound, ColumnValue, Condition, Query, Related, SortKey, SortValue

_COMPARE = {"eq": "=", "ne": "<>", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}
LIKE_ESCAPE = "!"  # not a backslash: MySQL/MariaDB read '\' as an escape in literals


@dataclass(frozen=True)
class Dialect:
    """What differs between ODBC backends for the SQL we write."""

    quote: str = '"'
    limit: str = "limit"  # limit | top | fetch | none
    text: str = "TEXT"  # the type a value is cast to for its text (CHAR on MariaDB)

    def ident(self, name: str) -> str:
        """Quote a (possibly schema-qualified) identifier taken from the config."""
        q = self.quote.strip()
        if not q:
            return name
        return ".".join(q + part.replace(q, q + q) + q for part in name.split("."))

    def sort_expression(self, column: str, compare: str, operand: str | None = None) -> str:
        """What ORDER BY and the keyset condition compare for ``column`` (``compare``: one of
        legacy_bridge.query.COMPARES), applied to ``operand`` (the column by default)."""
        return _MODES[compare][0].format(c=operand or self.ident(column), text=self.text)

    def select_item(self, item: str | SortValue, position: int, compare: str = "value") -> str:
        """A column, or the value a cursor keeps of a sort column, named so that ORDER BY
        (which PostgreSQL and MariaDB resolve to output names first) still means the column."""
        if isinstance(item, str):
            return self.ident(item)
        value = _MODES[compare][1].format(c=self.ident(item.column), text=self.text)
        return f"{value} AS {self.ident(f'lb_sort_{position}')}"


# per compare: (what ORDER BY and the keyset condition compare, what a cursor keeps of it,
# how a kept value is bound)
_MODES = {
    "value": ("{c}", "{c}", "?"),
    "number": ("({c}+0)", "({c}+0)", "?"),
    "epoch": ("UNIX_TIMESTAMP({c})", "UNIX_TIMESTAMP({c})", "?"),
    "text": ("{c}", "CAST({c} AS {text})", "?"),
    "rounded": ("CAST(CAST({c} AS TEXT) AS REAL)", "CAST({c} AS TEXT)", "CAST(? AS REAL)"),
}


def dialect_for(dbms_name: str, quote_char: str, limit: str | None = None) -> Dialect:
    """Pick the row-limit syntax from the DBMS name the driver reports."""
    if limit in (None, "auto"):
        name = dbms_name.lower()
        if "sql server" in name or "sybase" in name or "access" in name:
            limit = "top"
        elif any(n in name for n in ("db2", "oracle", "informix", "derby")):
            limit = "fetch"
        else:
            limit = "limit"
    if "sqlite" in dbms_name.lower():
        # SQLite reads a double-quoted name that matches no column as a string literal,
        # so a misspelt column would serve its own name; a backquoted one is an error.
        quote_char = "`"
    text = "CHAR" if any(n in dbms_name.lower() for n in ("mariadb", "mysql")) else "TEXT"
    return Dialect(quote=quote_char or '"', limit=limit, text=text)


def escape_like(text: str) -> str:
    return text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_")


def _condition(d: Dialect, c: Condition, params: list[Any]) -> str:
    assert isinstance(c.column, str), "the driver pushes no condition on an inner column"
    col = d.ident(c.column)
    if c.op == "isnull":
        if c.nulls:
            params.extend(c.nulls)
            marks = ", ".join("?" * len(c.nulls))
            test = f"({col} IS NULL OR {col} IN ({marks}))"
            return test if c.value else f"NOT {test}"
        return f"{col} IS NULL" if c.value else f"{col} IS NOT NULL"
    if c.op in _COMPARE:
        params.append(c.value)
        sql = f"{col} {_COMPARE[c.op]} ?"
    elif c.op == "in":
        params.extend(c.value)
        sql = f"{col} IN ({', '.join('?' * len(c.value))})"
    elif c.op in ("startswith", "contains"):
        pattern = escape_like(str(c.value)) + "%"
        params.append(pattern if c.op == "startswith" else "%" + pattern)
        sql = f"{col} LIKE ? ESCAPE '{LIKE_ESCAPE}'"
    else:
        raise ValueError(f"unknown operator {c.op!r}")
    if c.nulls:  # a legacy "no value" sentinel never matches a comparison
        params.extend(c.nulls)
        sql += f" AND {col} NOT IN ({', '.join('?' * len(c.nulls))})"
    return sql


def _related(d: Dialect, r: Related, here: str, params: list[Any]) -> str:
    """``EXISTS`` a row of the related table, joined to this one (``here``: how the outer
    query names its source), that meets the term's condition."""
    there = "lb_rel"
    join = " AND ".join(f"{d.ident(f'{there}.{c}')} = {here}.{d.ident(p)}" for p, c in r.on)
    test = _condition(d, replace(r.condition, column=f"{there}.{r.condition.column}"), params)
    # the alias quoted as its uses are (a backend that folds unquoted names would miss it)
    return f"EXISTS (SELECT 1 FROM {source_sql(d, dict(r.target))} {d.ident(there)} WHERE {join} AND {test})"


def _bound(d: Dialect, key: SortKey, compare: str, value: Any) -> tuple[str, Any]:
    """The placeholder and parameter of one keyset value: a cursor's sort value as it is, a
    column's own value (``updated_since``) taken through the key's sort expression."""
    if isinstance(value, ColumnValue):
        return d.sort_expression(key.column, compare, "?"), value.value
    return _MODES[compare][2], value


def _keyset(d: Dialect, order: list[SortKey], after: tuple, params: list[Any], compares: Mapping[str, str]) -> str:
    """Rows strictly after ``after`` in ``order`` (NULLs sort last in either direction).

    Each column is compared through the same expression ORDER BY sorts it by, so the
    condition resumes exactly the order the pages follow.
    """
    how = [compares.get(k.column, "value") for k in order]
    alternatives, alt_params = [], []
    for i, key in enumerate(order):
        terms = []
        for j, (prev, value) in enumerate(zip(order[:i], after[:i])):
            if value is None:
                terms.append(f"{d.ident(prev.column)} IS NULL")
            else:
                mark, param = _bound(d, prev, how[j], value)
                terms.append(f"{d.sort_expression(prev.column, how[j])} = {mark}")
                alt_params.append(param)
        value, col = after[i], d.sort_expression(key.column, how[i])
        if value is None:
            del alt_params[len(alt_params) - sum(v is not None for v in after[:i]) :]
            continue  # nothing sorts after NULL
        mark, param = _bound(d, key, how[i], value)
        step = f"{col} {'<' if key.descending else '>'} {mark}"
        alt_params.append(param)
        if key.nullable:
            step = f"({step} OR {d.ident(key.column)} IS NULL)"
        alternatives.append(" AND ".join(terms + [step]))
    if not alternatives:
        return "1 = 0"
    lead = ""
    first = order[0]
    if not first.nullable and after[0] is not None and len(alternatives) > 1:
        # a redundant range on the first column lets every backend use its index
        mark, param = _bound(d, first, how[0], after[0])
        lead = f"{d.sort_expression(first.column, how[0])} {'<=' if first.descending else '>='} {mark} AND "
        params.append(param)
    params.extend(alt_params)
    return lead + "(" + " OR ".join(f"({a})" for a in alternatives) + ")"


def _not_after(d: Dialect, order: list[SortKey], high: tuple, params: list[Any], compares: Mapping[str, str]) -> str:
    """Rows not after ``high`` in ``order`` (the inverse of :func:`_keyset`, for columns without
    NULLs): equal to it, or before it at the first column that differs.  A row whose first
    column is NULL, where that column may be NULL (a watermark), is kept."""
    how = [compares.get(k.column, "value") for k in order]
    alternatives, alt_params = [], []
    for i in range(len(order) + 1):
        terms = []
        for j in range(min(i + 1, len(order))):
            mark, param = _bound(d, order[j], how[j], high[j])
            below = "<" if not order[j].descending else ">"
            terms.append(f"{d.sort_expression(order[j].column, how[j])} {below if j == i else '='} {mark}")
            alt_params.append(param)
        alternatives.append(" AND ".join(terms))
    first = order[0]
    mark, param = _bound(d, first, how[0], high[0])
    test = f"{d.sort_expression(first.column, how[0])} {'>=' if first.descending else '<='} {mark}"
    params.append(param)
    if len(order) > 1:  # the redundant range on the first column lets the index serve it
        params.extend(alt_params)
        test += " AND (" + " OR ".join(f"({a})" for a in alternatives) + ")"
    return f"({test} OR {d.ident(first.column)} IS NULL)" if first.nullable else test


def _within(d: Dialect, bound: Bound, params: list[Any], compares: Mapping[str, str]) -> list[str]:
    """A partition's bound as WHERE terms."""
    terms = []
    if bound.low is not None:
        terms.append(_keyset(d, list(bound.order), bound.low, params, compares))
    if bound.high is not None:
        terms.append(_not_after(d, list(bound.order), bound.high, params, compares))
    return terms


def order_by(d: Dialect, order: list[SortKey], compares: Mapping[str, str]) -> str:
    parts = []
    for key in order:
        if key.nullable:
            parts.append(f"CASE WHEN {d.ident(key.column)} IS NULL THEN 1 ELSE 0 END")
        parts.append(
            d.sort_expression(key.column, compares.get(key.column, "value")) + (" DESC" if key.descending else "")
        )
    return ", ".join(parts)


def source_name(d: Dialect, target: dict[str, Any]) -> str:
    """How a query names its target's rows (a table or view by itself, a select by its alias)."""
    return "lb_src" if "select" in target else d.ident(target.get("table") or target["view"])


def source_sql(d: Dialect, target: dict[str, Any]) -> str:
    """The FROM item of a resource's target: a table, a view or a select."""
    if "select" in target:
        return f"({target['select']}) lb_src"
    return d.ident(target.get("table") or target["view"])


def compile_select(
    d: Dialect, target: dict[str, Any], query: Query, compares: Mapping[str, str] | None = None
) -> tuple[str, list[Any]]:
    """``SELECT <columns> FROM <target> WHERE ... ORDER BY ... <limit>`` and its parameters;
    ``compares`` says how each sort column compares (default: as the column, "value")."""
    compares = compares or {}
    params: list[Any] = []
    columns = ", ".join(
        d.select_item(c, i, compares.get(c.column, "value") if isinstance(c, SortValue) else "value")
        for i, c in enumerate(query.columns)
    )
    source = source_sql(d, target)
    # the keyset's condition first: it is the tightest lower bound of a walk, and SQLite seeks
    # an index by the first of several bounds on one column (``id > ? AND id > ?`` with the
    # filter first scanned a walk's every earlier row again: batches and pages got slower the
    # further they went); then a partition's range, then the filters
    where = [] if query.after is None else [_keyset(d, query.order, query.after, params, compares)]
    for bound in query.bounds:
        where.extend(_within(d, bound, params, compares))
    where += [_condition(d, c, params) for c in query.where]
    where += [_related(d, r, source_name(d, target), params) for r in query.related]
    top = f"TOP {int(query.limit)} " if query.limit is not None and d.limit == "top" else ""
    sql = f"SELECT {top}{columns} FROM {source}"
    if where:
        sql += " WHERE " + " AND ".join(f"({w})" if " OR " in w else w for w in where)
    if query.order:
        sql += " ORDER BY " + order_by(d, query.order, compares)
    if query.limit is not None:
        if d.limit == "limit":
            sql += f" LIMIT {int(query.limit)}"
        elif d.limit == "fetch":
            sql += f" FETCH FIRST {int(query.limit)} ROWS ONLY"
    # interned: pyodbc runs a cursor's prepared statement again only for the very same str
    # object (an equal text is prepared anew: Parse, Describe and a DEALLOCATE on psqlODBC)
    return sys.intern(sql), params
