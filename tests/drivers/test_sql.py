"""compile_select: quoting, operators, sentinels, LIKE escaping, keyset expansion, limits.

The keyset walk at the end runs the compiled SQL on a real SQLite database (python's
sqlite3, ``?`` parameters) and compares every page sequence with Python's own sort.
"""

from __future__ import annotations

import datetime as dt
import itertools
import sqlite3
import uuid

import pytest

from legacy_bridge.drivers.odbc.order import compare_mode, int_range, session_has_dst
from legacy_bridge.drivers.odbc.sql import Dialect, compile_select, dialect_for, escape_like
from legacy_bridge.query.legacy import ColumnValue, Condition, Query, SortKey, SortValue

ANSI = Dialect()
TABLE = {"table": "T"}


def sql_of(query: Query, dialect: Dialect = ANSI, target: dict | None = None) -> tuple[str, list]:
    return compile_select(dialect, target or TABLE, query)


def where_of(*conditions: Condition) -> tuple[str, list]:
    sql, params = sql_of(Query(columns=["A"], where=list(conditions)))
    return sql.split(" WHERE ", 1)[1], params


# -- identifiers ----------------------------------------------------------------------


def test_identifiers_are_quoted_with_the_backend_quote_char():
    assert Dialect(quote='"').ident("CUST_NO") == '"CUST_NO"'
    assert Dialect(quote="`").ident("CUST_NO") == "`CUST_NO`"


def test_embedded_quote_chars_are_doubled():
    assert Dialect(quote='"').ident('we"ird') == '"we""ird"'
    assert Dialect(quote="`").ident("we`ird") == "`we``ird`"
    # the other backend's quote char is an ordinary character
    assert Dialect(quote="`").ident('we"ird') == '`we"ird`'


def test_schema_qualified_names_quote_each_part():
    assert ANSI.ident("CRM.LGCY_CUST") == '"CRM"."LGCY_CUST"'
    assert ANSI.ident("DB.CRM.T") == '"DB"."CRM"."T"'


def test_a_blank_quote_char_means_no_quoting():
    # ODBC reports " " for SQL_IDENTIFIER_QUOTE_CHAR when the DBMS has none
    assert Dialect(quote=" ").ident("CRM.T") == "CRM.T"


def test_select_lists_columns_and_table_quoted():
    sql, params = sql_of(Query(columns=["A", "B b"]), target={"table": "s.T"})
    assert sql == 'SELECT "A", "B b" FROM "s"."T"'
    assert params == []


def test_a_view_target_is_quoted_like_a_table():
    sql, _ = sql_of(Query(columns=["A"]), target={"view": "V_ACTV"})
    assert sql == 'SELECT "A" FROM "V_ACTV"'


def test_a_select_target_becomes_a_derived_table():
    target = {"select": "SELECT A, B FROM T WHERE X = 1"}
    sql, params = sql_of(Query(columns=["A"], where=[Condition("B", "eq", 2)], limit=5), target=target)
    assert sql == 'SELECT "A" FROM (SELECT A, B FROM T WHERE X = 1) lb_src WHERE "B" = ? LIMIT 5'
    assert params == [2]


# -- operators ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "op, sql",
    [
        ("eq", '"A" = ?'),
        ("ne", '"A" <> ?'),
        ("lt", '"A" < ?'),
        ("lte", '"A" <= ?'),
        ("gt", '"A" > ?'),
        ("gte", '"A" >= ?'),
    ],
)
def test_comparison_operators(op, sql):
    assert where_of(Condition("A", op, 7)) == (sql, [7])


def test_in_binds_one_parameter_per_value():
    assert where_of(Condition("A", "in", ("MA", "NY", "TX"))) == ('"A" IN (?, ?, ?)', ["MA", "NY", "TX"])


def test_startswith_and_contains_use_like_with_an_escape_char():
    assert where_of(Condition("A", "startswith", "AB")) == ("\"A\" LIKE ? ESCAPE '!'", ["AB%"])
    assert where_of(Condition("A", "contains", "AB")) == ("\"A\" LIKE ? ESCAPE '!'", ["%AB%"])


def test_like_wildcards_and_the_escape_char_are_escaped():
    assert escape_like("50%_off!") == "50!%!_off!!"
    assert where_of(Condition("A", "contains", "a%b_c!d"))[1] == ["%a!%b!_c!!d%"]


def test_isnull_without_sentinels():
    assert where_of(Condition("A", "isnull", True)) == ('"A" IS NULL', [])
    assert where_of(Condition("A", "isnull", False)) == ('"A" IS NOT NULL', [])


