"""Writes on ODBC tables: INSERT, UPDATE and DELETE, each call one transaction.

Only configured identifiers reach the SQL text, every value is a ``?`` parameter.  A new
row's key comes from the client, the table's identity column or a sequence (read back with
``RETURNING``: PostgreSQL, MariaDB 10.5+, SQLite 3.35+), or ``max + 1`` as many legacy
applications do: computed in the INSERT itself, and tried again when a concurrent writer
took the same number (a duplicate key, or a deadlock between the two).  An update or delete
first reads the row under a row lock (``FOR UPDATE``; SQLite writes one at a time) and hands
it to ``check`` (the If-Match precondition) before it changes anything.  A transaction the
database rolled back to resolve a conflict (deadlock, serialization failure, SQLite busy) is
run again, whole, a few times; a connection lost mid-write is never retried (the commit may
or may not have happened): it is the caller's 503/504.
"""

from __future__ import annotations

import logging
import random
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pyodbc

from legacy_bridge.drivers.odbc.pool import OdbcPool
from legacy_bridge.drivers.odbc.sql import Dialect
from legacy_bridge.errors import ConfigError, ConstraintViolated, DuplicateKey, WriteConflict
from legacy_bridge.query.legacy import NewKey

__all__ = ["insert_rows", "update_row", "delete_row", "ATTEMPTS"]

log = logging.getLogger(__name__)
ATTEMPTS = 8  # runs of a transaction the database rolled back to resolve a conflict
_DUPLICATE = ("23000", "23505", "23P01")  # integrity: duplicate key (MariaDB, PostgreSQL)
_RETRY_STATES = ("40001", "40P01", "HY008")  # serialization failure, deadlock


def _state(error: pyodbc.Error) -> str:
    return error.args[0] if error.args and isinstance(error.args[0], str) else ""


def _busy(error: pyodbc.Error) -> bool:
    """SQLite's "database is locked" (the SQLite ODBC driver reports it as HY000 + text)."""
    text = str(error).lower()
    return "database is locked" in text or "database table is locked" in text


def _retryable(error: pyodbc.Error) -> bool:
    return _state(error) in _RETRY_STATES or _busy(error) or "deadlock" in str(error).lower()


def _duplicate(error: pyodbc.Error) -> bool:
    text = str(error).lower()
    if "unique constraint failed" in text or "must be unique" in text:  # SQLite, whose driver says HY000
        return True
    return _state(error) in _DUPLICATE and ("duplicate" in text or "unique" in text or "primary" in text)


def _constraint(error: pyodbc.Error) -> bool:
    return _state(error).startswith("23") or "constraint failed" in str(error).lower()


@contextmanager
def _transaction(pool: OdbcPool) -> Iterator[tuple[Any, Any]]:
    """``(proxy, raw)``: a pooled connection in a transaction, committed when the block ends,
    rolled back when it raises; the connection goes back to the pool in autocommit."""
    with pool.connection() as proxy, pool.watched(proxy):
        raw = proxy.dbapi_connection
        raw.autocommit = False
        try:
            yield proxy, raw
            raw.commit()
        except BaseException:
            pool.forget_statements(proxy)  # a cursor whose statement failed is not run again
            try:
                raw.rollback()
            except pyodbc.Error:
                proxy.invalidate()  # a connection that cannot roll back is not pooled again
            raise
        finally:
            if proxy.is_valid:
                raw.autocommit = True


@contextmanager
def transaction(pool: OdbcPool) -> Iterator[Any]:
    """A fresh cursor in a transaction (see :func:`_transaction`), closed after it."""
    with _transaction(pool) as (_, raw):
        cur = raw.cursor()
        try:
            yield cur
        finally:
            try:
                cur.close()
            except pyodbc.Error:  # its connection is gone (invalidated): the first error tells why
                pass


