"""How each ODBC backend orders a column, so the pager's keyset condition orders as its ORDER BY.

A keyset page resumes with ``WHERE col > ?``, binding what the cursor kept of the last row.
That is right only if the database compares the bound value exactly as ``ORDER BY col``
orders the column.  :func:`column_types` asks the database, once per resource, and says
per column how it must be compared (``ColumnType.compare``), or why it cannot be paged in
order at all (``unsortable``):

- ``value`` (most types): the column, and the value as the driver reads it;
- ``number``: MariaDB ENUM and SET order by member number and bit value, BIT by its
  number, while their text (or bytes) compares otherwise: ORDER BY, the condition and the
  cursor all use ``col+0``;
- ``epoch``: a MariaDB TIMESTAMP read in a session time zone with DST: its local time
  repeats when the clock falls back, so it is compared as ``UNIX_TIMESTAMP(col)``;
- ``text``: the column, while the cursor keeps the column's text as the database prints
  it: SQLite DATE/TIME/TIMESTAMP/BOOLEAN columns (the SQLite ODBC driver reads their text as
  dates and binds a date back in a text of its own, milliseconds only) and PostgreSQL
  ``timestamptz``/``timetz`` (read as naive local times, ambiguous when the clock falls back);
- ``rounded``: SQLite REAL and DECIMAL/NUMERIC values, which the SQLite ODBC driver reads
  through their text (15 significant digits): ORDER BY and the condition compare that text
  read back as a number, the very value the API shows, and the cursor keeps the text.

The types come from the result set of the resource's own target (tables, views and
``select:`` alike): a query that returns no row tells the Python type each column reads as,
MariaDB's ``col+0`` tells ENUM/SET/BIT from text and bytes by the type of its result,
PostgreSQL's ``pg_typeof`` names every type, and the ODBC catalog names those of tables
and views elsewhere.  A column whose ORDER BY the database refuses (PostgreSQL ``json``)
is unsortable.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pyodbc

from legacy_bridge.drivers.odbc.sql import Dialect, source_sql
from legacy_bridge.query.legacy import ColumnType

# what a keyset cursor can hold (legacy_bridge.cursors); pyodbc describes binary columns as
# bytearray and reads their values as bytes
_CURSOR_TYPES = (bool, int, float, str, Decimal, dt.datetime, dt.date, dt.time, bytes, bytearray)
_INT_BITS = {
    "tinyint": 8,
    "smallint": 16,
    "int2": 16,
    "smallserial": 16,
    "mediumint": 24,
    "int": 32,
    "integer": 32,
    "int4": 32,
    "serial": 32,
    "bigint": 64,
    "int8": 64,
    "bigserial": 64,
}
INT64 = (-(1 << 63), (1 << 63) - 1)  # what pyodbc can bind
_PG_TEXT_CURSOR = {"timestamp with time zone", "time with time zone"}
_SQLITE_CONVERTED = (dt.datetime, dt.date, dt.time, bool)
_SQLITE_NUMERIC = ("DEC", "NUM")  # declared types of NUMERIC affinity the driver reads as text


def backend(dbms_name: str) -> str:
    """``sqlite``, ``postgresql``, ``mariadb`` (MySQL too) or ``other``."""
    name = dbms_name.lower()
    for key, words in (("sqlite", ("sqlite",)), ("postgresql", ("postgres",)), ("mariadb", ("mariadb", "mysql"))):
        if any(w in name for w in words):
            return key
    return "other"


def int_range(kind: str, type_name: str) -> tuple[int, int]:
    """The integers a column of ``type_name`` holds, within what pyodbc can bind."""
    words = type_name.lower().replace("(", " ").split()
    bits = _INT_BITS.get(words[0]) if words else None
    if kind == "sqlite" or bits is None:
        return INT64
    unsigned = "unsigned" in words
    low, high = (0, (1 << bits) - 1) if unsigned else (-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
    return max(low, INT64[0]), min(high, INT64[1])


def _catalog_names(cur: Any, target: dict[str, Any]) -> dict[str, str]:
    """Declared type names from the ODBC catalog (tables and views), by upper-case column name."""
    name = target.get("table") or target.get("view")
    if not name:
        return {}
    schema, _, table = name.rpartition(".")
    rows = []
    for candidate in dict.fromkeys((table, table.upper(), table.lower())):
        rows = [r for r in cur.columns(table=candidate, schema=schema or None).fetchall() if r.table_name == candidate]
        if rows:
            break
    return {str(r.column_name).upper(): str(r.type_name or "") for r in rows}


def _probe_types(cur: Any, source: str, items: list[str]) -> list[type]:
    """The Python type each select item reads as, from a query that returns no row."""
    cur.execute(f"SELECT {', '.join(items)} FROM {source} WHERE 1 = 0")
    types = [entry[1] for entry in cur.description]
    cur.fetchall()
    return types


def _pg_names(cur: Any, d: Dialect, source: str, columns: list[str]) -> list[str]:
    # pg_typeof of the NULLs an outer join gives an empty result: the types, with no row read
    items = ", ".join(f"pg_typeof(lb_x.{d.ident(c)})::text" for c in columns)
    inner = ", ".join(d.ident(c) for c in columns)
    row = cur.execute(
        f"SELECT {items} FROM (SELECT 1 AS lb_one) lb_1 LEFT JOIN "
        f"(SELECT {inner} FROM {source} WHERE 1 = 0) lb_x ON 1 = 1"
    ).fetchone()
    return [str(v) for v in row]


def session_has_dst(cur: Any) -> bool:
    """Whether the session's time zone moves its clock (then TIMESTAMP local times repeat)."""
    row = cur.execute(
        "SELECT UNIX_TIMESTAMP('2024-07-01 12:00:00') - UNIX_TIMESTAMP('2024-01-01 12:00:00'), "
        "UNIX_TIMESTAMP('2024-12-31 12:00:00') - UNIX_TIMESTAMP('2024-07-01 12:00:00')"
    ).fetchone()
    return (int(row[0]), int(row[1])) != (182 * 86400, 183 * 86400)