def test_isnull_counts_legacy_sentinels_as_null():
    assert where_of(Condition("D", "isnull", True, nulls=(0, 99999999))) == (
        '(("D" IS NULL OR "D" IN (?, ?)))',
        [0, 99999999],
    )
    assert where_of(Condition("D", "isnull", False, nulls=(0, 99999999))) == (
        '(NOT ("D" IS NULL OR "D" IN (?, ?)))',
        [0, 99999999],
    )


def test_a_comparison_never_matches_a_sentinel():
    assert where_of(Condition("D", "lt", 20200101, nulls=(0, 99999999))) == (
        '"D" < ? AND "D" NOT IN (?, ?)',
        [20200101, 0, 99999999],
    )
    assert where_of(Condition("D", "in", (1, 2), nulls=(0,))) == ('"D" IN (?, ?) AND "D" NOT IN (?)', [1, 2, 0])


def test_several_conditions_are_anded_with_params_in_text_order():
    sql, params = where_of(
        Condition("A", "eq", 1), Condition("D", "isnull", True, nulls=(0,)), Condition("B", "in", ("x", "y"))
    )
    # a term holding OR is parenthesised once more, so AND never binds into it
    assert sql == '"A" = ? AND (("D" IS NULL OR "D" IN (?))) AND "B" IN (?, ?)'
    assert params == [1, 0, "x", "y"]


def test_an_unknown_operator_is_refused():
    with pytest.raises(ValueError, match="unknown operator 'like'"):
        where_of(Condition("A", "like", "x"))


def test_values_never_reach_the_sql_text():
    evil = "x'; DROP TABLE T; --"
    sql, params = sql_of(Query(columns=["A"], where=[Condition("A", "eq", evil), Condition("A", "contains", evil)]))
    assert evil not in sql and "DROP" not in sql
    assert params[0] == evil


# -- keyset ---------------------------------------------------------------------------


def keyset_of(order: list[SortKey], after: tuple) -> tuple[str, list]:
    sql, params = sql_of(Query(columns=["A"], order=order, after=after))
    return sql.split(" WHERE ", 1)[1].split(" ORDER BY ")[0], params


def test_keyset_one_key_ascending_and_descending():
    assert keyset_of([SortKey("ID", nullable=False)], (5,)) == ('(("ID" > ?))', [5])
    assert keyset_of([SortKey("ID", True, nullable=False)], (5,)) == ('(("ID" < ?))', [5])


def test_keyset_one_nullable_key_lets_nulls_follow_any_value():
    assert keyset_of([SortKey("A")], (5,)) == ('(((("A" > ? OR "A" IS NULL))))', [5])
    assert keyset_of([SortKey("A", True)], (5,)) == ('(((("A" < ? OR "A" IS NULL))))', [5])


def test_keyset_after_null_in_the_only_key_matches_nothing():
    assert keyset_of([SortKey("A")], (None,)) == ("1 = 0", [])


def test_keyset_two_keys_mixed_directions():
    sql, params = keyset_of([SortKey("D", True, nullable=False), SortKey("ID", nullable=False)], (20200101, 7))
    # a redundant range on the first column first, then the expansion
    assert sql == '("D" <= ? AND (("D" < ?) OR ("D" = ? AND "ID" > ?)))'
    assert params == [20200101, 20200101, 20200101, 7]


def test_keyset_three_keys_with_a_nullable_middle_key():
    order = [SortKey("ST", nullable=False), SortKey("D", True), SortKey("ID", nullable=False)]
    sql, params = keyset_of(order, ("MA", 20200101, 7))
    assert sql == (
        '("ST" >= ? AND (("ST" > ?) OR ("ST" = ? AND ("D" < ? OR "D" IS NULL)) OR ("ST" = ? AND "D" = ? AND "ID" > ?)))'
    )
    assert params == ["MA", "MA", "MA", 20200101, "MA", 20200101, 7]


def test_keyset_three_keys_after_a_null_skips_that_step_and_matches_is_null():
    order = [SortKey("ST", nullable=False), SortKey("D", True), SortKey("ID", nullable=False)]
    sql, params = keyset_of(order, ("MA", None, 7))
    assert sql == '("ST" >= ? AND (("ST" > ?) OR ("ST" = ? AND "D" IS NULL AND "ID" > ?)))'
    assert params == ["MA", "MA", "MA", 7]
    assert sql.count("?") == len(params)


def test_keyset_with_a_null_first_key_has_no_leading_range():
    sql, params = keyset_of([SortKey("D"), SortKey("ID", nullable=False)], (None, 7))
    assert sql == '(("D" IS NULL AND "ID" > ?))'
    assert params == [7]


