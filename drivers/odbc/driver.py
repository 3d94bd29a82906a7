"""Legacy databases over ODBC (pyodbc), any driver unixODBC can load.

Bounded reads (a page, a record) run on the source's connection string, each SQL text
on a cursor kept with its connection so the prepared statement is reused.  Unbounded
reads (exports) run on a second pool whose connection string adds ``stream_options``
(``UseDeclareFetch=1;Fetch=1000`` for psqlODBC): a server-side cursor costs extra
round trips that a page of 100 rows does not need.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pyodbc

from legacy_bridge.drivers import deadlines
from legacy_bridge.drivers.base import Driver
from legacy_bridge.drivers.odbc.catalog import describe, describe_routine
from legacy_bridge.drivers.odbc.failures import translate
from legacy_bridge.drivers.odbc.order import INT64, column_types
from legacy_bridge.drivers.odbc.pool import OdbcPool
from legacy_bridge.drivers.odbc.procedures import catalog_problems, check_values, routine_problems, run_routine
from legacy_bridge.drivers.odbc.quantiles import compile_quantiles
from legacy_bridge.drivers.odbc.sql import Dialect, compile_select, dialect_for
from legacy_bridge.drivers.odbc.turns import turn
from legacy_bridge.drivers.odbc.writes import delete_row, insert_rows, update_row
from legacy_bridge.errors import ConfigError, InvalidInput, NotFound
from legacy_bridge.query.legacy import ColumnType, Condition, NewKey, Quantiles, Query, Rows, find_column
from legacy_bridge.query.routines import Routine, RoutineResult

__all__ = ["OdbcDriver", "translate"]

KEYSET_BATCH = 1_000  # rows of one batch of an unbounded read the driver cannot step through (as a stream fetches)

OPTIONS = {
    "kind",
    "connection",
    "stream_options",
    "timeout",
    "connect_timeout",
    "encoding",
    "read_only",
    "ping_query",
    "limit_syntax",
    "pool",
}


def _close_cursor(pool: OdbcPool, conn: Any, cur: Any) -> None:
    """Close a stream's cursor (a round trip with a server-side cursor), within the
    deadline; a connection that cannot close it is not pooled again."""
    if conn.info.get("stuck"):
        return
    try:
        with turn(pool.timeout), pool.watched(conn):
            cur.close()
    except pyodbc.Error:
        conn.invalidate()


class OdbcDriver(Driver):
    """One ODBC data source: a DSN or a DSN-less connection string."""

    kind = "odbc"
    describes_columns = True
    describes_tables = True
    joins_tables = True
    writes_tables = True
    calls_routines = True
    int_range = INT64
    partitioning = "keys"

    def __init__(self, name: str, options: dict[str, Any], connect: Callable[..., Any] = pyodbc.connect) -> None:
        super().__init__(name, options)
        self._connect = connect
        self.encoding = options.get("encoding")
        self.pool = OdbcPool(name, options["connection"], options, connect)
        self._stream_pool: OdbcPool | None = None
        self._limit_syntax = options.get("limit_syntax", "auto")
        self._dialect: Dialect | None = None
        self._get_sql: dict[tuple, str] = {}
        self._types: dict[tuple, dict[str, ColumnType]] = {}
        #: what the catalog says of each routine's call: its problems, and its parameters
        self._routines: dict[tuple, tuple[list[str], dict[str, Any]]] = {}

    @classmethod
    def check_options(cls, options: dict[str, Any]) -> list[tuple[str, str]]:
        problems = [(k, f"unknown key; known: {', '.join(sorted(OPTIONS))}") for k in options if k not in OPTIONS]
        if not isinstance(options.get("connection"), str) or not options.get("connection"):
            problems.append(("connection", "required: an ODBC connection string or DSN=name"))
        if not isinstance(options.get("stream_options", ""), str):
            problems.append(("stream_options", "expected connection-string attributes, e.g. UseDeclareFetch=1"))
        if options.get("limit_syntax", "auto") not in ("auto", "limit", "top", "fetch", "none"):
            problems.append(("limit_syntax", "expected auto, limit, top, fetch or none"))
        return problems

    # -- connections ----------------------------------------------------------------

    @property
    def stream_pool(self) -> OdbcPool:
        extra = self.options.get("stream_options")
        if not extra:
            return self.pool
        if self._stream_pool is None:
            self._stream_pool = OdbcPool(
                self.name, self.options["connection"].rstrip(";") + ";" + extra, self.options, self._connect
            )
        return self._stream_pool

    def connection(self) -> Any:
        """A pooled connection (context manager); pyodbc errors come out translated."""
        return self.pool.connection()

    @property
    def dialect(self) -> Dialect:
        if self._dialect is None:
            with self.connection():
                pass
            self._dialect = dialect_for(self.pool.dbms_name or "", self.pool.quote_char, self._limit_syntax)
        return self._dialect

    # -- reads ----------------------------------------------------------------------

    def _execute(self, cur: Any, sql: str, params: list[Any]) -> Any:
        try:
            return cur.execute(sql, params)
        except UnicodeEncodeError:
            raise InvalidInput(
                f"a value has characters the code page of source {self.name!r} ({self.encoding}) cannot hold"
            ) from None
        except OverflowError:  # pyodbc cannot bind an integer beyond 64 bits
            raise InvalidInput(f"a value is out of range for source {self.name!r}") from None

    def _compares(self, target: dict[str, Any], query: Query) -> dict[str, str]:
        """How each column of ``query``'s order compares; a column that cannot be paged in order
        (found on first use when the source was down at start-up) is a config error."""
        ordered = list(query.order) + [k for bound in query.bounds for k in bound.order]
        if not ordered:
            return {}
        types = self.column_types(target)
        compares = {}
        for key in ordered:
            found = find_column(types, key.column)
            if found is not None and found.unsortable:
                raise ConfigError(
                    [
                        (
                            f"sources.{self.name}",
                            f"column {key.column} ({found.name}) is sorted "
                            f"on but cannot be paged in order: {found.unsortable}",
                        )
                    ],
                    "the source's column types",
                )
            compares[key.column] = found.compare if found is not None else "value"
        return compares

    def fetch(self, target: dict[str, Any], query: Query, batch: int = 1000) -> Rows:
        sql, params = compile_select(self.dialect, target, query, self._compares(target, query))
        if query.limit is not None:  # a page: one fetch on a reused statement
            pool = self.pool
            with pool.connection() as conn, pool.watched(conn), pool.statement(conn, sql) as cur:
                rows = self._execute(cur, sql, params).fetchmany(query.limit)
            yield from rows
            return
        pool = self.stream_pool
        with pool.connection() as conn:  # each batch within its own deadline
            positions = self._keyset_positions(query)
            if positions is not None and not pool.streams(bool(params)):
                yield from self._fetch_by_keyset(conn, target, query, positions)
                return
            cur = conn.cursor()
            try:
                with turn(pool.timeout), pool.watched(conn):
                    rows = self._execute(cur, sql, params).fetchmany(batch)
                while rows:
                    yield from rows
                    with turn(pool.timeout), pool.watched(conn):
                        rows = cur.fetchmany(batch)
            finally:
                _close_cursor(pool, conn, cur)

    @staticmethod
    def _keyset_positions(query: Query) -> list[int] | None:
        """Where each of ``query``'s order columns is read (what a keyset cursor keeps of it);
        None when one is not read, or there is no order."""
        if not query.order:
            return None
        columns = list(query.columns)
        positions = []
        for key in query.order:
            found = [i for i, c in enumerate(columns) if c == key.column or getattr(c, "column", None) == key.column]
            if not found:
                return None
            positions.append(found[0])
        return positions

    def _fetch_by_keyset(self, conn: Any, target: dict[str, Any], query: Query, positions: list[int]) -> Rows:
        """An unbounded read in keyset batches of KEYSET_BATCH rows, in one read transaction (one
        snapshot, as one statement would be), where the driver would read the whole result
        into memory at execute (:meth:`OdbcPool.streams`: a filtered SQLite export of 500,000
        rows held 260 MiB)."""
        pool = self.stream_pool
        batch = replace(query, limit=KEYSET_BATCH)
        raw = conn.dbapi_connection
        raw.autocommit = False  # the driver's BEGIN: every batch sees the same snapshot
        try:
            while True:
                sql, params = compile_select(self.dialect, target, batch, self._compares(target, batch))
                cur = conn.cursor()
                try:
                    with turn(pool.timeout), pool.watched(conn):
                        rows = self._execute(cur, sql, params).fetchall()
                finally:
                    cur.close()
                yield from rows
                if len(rows) < KEYSET_BATCH:
                    return
                batch = replace(batch, after=tuple(rows[-1][i] for i in positions))
        finally:
            try:
                raw.rollback()  # a read: nothing to keep
                raw.autocommit = True
            except pyodbc.Error:  # the link is gone: the error that ended the read says why
                conn.invalidate()

    def fetch_all(self, target: dict[str, Any], query: Query) -> list[tuple]:
        """A small read at once, as a page runs (its statement reused, no server-side cursor)."""
        sql, params = compile_select(self.dialect, target, query, self._compares(target, query))
        pool = self.pool
        with pool.connection() as conn, pool.watched(conn), pool.statement(conn, sql) as cur:
            return self._execute(cur, sql, params).fetchall()

    def key_quantiles(self, target: dict[str, Any], query: Query, parts: int) -> Quantiles:
        """Run boundaries computed by the database (:mod:`.quantiles`): at most ``parts`` rows."""
        sql, params = compile_quantiles(self.dialect, target, query, parts, self._compares(target, query))
        pool = self.pool
        with pool.connection() as conn, pool.watched(conn):
            cur = conn.cursor()
            try:
                rows = self._execute(cur, sql, params).fetchall()
            finally:
                cur.close()
        return Quantiles(int(rows[0][-1]) if rows else 0, [tuple(r)[:-1] for r in rows])

    def get(self, target: dict[str, Any], key: dict[str, Any], columns: list[str]) -> tuple | None:
        # The hot path of every record lookup: its SQL depends only on the shape, so it is
        # compiled once per (target, columns, key columns) and reused.
        shape = (tuple(target.items()), tuple(columns), tuple(key))
        sql = self._get_sql.get(shape)
        if sql is None:
            where = [Condition(column, "eq", None) for column in key]
            sql, _ = compile_select(self.dialect, target, Query(columns=columns, where=where, limit=1))
            self._get_sql[shape] = sql
        pool = self.pool
        with pool.connection() as conn, pool.watched(conn), pool.statement(conn, sql) as cur:
            return self._execute(cur, sql, list(key.values())).fetchone()

    # -- writes ---------------------------------------------------------------------

    def _dbms(self) -> str:
        self.dialect  # noqa: B018 - connects once, so the DBMS name is known
        return (self.pool.dbms_name or "").lower()

    def insert(
        self,
        target: dict[str, Any],
        rows: list[dict[str, Any]],
        key: NewKey,
        before_commit: Callable[[list[Any]], None] | None = None,
        read: tuple[list[str], list[str]] | None = None,
    ) -> list[Any]:
        dbms = self._dbms()
        return insert_rows(self.pool, self.dialect, dbms, target["table"], rows, key, before_commit, read)

    def update(
        self,
        target: dict[str, Any],
        key: dict[str, Any],
        values: dict[str, Any],
        columns: list[str],
        check: Callable[[tuple], None] | None = None,
    ) -> tuple[tuple, tuple] | None:
        dbms = self._dbms()
        return update_row(self.pool, self.dialect, dbms, target["table"], key, values, columns, check)

    def delete(
        self,
        target: dict[str, Any],
        key: dict[str, Any],
        columns: list[str],
        check: Callable[[tuple], None] | None = None,
    ) -> tuple | None:
        dbms = self._dbms()
        return delete_row(self.pool, self.dialect, dbms, target["table"], key, columns, check)

    def routine_problems(self, routine: Routine) -> list[str]:
        """Asks the source what it is (SQLite has no procedures) and, once per routine, how its
        catalog lists the routine's arguments (order, names, modes)."""
        self._dbms()  # connects once, so the DBMS name is known
        problems = routine_problems(self.pool.dbms_name or "", routine)
        if problems:
            return problems
        known = self._routines.get(routine.signature)
        if known is None:
            try:
                description = self.describe_routine(routine.name)
            except NotFound as error:
                return [error.detail]
            known = self._routines[routine.signature] = (catalog_problems(routine, description), description)
        return known[0]

    def call_routine(self, routine: Routine) -> RoutineResult:
        problems = self.routine_problems(routine)
        if problems:
            raise ConfigError([(f"sources.{self.name}", p) for p in problems], "the source's catalog")
        check_values(routine, self._routines[routine.signature][1], self._dbms())
        return run_routine(self.pool, self.dialect, self._dbms(), self.name, routine)

    def probe(self, timeout: float) -> None:
        """Run the ping query on a pooled connection, within ``timeout``."""
        pool = self.pool
        with deadlines.budget(timeout), pool.connection() as conn, pool.watched(conn):
            cur = conn.cursor()
            try:
                cur.execute(pool.ping_query).fetchall()
            finally:
                cur.close()

    def column_types(self, target: dict[str, Any]) -> dict[str, ColumnType]:
        """How the database orders each column of ``target`` (see :mod:`odbc_order`), from
        queries that return no row; asked once per target."""
        key = tuple(sorted(target.items()))
        found = self._types.get(key)
        if found is None:
            dialect = self.dialect
            with self.connection() as conn:
                found = self._types[key] = column_types(conn, dialect, self.pool.dbms_name or "", target)
        return found

    def known_column_types(self, target: dict[str, Any]) -> dict[str, ColumnType]:
        return self._types.get(tuple(sorted(target.items())), {})

    def describe(self, table: str, sample: int = 200) -> dict[str, Any]:
        """The catalog of ``table`` and a sample of its rows (see :func:`odbc_catalog.describe`);
        each column also says how it orders: ``compare`` and ``unsortable`` (see ColumnType)."""
        description = describe(self, table, sample)
        types = self.column_types({"table": description["table"]}) if description["columns"] else {}
        for column in description["columns"]:
            found = find_column(types, column["name"])
            column["compare"] = found.compare if found else "value"
            column["unsortable"] = found.unsortable if found else None
        return description

    def describe_routine(self, name: str) -> dict[str, Any]:
        """The parameter list of procedure or function ``name`` (see :func:`catalog.describe_routine`)."""
        return describe_routine(self, name, self._dbms())

    def pool_usage(self) -> tuple[int, int]:
        pools = [self.pool] + ([self._stream_pool] if self._stream_pool is not None else [])
        in_use, size = zip(*(p.usage() for p in pools))
        return sum(in_use), sum(size)

    def close(self) -> None:
        self.pool.dispose()
        if self._stream_pool is not None:
            self._stream_pool.dispose()
