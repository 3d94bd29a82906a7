"""Stored procedures and database functions over ODBC, each call one transaction.

pyodbc has no ``callproc`` and the drivers bind no output parameters reliably, so each
backend is called the way it answers:

- PostgreSQL, a procedure: ``CALL p(?, ?, NULL)`` (an OUT argument is passed as NULL);
  psqlODBC answers one row holding the INOUT and OUT values, in order.  A ``refcursor``
  argument the procedure opens is read with ``FETCH ALL`` in the same transaction.
- PostgreSQL, a function: ``SELECT f(?)`` for its scalar value, ``SELECT * FROM f(?)`` for
  its rows (a set-returning function) or its OUT values (one row).
- MariaDB, a procedure: INOUT and OUT arguments are session variables, set in one statement
  (``SET @lb_2 = ?, @lb_3 = ?``: an OUT one to NULL),
  ``CALL p(?, @lb_2, @lb_3)`` answers each SELECT the procedure runs as a result set
  (``nextset``), and ``SELECT @lb_2, @lb_3`` on the same connection reads the OUT values.
- MariaDB, a function: ``SELECT f(?)``.

A routine is not idempotent: a call is never retried here, and a lost connection is the
caller's 503 (the commit may or may not have happened).  An error the routine raises keeps
its SQLSTATE (:func:`refusal`).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pyodbc

from legacy_bridge.drivers.odbc.order import backend, int_range
from legacy_bridge.drivers.odbc.pool import OdbcPool
from legacy_bridge.drivers.odbc.sql import Dialect
from legacy_bridge.drivers.odbc.writes import transaction
from legacy_bridge.errors import ActionRefused, ConstraintViolated, InvalidInput, MappingMismatch, ValueRefused
from legacy_bridge.query.routines import Routine, RoutineResult

__all__ = ["run_routine", "routine_problems", "catalog_problems", "check_values", "refusal", "USER_RAISED"]

#: SQLSTATEs a routine raises on purpose: PostgreSQL's RAISE EXCEPTION (P0001), SIGNAL's 45000
USER_RAISED = ("P0001", "45000")
_DECIMALS = (pyodbc.SQL_DECIMAL, pyodbc.SQL_NUMERIC)
#: what a data exception (SQLSTATE class 22) says of the value the source refused
_DATA_EXCEPTIONS = {
    "22001": "a text too long for its parameter",
    "22003": "a number out of its parameter's range",
    "22007": "not a valid date or time",
    "22008": "a date or time out of range",
    "22012": "a division by zero",
    "22P02": "a text that is not a value of its parameter's type",
}


def _family(dbms: str) -> str:
    dbms = dbms.lower()
    if "postgres" in dbms:
        return "postgres"
    if "mariadb" in dbms or "mysql" in dbms:
        return "mariadb"
    return ""


def routine_problems(dbms: str, routine: Routine) -> list[str]:
    """Why ``routine`` cannot be called on a database ``dbms`` names (empty: it can)."""
    family = _family(dbms)
    if not family:
        return [f"{dbms or 'this database'} has no stored procedures or functions (PostgreSQL and MariaDB have)"]
    answered = [a for a in routine.args if a.answered]
    problems = []
    if routine.kind == "procedure" and routine.returns:
        problems.append("a procedure returns no value: returns is for functions")
    if any(a.cursor for a in routine.args) and (family != "postgres" or routine.kind != "procedure"):
        problems.append("cursor parameters are PostgreSQL procedures' (refcursor): result sets come from the call here")
    row_sets = [s for s in routine.sets if s is None]
    if family == "postgres":
        if routine.kind == "procedure" and row_sets:
            problems.append("a PostgreSQL procedure answers result sets only through refcursor parameters (cursor:)")
        if routine.kind == "function" and len(row_sets) + bool(routine.returns) + bool(answered) > 1:
            problems.append("a PostgreSQL function answers one of: returns, OUT parameters or one result set")
    elif routine.kind == "function" and (answered or row_sets or not routine.returns):
        problems.append("a MariaDB function answers only its return value (returns:)")
    return problems


def catalog_problems(routine: Routine, description: dict[str, Any]) -> list[str]:
    """Where the action's arguments differ from the catalog's (``description``: see
    catalog.describe_routine): the call is positional, so a parameter out of order or of another
    mode would silently take another's value.  A function's OUT parameters (and the columns of
    a RETURNS TABLE) are not arguments of its call: only its IN and INOUT ones are compared."""
    kind = description["kind"]
    if kind != routine.kind:
        return [f"{routine.name} is a {kind} in the database, not a {routine.kind}"]
    declared = [(a.name, a.mode) for a in routine.args]
    found = [(p["name"], p["mode"]) for p in description["params"]]
    if kind == "function":
        declared = [d for d in declared if d[1] != "out"]
        found = [f for f in found if f[1] != "out"]
    if len(declared) != len(found):
        listed = ", ".join(f"{n} {m}" for n, m in found) or "none"
        return [f"{routine.name} takes {len(found)} argument(s) ({listed}), the action declares {len(declared)}"]
    problems = []
    for position, ((name, mode), (catalog_name, catalog_mode)) in enumerate(zip(declared, found), 1):
        unnamed = catalog_name.startswith("$")
        if (not unnamed and name.lower() != catalog_name.lower()) or mode != catalog_mode:
            problems.append(
                f"argument {position} of {routine.name} is {catalog_name} {catalog_mode.upper()}, "
                f"the action declares {name} {mode.upper()} there (params are in the routine's order)"
            )
    return problems


def check_values(routine: Routine, description: dict[str, Any], dbms: str) -> None:
    """Refuse a value its parameter cannot hold as sent (an integer past the type's range, a
    text longer than its length, where the catalog says), naming the parameter: the source
    would refuse it with a data exception, or truncate it."""
    kind = backend(dbms)
    params = {p["name"].lower(): p for p in description["params"]}
    for arg in routine.args:
        param, value = params.get(arg.name.lower()), arg.value
        if not arg.sent or param is None or value is None:
            continue
        if param["type"] == "integer" and isinstance(value, int) and not isinstance(value, bool):
            low, high = int_range(kind, param["type_name"])
            if not low <= value <= high:
                raise InvalidInput(f"{value} is out of range for {param['type_name']} ({low} to {high})", arg.name)
        size = param.get("size")
        if param["type"] in ("char", "varchar") and isinstance(value, str) and size and len(value) > size:
            raise InvalidInput(f"{len(value)} characters do not fit {param['type_name']} ({size} at most)", arg.name)


def _message(error: pyodbc.Error) -> str:
    """The message a routine raised, without the drivers' decorations ([state] [driver][server]
    prefixes, psqlODBC's ERROR: and trailer, the native code)."""
    text = str(error.args[1]) if len(error.args) > 1 else str(error)
    text = re.sub(r"^(\s*\[[^\]]*\])+\s*", "", text)
    text = re.sub(r"^ERROR:\s*", "", text)
    text = re.split(r";\s*\n|\s*\(\d+\)\s*\(SQL\w+\)|\s*\(SQL\w+\)", text, maxsplit=1)[0]
    return text.strip()[:500]