def test_keyset_params_follow_filter_params():
    query = Query(
        columns=["A"],
        where=[Condition("ST", "eq", "MA")],
        order=[SortKey("D", nullable=False), SortKey("ID", nullable=False)],
        after=(3, 4),
        limit=10,
    )
    sql, params = sql_of(query)
    assert sql == (
        'SELECT "A" FROM "T" WHERE "ST" = ? AND ("D" >= ? AND (("D" > ?) OR ("D" = ? AND "ID" > ?))) '
        'ORDER BY "D", "ID" LIMIT 10'
    )
    assert params == ["MA", 3, 3, 3, 4]


def test_order_by_puts_nulls_last_in_either_direction():
    sql, _ = sql_of(Query(columns=["A"], order=[SortKey("A", True), SortKey("ID", nullable=False)]))
    assert sql.endswith('ORDER BY CASE WHEN "A" IS NULL THEN 1 ELSE 0 END, "A" DESC, "ID"')


# -- row limits -----------------------------------------------------------------------


def test_limit_syntaxes():
    query = Query(columns=["A"], order=[SortKey("A", nullable=False)], limit=11)
    assert sql_of(query, Dialect(limit="limit"))[0] == 'SELECT "A" FROM "T" ORDER BY "A" LIMIT 11'
    assert sql_of(query, Dialect(limit="top"))[0] == 'SELECT TOP 11 "A" FROM "T" ORDER BY "A"'
    assert sql_of(query, Dialect(limit="fetch"))[0] == 'SELECT "A" FROM "T" ORDER BY "A" FETCH FIRST 11 ROWS ONLY'
    assert sql_of(query, Dialect(limit="none"))[0] == 'SELECT "A" FROM "T" ORDER BY "A"'


def test_no_limit_means_every_row():
    for syntax in ("limit", "top", "fetch"):
        sql = sql_of(Query(columns=["A"]), Dialect(limit=syntax))[0]
        assert sql == 'SELECT "A" FROM "T"'


@pytest.mark.parametrize(
    "dbms, expected",
    [
        ("Microsoft SQL Server", "top"),
        ("ACCESS", "top"),
        ("DB2/LINUXX8664", "fetch"),
        ("Oracle", "fetch"),
        ("PostgreSQL", "limit"),
        ("MariaDB", "limit"),
        ("SQLite", "limit"),
    ],
)
def test_dialect_for_picks_the_limit_syntax_from_the_dbms_name(dbms, expected):
    assert dialect_for(dbms, '"').limit == expected


def test_dialect_for_honours_an_explicit_syntax_and_the_quote_char():
    d = dialect_for("Microsoft SQL Server", "`", "limit")
    assert d == Dialect(quote="`", limit="limit")
    assert dialect_for("PostgreSQL", "").quote == '"'
    assert dialect_for("SQLite", '"').quote == "`"


# -- against a real database ---------------------------------------------------------

COLUMNS = ("GRP", 'NO"TE', "ID")  # a quote char inside a name, to prove quoting on a real DBMS


@pytest.fixture(scope="module")
def db():
    """A small table with NULLs and duplicates in both non-key columns; ID is unique."""
    conn = sqlite3.connect(":memory:")
    conn.execute('CREATE TABLE "T" ("GRP" INTEGER, "NO""TE" TEXT, "ID" INTEGER NOT NULL PRIMARY KEY)')
    rows = []
    for i in range(1, 41):
        grp = None if i % 7 == 0 else i % 4
        note = None if i % 5 == 0 else "abc"[i % 3]
        rows.append((grp, note, i))
    conn.executemany('INSERT INTO "T" VALUES (?, ?, ?)', rows)
    yield conn, rows
    conn.close()


def oracle_sort(rows: list[tuple], order: list[tuple[int, bool]]) -> list[tuple]:
    """Python's stable sort, least significant key first, NULLs last in either direction."""
    rows = list(rows)
    for pos, descending in reversed(order):
        present = sorted((r for r in rows if r[pos] is not None), key=lambda r: r[pos], reverse=descending)
        rows = present + [r for r in rows if r[pos] is None]
    return rows


def walk(conn, order: list[SortKey], page: int, where: list[Condition] = ()) -> list[tuple]:
    seen, after = [], None
    positions = [COLUMNS.index(k.column) for k in order]
    for _ in range(100):
        sql, params = compile_select(
            ANSI, TABLE, Query(columns=list(COLUMNS), where=list(where), order=order, after=after, limit=page)
        )
        assert sql.count("?") == len(params)
        batch = conn.execute(sql, params).fetchall()
        seen += batch
        if len(batch) < page:
            return seen
        after = tuple(batch[-1][p] for p in positions)
    raise AssertionError("the keyset walk did not end")


