"""pyodbc connections of one ODBC source: a SQLAlchemy ``QueuePool`` and what each
connection needs before use (query timeout, legacy code page), plus the one place
pyodbc errors become the service's errors (keeping the SQLSTATE, never the
connection string).
"""
from __future__ import annotations

import logging
import time
from collections import OrderedDict
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import pyodbc
from sqlalchemy import event, exc as sa_exc
from sqlalchemy.pool import QueuePool

from legacy_bridge.errors import SourceError, SourceTimeout, SourceUnavailable

log = logging.getLogger("legacy_bridge.drivers.odbc")
pyodbc.pooling = False          # the SQLAlchemy pool owns connection reuse

_TEXT_TYPES = (pyodbc.SQL_CHAR, pyodbc.SQL_VARCHAR, pyodbc.SQL_LONGVARCHAR)
# 57014: PostgreSQL "query canceled"; 70100: MariaDB max_statement_time exceeded
_TIMEOUT_STATES = {"HYT00", "HYT01", "57014", "70100"}
_SESSION_TIMEOUT = {"postgres": "SET statement_timeout = {ms}",
                    "mariadb": "SET SESSION max_statement_time = {s}",
                    "mysql": "SET SESSION max_execution_time = {ms}"}
STATEMENTS_PER_CONNECTION = 32


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


class OdbcPool:
    """Pooled connections to one connection string, set up for the source's options."""

    def __init__(self, source: str, connection_string: str, options: dict[str, Any],
                 connect: Callable[..., Any]) -> None:
        self.source = source
        self.connection_string = connection_string
        self._connect = connect
        self.timeout = options.get("timeout", 30)
        self.connect_timeout = options.get("connect_timeout", 10)
        self.encoding = options.get("encoding")
        self.read_only = options.get("read_only", True)
        self.ping_query = options.get("ping_query", "SELECT 1")
        self.dbms_name: str | None = None          # known after the first connection
        self.quote_char = '"'
        self.reuse_statements = False
        pool = options.get("pool", {})
        self.pool = QueuePool(self._new_connection, pool_size=pool.get("size", 5),
                              max_overflow=pool.get("overflow", 10),
                              recycle=pool.get("recycle", 3600), timeout=pool.get("timeout", 10),
                              reset_on_return=None)
        if pool.get("pre_ping", True):
            event.listen(self.pool, "checkout", self._ping)
            event.listen(self.pool, "checkin", _stamp_checkin)

    def open(self, timeout: float) -> Any:
        """A raw connection outside the pool (probes, catalog reads)."""
        return self._connect(self.connection_string, autocommit=True, timeout=max(1, int(timeout)),
                             readonly=self.read_only)

    def _new_connection(self) -> Any:
        conn = self.open(self.connect_timeout)
        self._set_timeout(conn)
        if self.encoding:
            decode = _decoder(self.encoding)
            for sql_type in _TEXT_TYPES:
                conn.add_output_converter(sql_type, decode)
            # and filter values go out as bytes of the same code page, so 'Café' matches
            conn.setencoding(encoding=self.encoding, ctype=pyodbc.SQL_CHAR)
        if self.dbms_name is None:
            self.quote_char = conn.getinfo(pyodbc.SQL_IDENTIFIER_QUOTE_CHAR)
            self.dbms_name = conn.getinfo(pyodbc.SQL_DBMS_NAME)
            self.reuse_statements = "sqlite" not in self.dbms_name.lower()
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
            log.warning("source %s: no way to set a query timeout on %s", self.source, dbms)
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
            raise translate(error, self.source, connecting=True) from None
        except sa_exc.TimeoutError:
            raise SourceUnavailable(f"source {self.source!r}: no free connection in the pool",
                                    self.source) from None
        try:
            yield proxy
        except pyodbc.Error as error:
            if is_disconnect(error):
                proxy.invalidate()
            else:
                proxy.info.pop("statements", None)    # a failed cursor is not reused
            raise translate(error, self.source) from None
        finally:
            proxy.close()

    @contextmanager
    def statement(self, proxy: Any, sql: str) -> Iterator[Any]:
        """A cursor for one bounded read of ``sql``.

        Where it is safe, the cursor is kept with the connection: executing the same text
        again reuses the prepared statement (psqlODBC: one round trip instead of two).
        SQLite keeps a read lock while a statement lives, which would block the legacy
        application's writers, so there the cursor is closed after each read.
        """
        if not self.reuse_statements:
            cur = proxy.cursor()
            try:
                yield cur
            finally:
                cur.close()
            return
        statements: OrderedDict = proxy.info.setdefault("statements", OrderedDict())
        cur = statements.get(sql)
        if cur is None:
            cur = statements[sql] = proxy.cursor()
            if len(statements) > STATEMENTS_PER_CONNECTION:
                statements.popitem(last=False)[1].close()
        else:
            statements.move_to_end(sql)
        yield cur
        cur.nextset()                   # release the result set, keep the statement

    def usage(self) -> tuple[int, int]:
        """``(connections checked out, pool size)``, for the pool gauges."""
        return self.pool.checkedout(), self.pool.size()

    def dispose(self) -> None:
        self.pool.dispose()
