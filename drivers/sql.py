"""Compile a :class:`~legacy_bridge.query.Query` into portable SQL text + parameters.

Only configured identifiers reach the text, each quoted with the backend's own quote
character; every value is a ``?`` parameter.  Pagination is keyset only: the ``after``
values become ``WHERE`` terms (composite and mixed-direction orders expanded into
ANDs and ORs every backend understands), never an OFFSET.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from legacy_bridge.query import Condition, Query, SortKey

_COMPARE = {"eq": "=", "ne": "<>", "lt": "<", "lte": "<=", "gt": ">", "gte": ">="}
LIKE_ESCAPE = "!"    # not a backslash: MySQL/MariaDB read '\' as an escape in literals


@dataclass(frozen=True)
class Dialect:
    """What differs between ODBC backends for the SQL we write."""

    quote: str = '"'
    limit: str = "limit"          # limit | top | fetch | none

    def ident(self, name: str) -> str:
        """Quote a (possibly schema-qualified) identifier taken from the config."""
        q = self.quote.strip()
        if not q:
            return name
        return ".".join(q + part.replace(q, q + q) + q for part in name.split("."))


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
    return Dialect(quote=quote_char or '"', limit=limit)


def escape_like(text: str) -> str:
    return (text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
            .replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_"))


def _condition(d: Dialect, c: Condition, params: list[Any]) -> str:
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
    if c.nulls:            # a legacy "no value" sentinel never matches a comparison
        params.extend(c.nulls)
        sql += f" AND {col} NOT IN ({', '.join('?' * len(c.nulls))})"
    return sql


def _keyset(d: Dialect, order: list[SortKey], after: tuple, params: list[Any]) -> str:
    """Rows strictly after ``after`` in ``order`` (NULLs sort last in either direction)."""
    alternatives, alt_params = [], []
    for i, key in enumerate(order):
        terms = []
        for prev, value in zip(order[:i], after[:i]):
            col = d.ident(prev.column)
            if value is None:
                terms.append(f"{col} IS NULL")
            else:
                terms.append(f"{col} = ?")
                alt_params.append(value)
        value, col = after[i], d.ident(key.column)
        if value is None:
            del alt_params[len(alt_params) - sum(v is not None for v in after[:i]):]
            continue                      # nothing sorts after NULL
        step = f"{col} {'<' if key.descending else '>'} ?"
        alt_params.append(value)
        if key.nullable:
            step = f"({step} OR {col} IS NULL)"
        alternatives.append(" AND ".join(terms + [step]))
    if not alternatives:
        return "1 = 0"
    lead = ""
    first = order[0]
    if not first.nullable and after[0] is not None and len(alternatives) > 1:
        # a redundant range on the first column lets every backend use its index
        lead = f"{d.ident(first.column)} {'<=' if first.descending else '>='} ? AND "
        params.append(after[0])
    params.extend(alt_params)
    return lead + "(" + " OR ".join(f"({a})" for a in alternatives) + ")"


def _order_by(d: Dialect, order: list[SortKey]) -> str:
    parts = []
    for key in order:
        col = d.ident(key.column)
        if key.nullable:
            parts.append(f"CASE WHEN {col} IS NULL THEN 1 ELSE 0 END")
        parts.append(col + (" DESC" if key.descending else ""))
    return ", ".join(parts)


def compile_select(d: Dialect, target: dict[str, Any], query: Query) -> tuple[str, list[Any]]:
    """``SELECT <columns> FROM <target> WHERE ... ORDER BY ... <limit>`` and its parameters."""
    params: list[Any] = []
    columns = ", ".join(d.ident(c) for c in query.columns)
    if "select" in target:
        source = f"({target['select']}) lb_src"
    else:
        source = d.ident(target.get("table") or target["view"])
    where = [_condition(d, c, params) for c in query.where]
    if query.after is not None:
        where.append(_keyset(d, query.order, query.after, params))
    top = f"TOP {int(query.limit)} " if query.limit is not None and d.limit == "top" else ""
    sql = f"SELECT {top}{columns} FROM {source}"
    if where:
        sql += " WHERE " + " AND ".join(f"({w})" if " OR " in w else w for w in where)
    if query.order:
        sql += " ORDER BY " + _order_by(d, query.order)
    if query.limit is not None:
        if d.limit == "limit":
            sql += f" LIMIT {int(query.limit)}"
        elif d.limit == "fetch":
            sql += f" FETCH FIRST {int(query.limit)} ROWS ONLY"
    return sql, params