SORTS = [["ID"], ["GRP", "ID"], ['NO"TE', "ID"], ["GRP", 'NO"TE', "ID"], ['NO"TE', "GRP", "ID"]]


@pytest.mark.parametrize("columns", SORTS, ids=lambda c: "+".join(c))
def test_keyset_walk_matches_a_full_sort_for_every_direction(db, columns):
    conn, rows = db
    for directions in itertools.product((False, True), repeat=len(columns)):
        order = [SortKey(c, d, nullable=c != "ID") for c, d in zip(columns, directions)]
        expected = oracle_sort(rows, [(COLUMNS.index(c), d) for c, d in zip(columns, directions)])
        full, _ = compile_select(ANSI, TABLE, Query(columns=list(COLUMNS), order=order))
        assert conn.execute(full).fetchall() == expected, directions
        for page in (1, 3, 7, 40):
            assert walk(conn, order, page) == expected, (directions, page)


def test_keyset_walk_with_nullable_flags_on_columns_that_hold_no_nulls(db):
    conn, rows = db
    order = [SortKey("ID", True, nullable=True)]
    assert walk(conn, order, 6) == sorted(rows, key=lambda r: -r[2])


def test_keyset_walk_combined_with_a_sentinel_filter(db):
    conn, rows = db
    # GRP 0 is a legacy "no value" sentinel here: isnull=false drops it and the NULLs
    where = [Condition("GRP", "isnull", False, nulls=(0,)), Condition('NO"TE', "ne", "c")]
    order = [SortKey("GRP", True), SortKey('NO"TE'), SortKey("ID", nullable=False)]
    kept = [r for r in rows if r[0] not in (None, 0) and r[1] is not None and r[1] != "c"]
    expected = oracle_sort(kept, [(0, True), (1, False), (2, False)])
    assert expected and walk(conn, order, 4, where) == expected


def test_like_escaping_on_a_real_database():
    conn = sqlite3.connect(":memory:")
    conn.execute('CREATE TABLE "T" ("A" TEXT)')
    values = ["50%_off!", "50% off", "50x_off!", "5", "a_b", "axb", "x!y", "x!!y"]
    conn.executemany('INSERT INTO "T" VALUES (?)', [(v,) for v in values])

    def matches(op: str, text: str) -> list[str]:
        sql, params = compile_select(
            ANSI, TABLE, Query(columns=["A"], where=[Condition("A", op, text)], order=[SortKey("A", nullable=False)])
        )
        return [r[0] for r in conn.execute(sql, params)]

    assert matches("startswith", "50%") == ["50% off", "50%_off!"]
    assert matches("contains", "%_") == ["50%_off!"]
    assert matches("contains", "_off!") == ["50%_off!", "50x_off!"]
    assert matches("contains", "a_b") == ["a_b"]
    assert matches("contains", "x!y") == ["x!y"]
    conn.close()


def test_sentinel_comparison_on_a_real_database():
    conn = sqlite3.connect(":memory:")
    conn.execute('CREATE TABLE "T" ("D" INTEGER)')
    conn.executemany('INSERT INTO "T" VALUES (?)', [(0,), (99999999,), (None,), (20200101,), (20210101,)])

    def matches(*conditions: Condition) -> list:
        sql, params = compile_select(ANSI, TABLE, Query(columns=["D"], where=list(conditions), order=[SortKey("D")]))
        return [r[0] for r in conn.execute(sql, params)]

    nulls = (0, 99999999)
    assert matches(Condition("D", "gt", 20200101, nulls)) == [20210101]
    assert matches(Condition("D", "lt", 20210101, nulls)) == [20200101]
    assert matches(Condition("D", "isnull", True, nulls)) == [0, 99999999, None]
    assert matches(Condition("D", "isnull", False, nulls)) == [20200101, 20210101]
    conn.close()


def test_sqlite_quotes_with_backquotes_so_a_misspelt_column_is_an_error():
    # "NO_SUCH_COL" would be read by SQLite as the string 'NO_SUCH_COL'
    d = dialect_for("SQLite", '"')
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (a INTEGER)")
    with pytest.raises(sqlite3.OperationalError):
        conn.execute(f"SELECT {d.ident('NO_SUCH_COL')} FROM t")


# -- sort columns compared otherwise than read (drivers/odbc/order.py) -------------------

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
