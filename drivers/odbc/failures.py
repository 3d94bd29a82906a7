"""What a pyodbc error means for the service: a timeout, a lost link (503, the client may
retry) or a statement the database refused (502).  The messages are the ones psqlODBC and
MariaDB's driver gave while the fault tests cut their connections
(tests/drivers/test_odbc_disconnect.py); the driver's own text goes to the log only.
"""

from __future__ import annotations

import logging

import pyodbc

from legacy_bridge.errors import SourceError, SourceTimeout, SourceUnavailable

__all__ = ["translate", "timed_out", "is_disconnect"]

log = logging.getLogger("legacy_bridge.drivers.odbc")

# 57014: PostgreSQL "query canceled"; 70100: MariaDB max_statement_time exceeded
_TIMEOUT_STATES = {"HYT00", "HYT01", "57014", "70100"}


def translate(error: pyodbc.Error, source: str, connecting: bool = False) -> SourceError:
    """The service's error for a pyodbc error; the driver's message goes to the log only.

    ``connecting``: the error came from opening a connection, which is "unavailable"
    whatever the state (MariaDB Connector/ODBC reports a refused connection as HY000).
    """
    state = error.args[0] if error.args and isinstance(error.args[0], str) else None
    log.warning("source %s: ODBC error %s: %s", source, state, error)
    if state in _TIMEOUT_STATES:
        return SourceTimeout(f"source {source!r} did not answer in time", source, state)
    if connecting or is_disconnect(error) or isinstance(error, pyodbc.InterfaceError):
        return SourceUnavailable(f"source {source!r} cannot be reached", source, state)
    return SourceError(f"source {source!r} rejected the query", source, state)


def timed_out(source: str, discarded: str) -> SourceTimeout:
    """The error of a call the client-side deadline ended; ``discarded`` says what became
    of its connection (``closed``: cut by the watchdog; ``abandoned``: a connect left running)."""
    error = SourceTimeout(f"source {source!r} did not answer in time", source)
    error.discarded = discarded
    return error


# what drivers say in a general HY000 when the link itself is gone (psqlODBC: "The connection has
# been lost"; a closed connection elsewhere). psqlODBC wraps each statement of a transaction in an
# internal savepoint; that savepoint fails alone only when the link dropped between two statements
# (an earlier failed statement would have raised its own error first).
_LOST = (
    "closed",
    "connection has been lost",
    "connection lost",
    "server closed the connection",
    "internal savepoint failed",
    "connection was killed",  # MariaDB: KILL CONNECTION (error 1927, reported as HY018)
)


def is_disconnect(error: pyodbc.Error) -> bool:
    state = error.args[0] if error.args and isinstance(error.args[0], str) else ""
    return state.startswith("08") or state in ("HY000", "HY018") and any(w in str(error).lower() for w in _LOST)