class _Statements:
    """What a write runs its statements on: each statement text on the cursor the pool keeps
    for it with the connection, so a statement run before is not prepared again (psqlODBC:
    a one-row INSERT on a fresh cursor takes 6 round trips, Parse, Describe and DEALLOCATE
    among them; on its kept cursor 3).  ``fetchone`` reads the last statement's result.
    Where the pool keeps no statements (SQLite), one fresh cursor serves the transaction."""

    def __init__(self, pool: OdbcPool, proxy: Any, raw: Any) -> None:
        self.pool, self.proxy, self.raw = pool, proxy, raw
        self.fresh: Any = None
        self.last: Any = None

    def _cursor(self, sql: str) -> Any:
        cur = self.pool.kept_cursor(self.proxy, sql)
        if cur is None:
            cur = self.fresh = self.fresh or self.raw.cursor()
        elif self.last is not None and self.last is not cur:
            self.last.nextset()  # its result released: one open result per connection (MariaDB)
        self.last = cur
        return cur

    # interned: pyodbc runs a cursor's prepared statement again only for the very same str object
    def execute(self, sql: str, params: Any) -> Any:
        sql = sys.intern(sql)
        return self._cursor(sql).execute(sql, params)

    def executemany(self, sql: str, params: Any) -> Any:
        sql = sys.intern(sql)
        return self._cursor(sql).executemany(sql, params)

    def fetchone(self) -> Any:
        return self.last.fetchone()

    def close(self) -> None:
        if self.fresh is not None:
            try:
                self.fresh.close()
            except pyodbc.Error:  # its connection is gone (invalidated): the first error tells why
                pass


def retried(pool: OdbcPool, work: Callable[[Any], Any]) -> Any:
    """``work(cursor)`` in a transaction, run again while the database rolls it back to
    resolve a conflict with a concurrent writer (each run sees the data afresh)."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with _transaction(pool) as (proxy, raw):
                statements = _Statements(pool, proxy, raw)
                try:
                    return work(statements)
                finally:
                    statements.close()
        except _Conflicted as conflict:
            if attempt == ATTEMPTS:
                raise WriteConflict(
                    f"the write kept meeting concurrent writers ({conflict.reason}); try again"
                ) from None
            log.info("write rolled back by %s (attempt %d of %d): run again", conflict.reason, attempt, ATTEMPTS)
            time.sleep(random.uniform(0, 0.01 * attempt))  # apart, so the same writers do not meet again
    raise AssertionError("unreachable")


class _Conflicted(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _execute(cur: Any, sql: str, params: list[Any], retry_duplicate: bool = False, many: bool = False) -> Any:
    """Run one statement (``many``: once per parameter row); a conflict the transaction can be
    run again for raises _Conflicted, a duplicate key (not taken by max + 1) is the caller's 409."""
    try:
        return cur.executemany(sql, params) if many else cur.execute(sql, params)
    except pyodbc.Error as error:
        if _retryable(error):
            raise _Conflicted("a deadlock or a locked table") from None
        if _duplicate(error):
            if retry_duplicate:
                raise _Conflicted("a key another writer took") from None
            raise DuplicateKey("a record with this key exists already") from None
        if _constraint(error):
            raise ConstraintViolated(
                "the source refused the write: a constraint of the table does not hold", legacy_code=_state(error)
            ) from None
        raise


def _returning(d: Dialect, key: NewKey, dbms: str) -> str:
    # the SQLite ODBC driver returns no rows from INSERT ... RETURNING: last_insert_rowid() there
    return "" if "sqlite" in dbms else f" RETURNING {d.ident(key.column)}"


def _insert_sql(d: Dialect, table: str, columns: list[str], key: NewKey, dbms: str) -> tuple[str, bool]:
    """The INSERT of one row of ``columns`` (``?`` each) and whether it returns the new key."""
    names = [d.ident(c) for c in columns]
    marks = ["?"] * len(columns)
    if key.strategy == "client":
        return f"INSERT INTO {d.ident(table)} ({', '.join(names)}) VALUES ({', '.join(marks)})", False
    if key.strategy == "identity":
        return (
            f"INSERT INTO {d.ident(table)} ({', '.join(names)}) VALUES ({', '.join(marks)})" + _returning(d, key, dbms),
            True,
        )
    ident = d.ident(key.column)
    if key.strategy == "sequence":  # max_plus_one and procedure insert their key as the client's
        assert key.name is not None
        nextval = f"nextval('{key.name}')" if "postgres" in dbms else f"NEXTVAL({d.ident(key.name)})"
        return (
            f"INSERT INTO {d.ident(table)} ({ident}, {', '.join(names)}) VALUES ({nextval}, {', '.join(marks)})"
            + _returning(d, key, dbms),
            True,
        )
    raise AssertionError(f"no single INSERT for key strategy {key.strategy}")


