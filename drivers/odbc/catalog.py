"""The ODBC catalog of a table or view, for ``legacy-bridge introspect``."""

from __future__ import annotations

import re
from typing import Any

from legacy_bridge.errors import NotFound
from legacy_bridge.query.legacy import Query

_BY_CODE = {
    1: "char",
    -8: "char",
    12: "varchar",
    -9: "varchar",
    -1: "varchar",
    -10: "varchar",
    2: "decimal",
    3: "decimal",
    4: "integer",
    5: "integer",
    -5: "integer",
    -6: "integer",
    6: "float",
    7: "float",
    8: "float",
    9: "date",
    91: "date",
    10: "time",
    92: "time",
    11: "timestamp",
    93: "timestamp",
    -7: "boolean",
    -2: "binary",
    -3: "binary",
    -4: "binary",
}
_BY_NAME = {
    "CHAR": "char",
    "CHARACTER": "char",
    "NCHAR": "char",
    "BPCHAR": "char",
    "DECIMAL": "decimal",
    "NUMERIC": "decimal",
    "DEC": "decimal",
    "NUMBER": "decimal",
    "ENUM": "varchar",
    "SET": "varchar",
}  # MariaDB reports ENUM and SET as CHAR


def _column(row: Any) -> dict[str, Any]:
    type_name = str(row.type_name or "")
    words = type_name.upper().split("(")[0].split()
    family = _BY_NAME.get(words[0]) if words and "VARYING" not in words else None
    # SQLite reports CHAR(40) as SQL_VARCHAR and DECIMAL(11,2) with size 2: the
    # declared type text is the truth where it carries the numbers
    numbers = [int(n) for n in re.findall(r"\d+", type_name.partition("(")[2])]
    size, scale = (numbers + [None])[:2] if numbers else (row.column_size, row.decimal_digits)
    family = family or _BY_CODE.get(row.data_type, "other")
    return {
        "name": row.column_name,
        "type": family,
        "type_name": type_name,
        "size": size,
        "scale": scale if family == "decimal" else None,
        "nullable": row.nullable != 0,
    }


def describe(driver: Any, table: str, sample: int = 200) -> dict[str, Any]:
    """The ODBC catalog of a table or view, and a sample of its rows.

    Returns ``{"table", "kind" ("table"|"view"), "columns": [{"name", "type", "type_name",
    "size", "scale", "nullable"}], "key": [primary key columns], "sample": [rows]}``;
    ``type`` is a family: char, varchar, integer, decimal, float, date, time,
    timestamp, boolean, binary or other.  ``table`` may be ``schema.table``.

    Raises:
        NotFound: the source has no table or view of that name.
    """
    schema, _, name = table.rpartition(".")
    with driver.connection() as conn:
        cur = conn.cursor()
        # catalog arguments are patterns ('_' matches any character) and case rules
        # differ by backend: try the name as given, then upper and lower case
        for candidate in dict.fromkeys((name, name.upper(), name.lower())):
            tables = [
                t for t in cur.tables(table=candidate, schema=schema or None).fetchall() if t.table_name == candidate
            ]
            if tables:
                break
        else:
            raise NotFound(f"source {driver.name!r} has no table or view {table!r}", source=driver.name)
        found = tables[0]
        columns = [
            _column(r)
            for r in cur.columns(table=found.table_name, schema=found.table_schem).fetchall()
            if r.table_name == found.table_name and (r.table_schem or None) == (found.table_schem or None)
        ]
        keys = sorted(
            (r.key_seq, r.column_name)
            for r in cur.primaryKeys(table=found.table_name, schema=found.table_schem).fetchall()
            if r.table_name == found.table_name
        )
        cur.close()
    qualified = f"{schema}.{found.table_name}" if schema else found.table_name
    query = Query(columns=[c["name"] for c in columns], limit=max(0, int(sample)))
    rows = list(driver.fetch({"table": qualified}, query)) if sample > 0 and columns else []
    return {
        "table": qualified,
        "kind": "view" if "VIEW" in str(found.table_type).upper() else "table",
        "columns": columns,
        "key": [c for _, c in keys],
        "sample": [tuple(r) for r in rows],
    }


_ROUTINE = """SELECT r.specific_name, r.routine_type, r.data_type, p.ordinal_position, p.parameter_mode,
  p.parameter_name, p.data_type, p.numeric_precision, p.numeric_scale, p.character_maximum_length,
  p.dtd_identifier
FROM information_schema.routines r LEFT JOIN information_schema.parameters p
  ON p.specific_schema = r.routine_schema AND p.specific_name = r.specific_name
WHERE lower(r.routine_schema) = lower({schema}) AND lower(r.routine_name) = lower(?)
ORDER BY r.specific_name, p.ordinal_position"""


def _family(type_name: str) -> str:
    words = type_name.upper().split("(")[0].split()
    if not words:
        return "other"
    if "VARYING" in words or words[0] in ("VARCHAR", "TEXT", "NVARCHAR", "LONGTEXT", "MEDIUMTEXT"):
        return "varchar"
    if words[0] in ("INTEGER", "INT", "SMALLINT", "BIGINT", "TINYINT", "MEDIUMINT"):
        return "integer"
    if words[0] in ("REAL", "DOUBLE", "FLOAT"):
        return "float"
    if words[0] in ("TIMESTAMP", "DATETIME"):
        return "timestamp"
    known = {"date": "date", "time": "time", "boolean": "boolean", "refcursor": "cursor", "bytea": "binary"}
    return _BY_NAME.get(words[0]) or known.get(words[0].lower(), "other")


def describe_routine(driver: Any, name: str, dbms: str) -> dict[str, Any]:
    """The catalog's parameter list of a stored procedure or function (information_schema,
    PostgreSQL and MariaDB): ``{"routine", "kind" (procedure|function), "returns" (a type
    family or None), "params": [{"name", "mode" (in|out|inout), "type", "type_name", "size",
    "scale"}]}``, in the routine's argument order; of overloaded ones, the first.

    Raises:
        NotFound: the schema (``schema.name``; else the connection's current one) has no
            routine of that name.
    """
    schema, _, routine = name.rpartition(".")
    current = "current_schema()" if "postgres" in dbms else "DATABASE()"
    sql = _ROUTINE.format(schema="?" if schema else current)
    with driver.connection() as conn:
        cur = conn.cursor()
        rows = cur.execute(sql, [schema, routine] if schema else [routine]).fetchall()
        cur.close()
    if not rows:
        raise NotFound(f"source {driver.name!r} has no procedure or function {name!r}", source=driver.name)
    first = [r for r in rows if r[0] == rows[0][0]]
    kind = str(first[0][1]).lower()
    params = []
    for _, _, _, position, mode, pname, type_name, precision, scale, length, declared in first:
        if position is None or mode is None:  # no parameters; MariaDB's return value (position 0)
            continue
        if declared and any(c.isalpha() for c in str(declared)):  # MariaDB: int(10) unsigned, char(10)
            type_name = declared
        family = _family(str(type_name or ""))
        params.append(
            {
                "name": pname or f"${position}",
                "mode": str(mode).lower(),
                "type": family,
                "type_name": str(type_name or ""),
                "size": length if family in ("char", "varchar") else precision,
                "scale": scale if family == "decimal" else None,
            }
        )
    returns = None
    if kind == "function" and first[0][2] and str(first[0][2]).lower() not in ("void", "record"):
        returns = _family(str(first[0][2]))
    return {"routine": name, "kind": kind, "returns": returns, "params": params}
