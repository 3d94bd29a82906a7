"""Legacy databases over ODBC (pyodbc), any driver unixODBC can load.

Connections live in a SQLAlchemy ``QueuePool`` per source (size, overflow, recycle,
pre-ping).  pyodbc errors are translated here, once, into the service's error tree,
keeping the SQLSTATE and never the connection string.
"""
from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import pyodbc
from sqlalchemy import event, exc as sa_exc
from sqlalchemy.pool import QueuePool

from legacy_bridge.errors import BadRequest, SourceError, SourceTimeout, SourceUnavailable
from legacy_bridge.query import Condition, Query

from .base import Driver
from .sql import Dialect, compile_select, dialect_for

log = logging.getLogger(__name__)
pyodbc.pooling = False          # the SQLAlchemy pool owns connection reuse

_TEXT_TYPES = (pyodbc.SQL_CHAR, pyodbc.SQL_VARCHAR, pyodbc.SQL_LONGVARCHAR)
# 57014: PostgreSQL "query canceled"; 70100: MariaDB max_statement_time exceeded
_TIMEOUT_STATES = {"HYT00", "HYT01", "57014", "70100"}
_SESSION_TIMEOUT = {"postgres": "SET statement_timeout = {ms}",
                    "mariadb": "SET SESSION max_statement_time = {s}",
                    "mysql": "SET SESSION max_execution_time = {ms}"}


def translate(error: pyodbc.Error, source: str, connecting: bool = False) -> SourceError:
    """The service's error for a pyodbc error; the driver's message goes to the log only.

    ``connecting``: the error came from opening a connection, which is "unavailable"
    whatever the state (MariaDB Connector/ODBC reports a refused connection as HY000).
    """
    state = error.args[0] if error.args and isinstance(error.args[0], str) else None
    log.warning("source %s: ODBC error %s: %s", source, state, error)
    if state in _TIMEOUT_STATES:
        return SourceTimeout(f"source {source!r} did not answer in time", source, state)
    if connecting or (state or "").startswith("08") or isinstance(error, pyodbc.InterfaceError):
        return SourceUnavailable(f"source {source!r} cannot be reached", source, state)
    return SourceError(f"source {source!r} rejected the query", source, state)


def is_disconnect(error: pyodbc.Error) -> bool:
    state = error.args[0] if error.args and isinstance(error.args[0], str) else ""
    return state.startswith("08") or state in ("HY000",) and "closed" in str(error).lower()


def _stamp_checkin(dbapi_conn: Any, record: Any) -> None:
    if record is not None:
        record.info["checked_in"] = time.monotonic()


def _decoder(encoding: str) -> Callable[[bytes | None], str | None]:
    # Legacy code pages hold bytes the code page does not define (0x81 in cp1252):
    # those become U+FFFD instead of an error, so bad bytes never reach a client as a 500.
    return lambda raw: None if raw is None else raw.decode(encoding, "replace")


