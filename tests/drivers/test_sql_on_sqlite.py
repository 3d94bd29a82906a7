"""The compiled SQL run on a real SQLite database (python's sqlite3, ``?`` parameters): every
keyset walk's page sequence equals Python's own sort, LIKE escaping and sentinels hold, and a
misspelt column is an error."""

from __future__ import annotations

import itertools
import sqlite3

import pytest

from legacy_bridge.drivers.odbc.sql import Dialect, compile_select, dialect_for
from legacy_bridge.query.legacy import Condition, Query, SortKey

ANSI = Dialect()
TABLE = {"table": "T"}
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


def test_a_walk_with_a_filter_on_its_key_seeks_each_page_instead_of_rescanning_the_walked_rows():
    """``ID > 0`` (a filter) beside the keyset's ``ID > <last>``: SQLite seeks its index by the
    first bound on a column, so the keyset must come first, or every page reads the walk's earlier
    rows again.  Counted in SQLite VM steps (the progress handler), not in time."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE `BIG` (`ID` INTEGER NOT NULL PRIMARY KEY, `NAME` TEXT)")
    conn.executemany("INSERT INTO `BIG` VALUES (?, ?)", ((i, f"n{i}") for i in range(1, 50_001)))
    sqlite = dialect_for("SQLite", '"')

    def steps(after: int | None) -> int:
        query = Query(
            columns=["ID", "NAME"],
            where=[Condition("ID", "gt", 0)],
            order=[SortKey("ID", nullable=False)],
            after=None if after is None else (after,),
            limit=100,
        )
        sql, params = compile_select(sqlite, {"table": "BIG"}, query)
        counted = [0]
        conn.set_progress_handler(lambda: counted.__setitem__(0, counted[0] + 1), 100)
        rows = conn.execute(sql, params).fetchall()
        conn.set_progress_handler(None, 0)
        assert rows[0][0] == (after or 0) + 1 and len(rows) == 100
        return counted[0]

    first, late = steps(None), steps(49_000)
    assert late <= 2 * first + 5, f"page after 49,000 rows: {late} x 100 VM steps, the first page {first}"
    conn.close()
