"""pyodbc connections of one ODBC source: a SQLAlchemy ``QueuePool`` and what each
connection needs before use (query timeout, legacy code page), plus the one place
pyodbc errors become the service's errors (keeping the SQLSTATE, never the
connection string).

Every call is bounded on the client side (:mod:`.deadlines`): a connect runs on a
helper thread, abandoned at its deadline; each query, fetch and pre-ping runs under the
watchdog, which shuts the connection's socket (:mod:`.odbc_sockets`) down at the
deadline.  A connection whose call was cut that way is closed, never pooled again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import pyodbc
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.pool import QueuePool

from legacy_bridge.drivers import deadlines
from legacy_bridge.drivers.odbc.failures import is_disconnect, timed_out, translate
from legacy_bridge.drivers.odbc.sockets import (
    SocketHandle,
    connect_with_socket,
    driver_family,
    server_port,
    with_socket_timeouts,
)
from legacy_bridge.errors import SourceTimeout, SourceUnavailable

log = logging.getLogger("legacy_bridge.drivers.odbc")
pyodbc.pooling = False  # the SQLAlchemy pool owns connection reuse

_TEXT_TYPES = (pyodbc.SQL_CHAR, pyodbc.SQL_VARCHAR, pyodbc.SQL_LONGVARCHAR)
_SESSION_TIMEOUT = {
    "postgres": "SET statement_timeout = {ms}",
    "mariadb": "SET SESSION max_statement_time = {s}",
    "mysql": "SET SESSION max_execution_time = {ms}",
}
STATEMENTS_PER_CONNECTION = 32


def _close_quietly(conn: Any) -> None:
    try:
        conn.close()
    except pyodbc.Error:
        pass


def _steps(dbms: str, driver: str, version: str, connection_string: str) -> tuple[bool, bool]:
    """Whether a driver reads a result set as it is fetched, for a statement with and without
    bound parameters.  The SQLite ODBC driver steps only with ``StepAPI=1`` and no parameter;
    MariaDB Connector/ODBC before 3.1.17 reads every result whole, ``NO_CACHE`` or not."""
    dbms = dbms.lower()
    if "sqlite" in dbms:
        stepped = "stepapi=1" in connection_string.lower().replace(" ", "")
        return False, stepped
    if "maodbc" in driver.lower():
        parts = tuple(int(p) for p in version.split(".")[:3] if p.isdigit())
        return (parts >= (3, 1, 17),) * 2
    return True, True


def _stamp_checkin(dbapi_conn: Any, record: Any) -> None:
    if record is not None:
        record.info["checked_in"] = time.monotonic()


def _decoder(encoding: str) -> Callable[[bytes | None], str | None]:
    # Legacy code pages hold bytes the code page does not define (0x81 in cp1252):
    # those become U+FFFD instead of an error, so bad bytes never reach a client as a 500.
    return lambda raw: None if raw is None else raw.decode(encoding, "replace")


class _Watched:
    """The context manager of :meth:`OdbcPool.watched` (a class: it runs on every query)."""

    __slots__ = ("info", "deadline", "watch")

    def __init__(self, info: dict, deadline: float) -> None:
        self.info = info  # the pooled connection's: its socket, and "stuck"
        self.deadline = deadline

    def __enter__(self) -> None:
        self.watch = deadlines.WATCHDOG.arm(self.deadline, self.info["socket"].shutdown)

    def __exit__(self, *exc: object) -> None:
        if deadlines.WATCHDOG.disarm(self.watch):
            self.info["stuck"] = True


_UNWATCHED = nullcontext()


class OdbcPool:
    """Pooled connections to one connection string, set up for the source's options."""

    def __init__(
        self, source: str, connection_string: str, options: dict[str, Any], connect: Callable[..., Any]
    ) -> None:
        self.source = source
        self.connection_string = connection_string
        self.family = driver_family(connection_string, pyodbc.dataSources)
        self._port = server_port(connection_string, self.family)
        self._connect = connect
        self.timeout = options.get("timeout", 30)
        self.connect_timeout = options.get("connect_timeout", 10)
        self.encoding = options.get("encoding")
        self.read_only = options.get("read_only", True)
        self.ping_query = options.get("ping_query", "SELECT 1")
        self.dbms_name: str | None = None  # known after the first connection
        self.steps_bound = self.steps_unbound = True  # see streams()
        self.quote_char = '"'
        self.reuse_statements = False
        self._opened = threading.local()  # a new connection's socket, creator -> connect event
        self._unwatched_logged = False
        self._connect_string = with_socket_timeouts(connection_string, self.family, self.timeout, self.connect_timeout)
        pool = options.get("pool", {})
        self.pool = QueuePool(
            self._new_connection,
            pool_size=pool.get("size", 5),
            max_overflow=pool.get("overflow", 10),
            recycle=pool.get("recycle", 3600),
            timeout=pool.get("timeout", 10),
            reset_on_return=None,
        )
        event.listen(self.pool, "connect", self._keep_socket)
        if pool.get("pre_ping", True):
            event.listen(self.pool, "checkout", self._ping)
            event.listen(self.pool, "checkin", _stamp_checkin)

    def open(self, timeout: float) -> Any:
        """A raw connection outside the pool (catalog reads)."""
        return self._connect(
            self._connect_string, autocommit=True, timeout=max(1, int(timeout)), readonly=self.read_only
        )

    def _new_connection(self) -> Any:
        """The pool's creator: a connection set up for use, within the connect timeout and
        the current call's deadline (the connect is abandoned past them: a 504).

        A SQLite file is opened in place: no network to wait on, and a process that never
        starts a thread keeps the C library's faster single-threaded paths (sync workers
        serving SQLite only, 3-5 % on a page)."""
        if self.family == "sqlite":
            conn = self.open(self.connect_timeout)
            try:
                self._set_up(conn)
            except BaseException:
                _close_quietly(conn)
                raise
            return conn
        # a little past the driver's own login timeout, so that its "cannot connect" comes first
        deadline = min(time.monotonic() + self.connect_timeout + deadlines.GRACE, self.deadline())
        try:
            conn, handle = deadlines.run_bounded(
                lambda: self._open_set_up(deadline),
                deadline,
                lambda opened: _close_quietly(opened[0]),
                name=f"legacy-bridge-connect-{self.source}",
            )
        except (deadlines.Abandoned, TimeoutError):
            raise timed_out(self.source, "abandoned") from None
        self._opened.handle = handle
        return conn

    def _keep_socket(self, dbapi_conn: Any, record: Any) -> None:
        # "connect" event, right after the creator in the same thread
        handle, self._opened.handle = getattr(self._opened, "handle", None), None
        record.info["socket"] = handle
        if (
            handle is None
            and not self._unwatched_logged
            and self.family != "sqlite"
            and "sqlite" not in (self.dbms_name or "").lower()
        ):
            self._unwatched_logged = True
            log.warning(
                "source %s: no socket found for its ODBC connection; its calls are bounded only by "
                "the driver's own timeouts",
                self.source,
            )

    def _open_set_up(self, deadline: float) -> tuple[Any, SocketHandle | None]:
        conn, handle = connect_with_socket(
            lambda: self.open(self.connect_timeout), self._port, deadline, _close_quietly
        )
        try:
            if handle is None:
                self._set_up(conn)
            else:  # the session set-up is a query: bounded like any other
                with deadlines.WATCHDOG.watching(deadline, handle.shutdown):
                    self._set_up(conn)
        except BaseException:
            _close_quietly(conn)
            raise
        return conn, handle

    def _set_up(self, conn: Any) -> None:
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
            self.steps_bound, self.steps_unbound = _steps(
                self.dbms_name,
                conn.getinfo(pyodbc.SQL_DRIVER_NAME),
                conn.getinfo(pyodbc.SQL_DRIVER_VER),
                self._connect_string,
            )

    def streams(self, bound: bool) -> bool:
        """Whether a statement (``bound``: with parameters) is read as it is fetched, not
        whole at execute; known after the first connection (True before it)."""
        return self.steps_bound if bound else self.steps_unbound

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

    def deadline(self) -> float:
        """When the current call must end: its budget, or (a stream's next batch) the
        timeout and a short grace from now, so a live server's own timeout comes first."""
        return deadlines.deadline(self.timeout + deadlines.GRACE)

    def _ping(self, dbapi_conn: Any, record: Any, proxy: Any) -> None:
        # checkout hook: a connection the database dropped while idle is replaced
        # (DisconnectionError makes the pool retry with a fresh one).
        checked_in = record.info.get("checked_in")
        if checked_in is not None and time.monotonic() - checked_in < 1.0:
            return  # used a moment ago: a ping would only double the round trips
        handle = record.info.get("socket")
        watch = deadlines.WATCHDOG.arm(self.deadline(), handle.shutdown) if handle is not None else None
        failed: pyodbc.Error | None = None
        try:
            cur = dbapi_conn.cursor()
            cur.execute(self.ping_query).fetchall()
            cur.close()
        except pyodbc.Error as error:
            failed = error
        finally:
            cut = watch is not None and deadlines.WATCHDOG.disarm(watch)
        if cut:
            raise timed_out(self.source, "closed")  # the pool closes the connection
        if failed is not None:
            raise sa_exc.DisconnectionError(str(failed)) from failed

    def watched(self, proxy: Any) -> _Watched | nullcontext:
        """Bound what runs inside (a ``with`` block) by the current deadline: the watchdog
        shuts the connection's socket down at it, and the connection is then discarded."""
        info = proxy.info
        if info.get("socket") is None:
            return _UNWATCHED  # a file (SQLite), or a socket not found
        return _Watched(info, self.deadline())

    @contextmanager
    def connection(self) -> Iterator[Any]:
        """A pooled connection; invalidated when the database dropped it or a call on it
        was cut at its deadline (see :meth:`watched`)."""
        if self.deadline() <= time.monotonic():
            raise SourceTimeout(f"source {self.source!r} did not answer in time", self.source)
        try:
            proxy = self.pool.connect()
        except pyodbc.Error as error:
            raise translate(error, self.source, connecting=True) from None
        except sa_exc.TimeoutError:
            raise SourceUnavailable(f"source {self.source!r}: no free connection in the pool", self.source) from None
        info = proxy.info
        try:
            yield proxy
        except pyodbc.Error as error:
            if info.get("stuck"):
                raise timed_out(self.source, "closed") from None
            if is_disconnect(error):
                if proxy.is_valid:  # a transaction that could not roll back invalidated it already
                    proxy.invalidate()
            else:
                proxy.info.pop("statements", None)  # a failed cursor is not reused
            raise translate(error, self.source) from None
        finally:
            if info.get("stuck") and proxy.is_valid:
                proxy.invalidate()  # its socket is shut down: never pooled again
            proxy.close()

    @contextmanager
    def statement(self, proxy: Any, sql: str) -> Iterator[Any]:
        """A cursor for one bounded read of ``sql``.

        Where it is safe, the cursor is kept with the connection: executing the same text
        again reuses the prepared statement (psqlODBC: one round trip instead of two).
        SQLite keeps a read lock while a statement lives, which would block the legacy
        application's writers, so there the cursor is closed after each read.
        """
        cur = self.kept_cursor(proxy, sql)
        if cur is None:
            cur = proxy.cursor()
            try:
                yield cur
            finally:
                cur.close()
            return
        yield cur
        cur.nextset()  # release the result set, keep the statement

    def kept_cursor(self, proxy: Any, sql: str) -> Any | None:
        """The cursor kept with ``proxy``'s connection to run ``sql`` (made at its first use);
        None where statements are not kept (see :meth:`statement`).  pyodbc skips preparing
        only when it is given the very same str object as last time: callers intern ``sql``."""
        if not self.reuse_statements:
            return None
        statements: OrderedDict = proxy.info.setdefault("statements", OrderedDict())
        cur = statements.get(sql)
        if cur is None:
            cur = statements[sql] = proxy.cursor()
            if len(statements) > STATEMENTS_PER_CONNECTION:
                statements.popitem(last=False)[1].close()
        else:
            statements.move_to_end(sql)
        return cur

    @staticmethod
    def forget_statements(proxy: Any) -> None:
        """Close the cursors kept with ``proxy``'s connection (after a failed statement)."""
        for cur in proxy.info.pop("statements", {}).values():
            try:
                cur.close()
            except pyodbc.Error:
                pass

    def usage(self) -> tuple[int, int]:
        """``(connections checked out, pool size)``, for the pool gauges."""
        return self.pool.checkedout(), self.pool.size()

    def dispose(self) -> None:
        self.pool.dispose()