class OdbcDriver(Driver):
    """One ODBC data source: a DSN or a DSN-less connection string."""

    kind = "odbc"

    def __init__(self, name: str, options: dict[str, Any],
                 connect: Callable[..., Any] = pyodbc.connect) -> None:
        super().__init__(name, options)
        self._connect = connect
        self.connection_string = options["connection"]
        self.timeout = options.get("timeout", 30)
        self.connect_timeout = options.get("connect_timeout", 10)
        self.encoding = options.get("encoding")
        self.read_only = options.get("read_only", True)
        self.ping_query = options.get("ping_query", "SELECT 1")
        self._limit_syntax = options.get("limit_syntax", "auto")
        self._dialect: Dialect | None = None
        self._get_sql: dict[tuple, str] = {}
        pool = options.get("pool", {})
        self.pool = QueuePool(self._new_connection, pool_size=pool.get("size", 5),
                              max_overflow=pool.get("overflow", 10),
                              recycle=pool.get("recycle", 3600), timeout=pool.get("timeout", 10),
                              reset_on_return=None)
        if pool.get("pre_ping", True):
            event.listen(self.pool, "checkout", self._ping)
            event.listen(self.pool, "checkin", _stamp_checkin)

    @classmethod
    def check_options(cls, options: dict[str, Any]) -> list[tuple[str, str]]:
        problems = []
        known = {"kind", "connection", "timeout", "connect_timeout", "encoding", "read_only",
                 "ping_query", "limit_syntax", "pool"}
        problems += [(k, f"unknown key; known: {', '.join(sorted(known))}") for k in options if k not in known]
        if not isinstance(options.get("connection"), str) or not options.get("connection"):
            problems.append(("connection", "required: an ODBC connection string or DSN=name"))
        if options.get("limit_syntax", "auto") not in ("auto", "limit", "top", "fetch", "none"):
            problems.append(("limit_syntax", "expected auto, limit, top, fetch or none"))
        return problems

    # -- connections ----------------------------------------------------------------

    def _open(self, timeout: float) -> Any:
        return self._connect(self.connection_string, autocommit=True, timeout=max(1, int(timeout)),
                             readonly=self.read_only)

    def _new_connection(self) -> Any:
        conn = self._open(self.connect_timeout)
        self._set_timeout(conn)
        if self.encoding:
            decode = _decoder(self.encoding)
            for sql_type in _TEXT_TYPES:
                conn.add_output_converter(sql_type, decode)
            # and filter values go out as bytes of the same code page, so 'Café' matches
            conn.setencoding(encoding=self.encoding, ctype=pyodbc.SQL_CHAR)
        if self._dialect is None:
            self._dialect = dialect_for(conn.getinfo(pyodbc.SQL_DBMS_NAME),
                                        conn.getinfo(pyodbc.SQL_IDENTIFIER_QUOTE_CHAR),
                                        self._limit_syntax)
        return conn

    def _set_timeout(self, conn: Any) -> None:
        """The query timeout: the ODBC attribute, or the server's own setting where the
        driver refuses the attribute (psqlODBC)."""
        try:
            conn.timeout = max(1, int(self.timeout))
            return
        except pyodbc.Error:
            pass
        dbms = conn.getinfo(pyodbc.SQL_DBMS_NAME).lower()
        statement = _SESSION_TIMEOUT.get(next((k for k in _SESSION_TIMEOUT if k in dbms), ""))
        if statement is None:
            log.warning("source %s: no way to set a query timeout on %s", self.name, dbms)
            return
        conn.cursor().execute(statement.format(ms=int(self.timeout * 1000), s=self.timeout)).close()

    def _ping(self, dbapi_conn: Any, record: Any, proxy: Any) -> None:
        # checkout hook: a connection the database dropped while idle is replaced
        # (DisconnectionError makes the pool retry with a fresh one).
        checked_in = record.info.get("checked_in")
        if checked_in is not None and time.monotonic() - checked_in < 1.0:
            return           # used a moment ago: a ping would only double the round trips
        try:
            cur = dbapi_conn.cursor()
            cur.execute(self.ping_query).fetchall()
            cur.close()
        except pyodbc.Error as error:
            raise sa_exc.DisconnectionError(str(error)) from error

    @contextmanager
    def connection(self) -> Iterator[Any]:
        """A pooled connection; invalidated when the database dropped it."""
        try:
            proxy = self.pool.connect()
        except pyodbc.Error as error:
            raise translate(error, self.name, connecting=True) from None
        except sa_exc.TimeoutError:
            raise SourceUnavailable(f"source {self.name!r}: no free connection in the pool",
                                    self.name) from None
        try:
            yield proxy
        except pyodbc.Error as error:
            if is_disconnect(error):
                proxy.invalidate()
            raise translate(error, self.name) from None
        finally:
            proxy.close()

    @property
    def dialect(self) -> Dialect:
        if self._dialect is None:
            with self.connection():
                pass
        return self._dialect

    # -- reads ----------------------------------------------------------------------

    def _execute(self, cur: Any, sql: str, params: list[Any]) -> Any:
        try:
            return cur.execute(sql, params)
        except UnicodeEncodeError:
            raise BadRequest(f"a value has characters the code page of source {self.name!r} "
                             f"({self.encoding}) cannot hold") from None

    def fetch(self, target: dict[str, Any], query: Query, batch: int = 1000) -> Iterator[tuple]:
        sql, params = compile_select(self.dialect, target, query)
        with self.connection() as conn:
            cur = conn.cursor()
            try:
                self._execute(cur, sql, params)
                size = min(batch, query.limit + 1) if query.limit is not None else batch
                while rows := cur.fetchmany(size):
                    yield from rows
            finally:
                cur.close()

    def get(self, target: dict[str, Any], key: dict[str, Any], columns: list[str]) -> tuple | None:
        # The hot path of every record lookup: its SQL depends only on the shape, so it is
        # compiled once per (target, columns, key columns) and reused.
        shape = (tuple(target.items()), tuple(columns), tuple(key))
        sql = self._get_sql.get(shape)
        if sql is None:
            where = [Condition(column, "eq", None) for column in key]
            sql, _ = compile_select(self.dialect, target, Query(columns=columns, where=where, limit=1))
            self._get_sql[shape] = sql
        with self.connection() as conn:
            cur = conn.cursor()
            try:
                return self._execute(cur, sql, list(key.values())).fetchone()
            finally:
                cur.close()

    def probe(self, timeout: float) -> None:
        """Open a fresh connection (not a pooled one) and run the ping query."""
        try:
            conn = self._open(timeout)
        except pyodbc.Error as error:
            raise translate(error, self.name, connecting=True) from None
        try:
            try:
                conn.timeout = max(1, int(timeout))
            except pyodbc.Error:
                pass        # psqlODBC refuses the attribute; the ping is cheap anyway
            conn.cursor().execute(self.ping_query).fetchall()
        except pyodbc.Error as error:
            raise translate(error, self.name) from None
        finally:
            conn.close()

    def close(self) -> None:
        self.pool.dispose()

    def describe(self, table: str, sample: int = 200) -> dict[str, Any]:
        """The ODBC catalog of a table or view, and a sample of its rows (for introspection).

        Returns ``{"table", "kind" ("table"|"view"), "columns": [{"name", "type", "type_name",
        "size", "scale", "nullable"}], "key": [primary key columns], "sample": [rows]}``;
        ``type`` is a family: char, varchar, integer, decimal, float, date, time,
        timestamp, boolean or other.  ``table`` may be ``schema.table``.

        Raises:
            NotFound: the source has no table or view of that name.
        """
        import re
        from legacy_bridge.errors import NotFound

        by_code = {1: "char", -8: "char", 12: "varchar", -9: "varchar", -1: "varchar", -10: "varchar",
                   2: "decimal", 3: "decimal", 4: "integer", 5: "integer", -5: "integer", -6: "integer",
                   6: "float", 7: "float", 8: "float", 9: "date", 91: "date", 10: "time", 92: "time",
                   11: "timestamp", 93: "timestamp", -7: "boolean"}
        by_name = {"CHAR": "char", "CHARACTER": "char", "NCHAR": "char", "BPCHAR": "char",
                   "DECIMAL": "decimal", "NUMERIC": "decimal", "DEC": "decimal", "NUMBER": "decimal"}

        def column(row: Any) -> dict[str, Any]:
            type_name = str(row.type_name or "")
            words = type_name.upper().split("(")[0].split()
            family = by_name.get(words[0]) if words and "VARYING" not in words else None
            # SQLite reports CHAR(40) as SQL_VARCHAR and DECIMAL(11,2) with size 2: the
            # declared type text is the truth where it carries the numbers
            numbers = [int(n) for n in re.findall(r"\d+", type_name.partition("(")[2])]
            size, scale = (numbers + [None])[:2] if numbers else (row.column_size, row.decimal_digits)
            family = family or by_code.get(row.data_type, "other")
            return {"name": row.column_name, "type": family, "type_name": type_name, "size": size,
                    "scale": scale if family == "decimal" else None, "nullable": row.nullable != 0}

        schema, _, name = table.rpartition(".")
        with self.connection() as conn:
            cur = conn.cursor()
            # catalog arguments are patterns ('_' matches any character) and case rules
            # differ by backend: try the name as given, then upper and lower case
            for candidate in dict.fromkeys((name, name.upper(), name.lower())):
                tables = [t for t in cur.tables(table=candidate, schema=schema or None).fetchall()
                          if t.table_name == candidate]
                if tables:
                    break
            else:
                raise NotFound(f"source {self.name!r} has no table or view {table!r}", source=self.name)
            found = tables[0]
            columns = [column(r) for r in cur.columns(table=found.table_name, schema=found.table_schem).fetchall()
                       if r.table_name == found.table_name
                       and (r.table_schem or None) == (found.table_schem or None)]
            keys = sorted((r.key_seq, r.column_name) for r in
                          cur.primaryKeys(table=found.table_name, schema=found.table_schem).fetchall()
                          if r.table_name == found.table_name)
            cur.close()
        qualified = f"{schema}.{found.table_name}" if schema else found.table_name
        query = Query(columns=[c["name"] for c in columns], limit=max(0, int(sample)))
        rows = list(self.fetch({"table": qualified}, query)) if sample > 0 and columns else []
        return {"table": qualified, "kind": "view" if "VIEW" in str(found.table_type).upper() else "table",
                "columns": columns, "key": [c for _, c in keys], "sample": [tuple(r) for r in rows]}