def refusal(error: pyodbc.Error, source: str) -> Exception | None:
    """The service's error for what a routine raised on purpose (a rule it enforces: 422), an
    integrity constraint it broke (409) or a value it could not take (a data exception: 400);
    None for the rest (translated as any query's error)."""
    state = error.args[0] if error.args and isinstance(error.args[0], str) else ""
    if state in USER_RAISED:
        return ActionRefused(_message(error), source, state)
    if state.startswith("23"):
        return ConstraintViolated(
            "the source refused the call: a constraint of its tables does not hold", legacy_code=state
        )
    if state.startswith("22"):
        what = _DATA_EXCEPTIONS.get(state, "a data exception")
        return ValueRefused(f"the source refused a value of the call: {what} (SQLSTATE {state})", source, state)
    return None


def _rows(cur: Any) -> tuple[list[str], list[tuple]]:
    return [d[0] for d in cur.description], [tuple(r) for r in cur.fetchall()]


def _postgres(cur: Any, d: Dialect, routine: Routine) -> RoutineResult:
    result = RoutineResult()
    sent = [a.value for a in routine.args if a.sent]
    answered = [a for a in routine.args if a.answered]
    name = d.ident(routine.name)
    if routine.kind == "procedure":
        marks = ", ".join("?" if a.sent else "NULL" for a in routine.args)
        cur.execute(f"CALL {name}({marks})", sent)
    else:
        marks = ", ".join("?" for _ in sent)
        cur.execute(f"SELECT {name}({marks})" if routine.returns else f"SELECT * FROM {name}({marks})", sent)
    if routine.returns:
        result.returned = cur.fetchone()[0]
    elif routine.kind == "function" and routine.sets:
        result.sets.append(_rows(cur))
    elif answered:
        row = cur.fetchone()
        if row is None or len(row) != len(answered):
            raise MappingMismatch(
                f"{routine.name} answered {0 if row is None else len(row)} OUT values, the action declares "
                f"{len(answered)}",
                column=routine.name,
            )
        result.out = {a.name: v for a, v in zip(answered, row)}
    for cursor in (s for s in routine.sets if s is not None):
        portal = result.out.pop(cursor, None)
        if portal is None:  # a cursor the procedure did not open: no rows
            result.sets.append(([], []))
            continue
        cur.execute('FETCH ALL FROM "' + str(portal).replace('"', '""') + '"')  # a portal name, not a path
        result.sets.append(_rows(cur))
    return result