def insert_rows(
    pool: OdbcPool,
    d: Dialect,
    dbms: str,
    table: str,
    rows: list[dict[str, Any]],
    key: NewKey,
    before_commit: Callable[[list[Any]], None] | None = None,
    read: tuple[list[str], list[str]] | None = None,
) -> list[Any]:
    """Insert ``rows`` (legacy column -> value), all or none; the new key value of each, also
    handed to ``before_commit`` while the transaction is still open.  With ``read`` (the key
    columns, the columns to read): each new row as stored, read in the same transaction."""

    def work(cur: Any) -> list[Any]:
        if not rows:
            return []
        _write_lock(cur, d, dbms, table, rows[0] if key.strategy == "client" else {key.column: None})
        given = key.strategy in ("client", "max_plus_one", "procedure")
        if read is not None and given and len(rows) == 1 and "postgres" in dbms:
            # PostgreSQL answers the one row as stored with its INSERT (RETURNING): no 2nd statement
            ((new, stored),) = _insert_given(cur, rows, returning=read[1])
            if before_commit is not None:
                before_commit([new])
            return [stored]
        keys = _insert_given(cur, rows) if given else [_insert_one(cur, row) for row in rows]
        if before_commit is not None:
            before_commit(keys)
        if read is None:
            return keys
        key_columns, columns = read
        return [
            _locked_row(cur, d, dbms, table, {c: new if c == key.column else row.get(c) for c in key_columns}, columns)
            for row, new in zip(rows, keys)
        ]

    def _insert_given(cur: Any, given: list[dict[str, Any]], returning: list[str] | None = None) -> list[Any]:
        """Rows whose key is known before the INSERT: the client's, or max + 1 (as the legacy
        applications number theirs; a concurrent writer taking the same numbers makes the
        INSERT a duplicate key, and the whole transaction runs again).  One statement, run
        for every row."""
        if key.strategy == "max_plus_one":
            ident = d.ident(key.column)
            if "sqlite" in dbms or d.limit != "limit":  # SQLite: its write lock is taken already
                _execute(cur, f"SELECT COALESCE(MAX({ident}), 0) FROM {d.ident(table)}", [])
            else:  # the highest row locked (MariaDB: and the gap after it): concurrent writers queue
                _execute(cur, f"SELECT {ident} FROM {d.ident(table)} ORDER BY {ident} DESC LIMIT 1 FOR UPDATE", [])
            top = cur.fetchone()
            first = int(top[0] if top is not None and top[0] is not None else 0) + 1
            given = [{**row, key.column: first + i} for i, row in enumerate(given)]
        elif key.strategy == "procedure":  # in this transaction: a rollback gives its numbers back
            given = [{**row, key.column: _handed_out(cur)} for row in given]
        columns = list(given[0])
        sql, _ = _insert_sql(d, table, columns, NewKey(key.column), dbms)
        params = [[row.get(c) for c in columns] for row in given]
        many = len(params) > 1
        if returning is not None:  # one row: (its key, the row as stored)
            sql += " RETURNING " + ", ".join(d.ident(c) for c in returning)
            _execute(cur, sql, params[0], retry_duplicate=key.strategy == "max_plus_one")
            return [(given[0][key.column], tuple(cur.fetchone()))]
        _execute(cur, sql, params if many else params[0], retry_duplicate=key.strategy == "max_plus_one", many=many)
        return [row[key.column] for row in given]

    def _handed_out(cur: Any) -> Any:
        """The next number of the legacy procedure that hands out keys (its one OUT parameter)."""
        assert key.name is not None
        if "postgres" in dbms:  # a procedure with one INOUT parameter answers it as a row
            _execute(cur, f"CALL {d.ident(key.name)}(NULL)", [])
            return cur.fetchone()[0]
        if "mariadb" in dbms or "mysql" in dbms:
            _execute(cur, f"CALL {d.ident(key.name)}(@lb_new_key)", [])
            _execute(cur, "SELECT @lb_new_key", [])
            return cur.fetchone()[0]
        raise ConfigError(
            [("writes.key", f"{dbms or 'this database'} has no stored procedures: use another key strategy")]
        )

    def _insert_one(cur: Any, row: dict[str, Any]) -> Any:
        """A row whose key the database gives (identity, sequence), read back."""
        columns = [c for c in row if c != key.column]
        sql, _ = _insert_sql(d, table, columns, key, dbms)
        _execute(cur, sql, [row[c] for c in columns])
        if "sqlite" in dbms:
            _execute(cur, "SELECT last_insert_rowid()", [])
        return cur.fetchone()[0]

    return retried(pool, work)