def compare_mode(kind: str, name: str | None, reads: type, number: type | None, dst: bool) -> tuple[str, str | None]:
    """(compare, why it is unsortable or None) for one column declared ``name`` (None: unknown)."""
    if kind == "mariadb":
        if number is int and (reads is str or issubclass(reads, (bytes, bytearray))):
            return "number", None  # ENUM, SET (text) or BIT (bytes)
        if dst and (name or "").upper().startswith("TIMESTAMP"):
            return "epoch", None
    if kind == "postgresql" and name in _PG_TEXT_CURSOR:
        return "text", None
    if kind == "sqlite":
        if name == "":
            return "value", (
                "SQLite column without a declared type: its rows may hold values of "
                "any storage class, which the SQLite ODBC driver reads as NULL or "
                "converts, so no order can be resumed from them"
            )
        if issubclass(reads, _SQLITE_CONVERTED):
            return "text", None
        if issubclass(reads, (float, Decimal)) or any(w in (name or "").upper() for w in _SQLITE_NUMERIC):
            return "rounded", None
    if not issubclass(reads, _CURSOR_TYPES):
        return "value", f"the driver reads it as {reads.__name__}, which a cursor cannot hold"
    return "value", None


def _sizes(declared: str, reads: type, entry: tuple) -> tuple[int | None, int | None, int | None]:
    """(characters of a text column, digits and scale of a decimal one) or None each: from the
    declared type where it spells them (SQLite reports CHAR(40) with no size), else from what
    the driver describes."""
    numbers = [int(n) for n in re.findall(r"\d+", declared.partition("(")[2])]
    if numbers and any(w in declared.upper() for w in ("DEC", "NUMERIC")):  # SQLite reads these as text
        return None, numbers[0], numbers[1] if len(numbers) > 1 else 0
    if issubclass(reads, str):
        if "char" not in declared.lower() and declared:
            return None, None, None  # TEXT, ENUM, dates read as text: no length to hold to
        size = numbers[0] if numbers else entry[3]
        return (size if isinstance(size, int) and 0 < size < 1 << 24 else None), None, None
    if issubclass(reads, Decimal):
        digits, scale = (numbers + [0])[:2] if numbers else (entry[4], entry[5])
        if isinstance(digits, int) and 0 < digits <= 1000:
            return None, digits, scale if isinstance(scale, int) else 0
    return None, None, None


def column_types(conn: Any, d: Dialect, dbms_name: str, target: dict[str, Any]) -> dict[str, ColumnType]:
    """What the pager and the parser need to know of every column of ``target`` (see module doc)."""
    kind = backend(dbms_name)
    source = source_sql(d, target)
    cur = conn.cursor()
    try:
        cur.execute(f"SELECT * FROM {source} WHERE 1 = 0")
        described = {entry[0]: entry for entry in cur.description}
        columns, reads = zip(*[(entry[0], entry[1]) for entry in cur.description])
        cur.fetchall()
        if kind == "postgresql":
            names: list[str | None] = list(_pg_names(cur, d, source, list(columns)))
        else:  # select: targets have no catalog entry: their names are unknown
            catalog = _catalog_names(cur, target)
            names = [catalog.get(c.upper()) for c in columns]
        numbers: list[type | None] = [None] * len(columns)
        dst = False
        if kind == "mariadb":
            numbers = list(_probe_types(cur, source, [f"{d.ident(c)}+0" for c in columns]))
            dst = session_has_dst(cur)
        types = {}
        for column, name, read, number in zip(columns, names, reads, numbers):
            compare, why = compare_mode(kind, name, read, number, dst)
            low, high = int_range(kind, name or "") if issubclass(read, int) and read is not bool else (None, None)
            length, digits, scale = _sizes(name or "", read, described[column])
            types[column] = ColumnType(name or read.__name__, compare, why, low, high, length, digits, scale)
        _check_order_by(cur, d, source, types)
        return types
    finally:
        cur.close()


def _check_order_by(cur: Any, d: Dialect, source: str, types: dict[str, ColumnType]) -> None:
    """Mark the columns the database cannot ORDER BY (PostgreSQL json, xml, point...)."""

    def orders(columns: list[str]) -> bool:
        keys = ", ".join(d.sort_expression(c, types[c].compare) for c in columns)
        try:
            cur.execute(f"SELECT 1 FROM {source} WHERE 1 = 0 ORDER BY {keys}").fetchall()
            return True
        except pyodbc.Error:
            return False

    candidates = [c for c, t in types.items() if t.unsortable is None]
    if not candidates or orders(candidates):
        return
    for column in candidates:
        if not orders([column]):
            t = types[column]
            types[column] = replace(t, unsortable="the database has no order for this type")
