"""Which ODBC errors mean the link to the database is gone (a 503 the client may retry later) and
which mean the database refused the statement (a 502): the messages are the ones psqlODBC and
MariaDB's driver gave while the fault tests cut their connections."""

from __future__ import annotations

import pyodbc
import pytest

from legacy_bridge.drivers.odbc.failures import is_disconnect


@pytest.mark.parametrize(
    "state, message",
    [
        ("08S01", "[08S01] SQLPrepareW unable due to the connection lost (35) (SQLPrepare)"),
        ("08001", "[08001] connection to server at 127.0.0.1 failed: Connection refused"),
        ("HY000", "[HY000] The connection has been lost;\nError while preparing parameters (1)"),
        ("HY000", "[HY000] server closed the connection unexpectedly\n\tThis probably means ..."),
        ("HY000", "[HY000] internal SAVEPOINT failed (8) (SQLExecDirectW)"),
    ],
)
def test_a_lost_link_is_a_disconnect(state, message):
    assert is_disconnect(pyodbc.Error(state, message))


@pytest.mark.parametrize(
    "state, message",
    [
        ("23505", "[23505] duplicate key value violates unique constraint"),
        ("42P01", '[42P01] relation "NOPE" does not exist'),
        ("HY000", "[HY000] ERROR: division by zero"),
    ],
)
def test_a_refused_statement_is_not_a_disconnect(state, message):
    assert not is_disconnect(pyodbc.Error(state, message))