def _where_key(d: Dialect, key: dict[str, Any]) -> str:
    return " AND ".join(f"{d.ident(c)} = ?" for c in key)


def _locked_row(cur: Any, d: Dialect, dbms: str, table: str, key: dict[str, Any], columns: list[str]) -> tuple | None:
    lock = "" if "sqlite" in dbms else " FOR UPDATE"
    sql = f"SELECT {', '.join(d.ident(c) for c in columns)} FROM {d.ident(table)} WHERE {_where_key(d, key)}{lock}"
    _execute(cur, sql, list(key.values()))
    row = cur.fetchone()
    return None if row is None else tuple(row)


def update_row(
    pool: OdbcPool,
    d: Dialect,
    dbms: str,
    table: str,
    key: dict[str, Any],
    values: dict[str, Any],
    columns: list[str],
    check: Callable[[tuple], None] | None,
) -> tuple[tuple, tuple] | None:
    """Update the row with ``key`` to ``values``: the row before and after (``columns``), None
    when there is none.  ``check`` sees the row as it is, locked, before anything changes."""

    def work(cur: Any) -> tuple[tuple, tuple] | None:
        row = _checked_row(cur, d, dbms, table, key, columns, check)
        if row is None:
            return None
        if values:
            assignments = ", ".join(f"{d.ident(c)} = ?" for c in values)
            sql = f"UPDATE {d.ident(table)} SET {assignments} WHERE {_where_key(d, key)}"
            _execute(cur, sql, [*values.values(), *key.values()])
        new_key = {c: values.get(c, v) for c, v in key.items()}
        after = _locked_row(cur, d, dbms, table, new_key, columns)
        assert after is not None  # the row is locked: nobody else can take it away
        return row, after

    return retried(pool, work)


def _checked_row(
    cur: Any,
    d: Dialect,
    dbms: str,
    table: str,
    key: dict[str, Any],
    columns: list[str],
    check: Callable[[tuple], None] | None,
) -> tuple | None:
    """The row with ``key`` locked for the write (None: there is none), after ``check`` (the
    If-Match precondition) has seen it."""
    _write_lock(cur, d, dbms, table, key)
    row = _locked_row(cur, d, dbms, table, key, columns)
    if row is not None and check is not None:
        check(row)
    return row


def _write_lock(cur: Any, d: Dialect, dbms: str, table: str, key: dict[str, Any]) -> None:
    """SQLite: take the database's write lock before reading, by an UPDATE that matches no row
    (so no trigger fires): two writers that both read first would each wait for the other.
    Elsewhere the row lock of the read (FOR UPDATE) does it."""
    if "sqlite" in dbms:
        column = d.ident(next(iter(key)))
        _execute(cur, f"UPDATE {d.ident(table)} SET {column} = {column} WHERE 1 = 0", [])


def delete_row(
    pool: OdbcPool,
    d: Dialect,
    dbms: str,
    table: str,
    key: dict[str, Any],
    columns: list[str],
    check: Callable[[tuple], None] | None,
) -> tuple | None:
    """Delete the row with ``key``: the row as it was, None when there was none."""

    def work(cur: Any) -> tuple | None:
        row = _checked_row(cur, d, dbms, table, key, columns, check)
        if row is None:
            return None
        _execute(cur, f"DELETE FROM {d.ident(table)} WHERE {_where_key(d, key)}", list(key.values()))
        return row

    return retried(pool, work)