def _mariadb(cur: Any, d: Dialect, routine: Routine) -> RoutineResult:
    result = RoutineResult()
    name = d.ident(routine.name)
    if routine.kind == "function":
        values = [a.value for a in routine.args]
        cur.execute(f"SELECT {name}({', '.join('?' for _ in values)})", values)
        result.returned = cur.fetchone()[0]
        return result
    marks, sent, variables = [], [], {}
    for i, arg in enumerate(routine.args):
        if arg.mode == "in":
            marks.append("?")
            sent.append(arg.value)
        else:  # a variable of this session, set first (an OUT one to NULL: a value of an earlier call)
            marks.append(f"@lb_{i}")
            variables[f"@lb_{i}"] = arg.value if arg.mode == "inout" else None
    if variables:
        cur.execute("SET " + ", ".join(f"{v} = ?" for v in variables), list(variables.values()))
    cur.execute(f"CALL {name}({', '.join(marks)})", sent)
    while True:
        if cur.description:
            result.sets.append(_rows(cur))
        if not cur.nextset():
            break
    if len(result.sets) != len(routine.sets):
        raise MappingMismatch(
            f"{routine.name} answered {len(result.sets)} result sets, the action declares {len(routine.sets)}",
            column=routine.name,
        )
    answered = [(i, a) for i, a in enumerate(routine.args) if a.answered]
    if answered:
        conn = cur.connection
        # a DECIMAL session variable comes as DECIMAL(65,38), more than pyodbc parses: read its text
        for sql_type in _DECIMALS:
            conn.add_output_converter(sql_type, lambda raw: None if raw is None else Decimal(raw.decode("ascii")))
        try:
            cur.execute("SELECT " + ", ".join(f"@lb_{i}" for i, _ in answered))
            row = cur.fetchone()
        finally:
            for sql_type in _DECIMALS:
                conn.remove_output_converter(sql_type)
        result.out = {a.name: v for (_, a), v in zip(answered, row)}
    return result


def run_routine(pool: OdbcPool, d: Dialect, dbms: str, source: str, routine: Routine) -> RoutineResult:
    """Call ``routine`` in one transaction (committed when it answers, rolled back when it
    raises); what it raised on purpose comes out as :func:`refusal` says."""
    with transaction(pool) as cur:
        try:
            if _family(dbms) == "postgres":
                return _postgres(cur, d, routine)
            return _mariadb(cur, d, routine)
        except pyodbc.Error as error:
            refused = refusal(error, source)
            if refused is None:
                raise
            raise refused from None
        except OverflowError:  # pyodbc binds no integer past 64 bits
            raise InvalidInput(f"a parameter of {routine.name} is out of range for source {source!r}") from None
        except UnicodeEncodeError:
            raise InvalidInput(
                f"a parameter of {routine.name} has characters the code page of source {source!r} cannot hold"
            ) from None
