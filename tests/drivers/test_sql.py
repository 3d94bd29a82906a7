"""compile_select: quoting, operators, sentinels, LIKE escaping, keyset expansion, limits, as SQL
text (the same SQL run on a real database: test_sql_on_sqlite.py; sort columns compared otherwise
than read: test_odbc_order.py)."""

from __future__ import annotations

import pytest

from legacy_bridge.drivers.odbc.sql import Dialect, compile_select, dialect_for, escape_like
from legacy_bridge.query.legacy import Condition, Query, Related, SortKey

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


def test_the_keyset_comes_before_the_filters_and_params_follow_the_text():
    query = Query(
        columns=["A"],
        where=[Condition("ST", "eq", "MA")],
        order=[SortKey("D", nullable=False), SortKey("ID", nullable=False)],
        after=(3, 4),
        limit=10,
    )
    sql, params = sql_of(query)
    assert sql == (
        'SELECT "A" FROM "T" WHERE ("D" >= ? AND (("D" > ?) OR ("D" = ? AND "ID" > ?))) AND "ST" = ? '
        'ORDER BY "D", "ID" LIMIT 10'
    )
    assert params == [3, 3, 3, 4, "MA"]


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


# -- related rows (an embedded field's filter) ---------------------------------------


def test_a_related_term_is_an_exists_subquery_joined_to_the_outer_row():
    line = Related((("table", "LINES"),), (("ORDER_NO", "ORD_NO"), ("REGION", "RGN")), Condition("SKU", "eq", "AB12"))
    sql, params = sql_of(Query(columns=["A"], where=[Condition("A", "gt", 1)], related=[line]))
    assert sql == (
        'SELECT "A" FROM "T" WHERE "A" > ? AND EXISTS (SELECT 1 FROM "LINES" "lb_rel" WHERE '
        '"lb_rel"."ORD_NO" = "T"."ORDER_NO" AND "lb_rel"."RGN" = "T"."REGION" AND "lb_rel"."SKU" = ?)'
    )
    assert params == [1, "AB12"]


def test_a_related_term_under_a_select_target_joins_to_its_alias():
    line = Related((("view", "V_LINES"),), (("NO", "NO"),), Condition("QTY", "in", (1, 2), nulls=(0,)))
    sql, params = sql_of(Query(columns=["A"], related=[line]), target={"select": "SELECT * FROM X"})
    assert '"lb_rel"."NO" = lb_src."NO"' in sql
    assert '"lb_rel"."QTY" IN (?, ?) AND "lb_rel"."QTY" NOT IN (?)' in sql and params == [1, 2, 0]
