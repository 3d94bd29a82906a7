"""drivers/odbc/order.py: sort columns compared otherwise than read (as numbers, epochs, text,
rounded), how each backend compares a column, and the integer range of a column type."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from legacy_bridge.drivers.odbc.order import compare_mode, int_range, session_has_dst
from legacy_bridge.drivers.odbc.sql import compile_select, dialect_for
from legacy_bridge.query.legacy import ColumnValue, Query, SortKey, SortValue

TABLE = {"table": "T"}
MARIADB = dialect_for("MariaDB", "`")


def test_a_number_compared_column_is_ordered_compared_and_kept_as_its_number():
    query = Query(
        columns=["ID", SortValue("KIND"), SortValue("ID")],
        order=[SortKey("KIND", nullable=False), SortKey("ID", nullable=False)],
        after=(2, 7),
        limit=5,
    )
    sql, params = compile_select(MARIADB, TABLE, query, {"KIND": "number"})
    assert sql == (
        "SELECT `ID`, (`KIND`+0) AS `lb_sort_1`, `ID` AS `lb_sort_2` FROM `T` WHERE ((`KIND`+0) >= ? "
        "AND (((`KIND`+0) > ?) OR ((`KIND`+0) = ? AND `ID` > ?))) ORDER BY (`KIND`+0), `ID` LIMIT 5"
    )
    assert params == [2, 2, 2, 7]


def test_updated_since_is_taken_through_the_sort_expression_a_cursor_value_is_not():
    order = [SortKey("AT", nullable=False), SortKey("ID", nullable=False)]
    since = compile_select(
        MARIADB, TABLE, Query(columns=["ID"], order=order, after=(ColumnValue("x"), None)), {"AT": "epoch"}
    )
    assert "WHERE ((UNIX_TIMESTAMP(`AT`) > UNIX_TIMESTAMP(?))) ORDER BY UNIX_TIMESTAMP(`AT`), `ID`" in since[0]
    cursor = compile_select(MARIADB, TABLE, Query(columns=["ID"], order=order, after=(1700000000, 3)), {"AT": "epoch"})
    assert "UNIX_TIMESTAMP(`AT`) > ?" in cursor[0]


def test_a_text_kept_column_compares_as_itself_and_a_rounded_one_through_its_text():
    order = [SortKey("TS", nullable=False), SortKey("R", nullable=False), SortKey("ID", nullable=False)]
    sql, params = compile_select(
        dialect_for("SQLite", '"'),
        TABLE,
        Query(
            columns=[SortValue("TS"), SortValue("R")],
            order=order,
            after=("2024-01-01 10:00:00", "0.333333333333333", 4),
        ),
        {"TS": "text", "R": "rounded"},
    )
    assert sql.startswith("SELECT CAST(`TS` AS TEXT) AS `lb_sort_0`, CAST(`R` AS TEXT) AS `lb_sort_1` FROM `T`")
    assert "`TS` = ? AND CAST(CAST(`R` AS TEXT) AS REAL) > CAST(? AS REAL)" in sql
    assert sql.endswith("ORDER BY `TS`, CAST(CAST(`R` AS TEXT) AS REAL), `ID`")
    assert params[:2] == ["2024-01-01 10:00:00", "2024-01-01 10:00:00"]


class _Answers:
    """A cursor whose query answers one row (a fake at the boundary: the test MariaDB server has
    no time zone tables, so no session zone with DST can be set on it)."""

    def __init__(self, row: tuple) -> None:
        self.row = row

    def execute(self, sql: str):
        return self

    def fetchone(self) -> tuple:
        return self.row


@pytest.mark.parametrize(
    "row, dst",
    [
        ((182 * 86400, 183 * 86400), False),  # UTC
        ((182 * 86400 - 3600, 183 * 86400 + 3600), True),  # Europe/Berlin
        ((182 * 86400 + 3600, 183 * 86400 - 3600), True),
    ],
)  # southern summer
def test_a_mariadb_session_zone_with_dst_is_told_by_its_clock(row, dst):
    assert session_has_dst(_Answers(row)) is dst


@pytest.mark.parametrize(
    "kind, name, reads, number, dst, expected",
    [
        ("mariadb", "ENUM", str, int, False, ("number", None)),
        ("mariadb", None, str, int, False, ("number", None)),  # an ENUM in a select: told by col+0
        ("mariadb", "CHAR", str, float, False, ("value", None)),
        ("mariadb", "BIT", bytearray, int, False, ("number", None)),
        ("mariadb", "TIMESTAMP", dt.datetime, int, True, ("epoch", None)),
        ("mariadb", "TIMESTAMP", dt.datetime, int, False, ("value", None)),
        ("postgresql", "timestamp with time zone", dt.datetime, None, False, ("text", None)),
        ("postgresql", "integer", int, None, False, ("value", None)),
        ("sqlite", "TIMESTAMP", dt.datetime, None, False, ("text", None)),
        ("sqlite", "DECIMAL(8,2)", str, None, False, ("rounded", None)),
        ("sqlite", "REAL", float, None, False, ("rounded", None)),
        ("sqlite", "TEXT", str, None, False, ("value", None)),
    ],
)
def test_how_each_backend_compares_a_column(kind, name, reads, number, dst, expected):
    assert compare_mode(kind, name, reads, number, dst) == expected


def test_untyped_sqlite_columns_and_unknown_python_types_cannot_be_paged():
    assert "without a declared type" in compare_mode("sqlite", "", int, None, False)[1]
    assert (
        compare_mode("other", "uniqueidentifier", uuid.UUID, None, False)[1]
        == "the driver reads it as UUID, which a cursor cannot hold"
    )


@pytest.mark.parametrize(
    "kind, name, bounds",
    [
        ("postgresql", "integer", (-(1 << 31), (1 << 31) - 1)),
        ("postgresql", "smallint", (-(1 << 15), (1 << 15) - 1)),
        ("mariadb", "TINYINT UNSIGNED", (0, 255)),
        ("mariadb", "BIGINT UNSIGNED", (0, (1 << 63) - 1)),
        ("mariadb", "MEDIUMINT", (-(1 << 23), (1 << 23) - 1)),
        ("sqlite", "INT", (-(1 << 63), (1 << 63) - 1)),
        ("mariadb", "", (-(1 << 63), (1 << 63) - 1)),
    ],
)
def test_integer_ranges_follow_the_column_type_within_64_bits(kind, name, bounds):
    assert int_range(kind, name) == bounds
