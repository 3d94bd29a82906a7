"""A sorted walk never loses or repeats a row: the keyset condition orders as ORDER BY does.

Property: on every backend, for a table holding a column of every sortable type (with many
ties and NULLs), any sort (ascending, descending, several fields) walked page by page with
``next`` cursors, at any page size from 1 up, returns exactly the rows of the database's
own ``ORDER BY <sort>, <key>`` (NULLs last), in that order, each row once.

The expected order is the database's, asked directly in SQL, so the test proves both halves:
that a page is ordered as the legacy column orders, and that the cursor resumes in that
order.  Bounded and derandomized (the same cases every run).
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
import uuid
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers.backends import make_app

TABLE = "LB_SORTS"
TEXTS = ["a", "A", "\u00e1", "b", "a ", " a", "", "B", "ab"]
DATES = [dt.date(1999, 12, 31), dt.date(2024, 2, 29), dt.date(2024, 3, 1)]
TIMES = [dt.time(0, 0), dt.time(9, 30, 5), dt.time(23, 59, 59)]
STAMPS = [
    dt.datetime(2024, 3, 31, 2, 30),
    dt.datetime(2024, 3, 31, 2, 30, 0, 500),
    dt.datetime(1999, 12, 31, 23, 59, 59, 999999),
    dt.datetime(2024, 1, 1),
]
DECIMALS = [Decimal("-1.50"), Decimal("0.00"), Decimal("0.10"), Decimal("2.25")]
INTEGERS = [-3, 0, 2, 2**40]
FLOATS = [-1.5, 0.0, -0.0, 0.1, 1 / 3, 1e-7, 123456.789]
BYTES = [b"", b"\x00", b"\x01", b"\xff", b"a", b"a\x00"]
# UTC instants around the night Europe/Berlin falls back (2024-10-27): local 02:10 and 02:30
# come twice, first in CEST, then in CET
FOLD = [
    dt.datetime(2024, 10, 27, 0, 10),
    dt.datetime(2024, 10, 27, 0, 30),
    dt.datetime(2024, 10, 27, 1, 10),
    dt.datetime(2024, 10, 27, 1, 30),
]

# (column, declared type, values the rows draw from): per backend, every type it sorts
COMMON = [
    ("I", "INTEGER", [-3, 0, 2, 7]),
    ("N", "DECIMAL(8,2)", DECIMALS),
    ("T", "VARCHAR(10)", TEXTS),
    ("C", "CHAR(3)", ["a", "A", "b", "a  "]),
    ("D", "DATE", DATES),
]
COLUMNS = {
    # written as a legacy application would (the sqlite3 module, see _sqlite_value): timestamps
    # without milliseconds or with a T, booleans as 0/1 or Y/N
    "sqlite": COMMON
    + [
        ("BI", "BIGINT", INTEGERS),
        ("F8", "REAL", FLOATS),
        ("TM", "TIME", TIMES),
        ("TS", "TIMESTAMP", STAMPS + ["2024-03-31T02:30:00"]),
        ("BO", "BOOLEAN", [True, False, "Y"]),
        ("BL", "BLOB", BYTES),
    ],
    "postgresql": COMMON
    + [
        ("BI", "BIGINT", INTEGERS),
        ("F8", "DOUBLE PRECISION", FLOATS + [float("nan"), float("inf")]),
        ("F4", "REAL", FLOATS),
        ("TM", "TIME", TIMES),
        ("TS", "TIMESTAMP(6)", STAMPS),
        ("BO", "BOOLEAN", [True, False]),
        ("BL", "BYTEA", BYTES),
        ("TU", 'VARCHAR(10) COLLATE "en-US-x-icu"', TEXTS),
        ("TC", "VARCHAR(10) COLLATE lb_ci", TEXTS),
        ("M", "lb_mood", ["zeta", "alpha", "Mid"]),
        ("TZ", "TIMESTAMPTZ", FOLD),
        ("U", "UUID", [str(uuid.UUID(int=n << 64)) for n in (0, 1, 255)]),
        ("IV", "INTERVAL", ["1 day", "24 hours", "1 mon", "30 days", "-1 day"]),
    ],
    "mariadb": COMMON
    + [
        ("BI", "BIGINT", INTEGERS),
        ("F8", "DOUBLE", FLOATS),
        ("F4", "FLOAT", FLOATS),
        ("TM", "TIME(6)", TIMES),
        ("TS", "DATETIME(6)", STAMPS),
        ("BO", "BOOLEAN", [True, False]),
        ("BL", "VARBINARY(8)", BYTES),
        ("TB", "VARCHAR(10) COLLATE utf8mb4_bin", TEXTS),
        ("TN", "VARCHAR(10) COLLATE utf8mb4_general_nopad_ci", TEXTS),
        ("E", "ENUM('zeta','alpha','Mid')", ["zeta", "alpha", "Mid"]),
        ("S", "SET('x','b','a')", ["", "a", "b", "x", "x,b", "x,a", "b,a", "x,b,a"]),
        ("Y", "YEAR", [1999, 2024, 2000]),
        ("B8", "BIT(8)", [0, 5, 255]),
        ("B1", "BIT(1)", [0, 1]),
        ("TSP", "TIMESTAMP(6) NULL", STAMPS[1:]),
    ],
}


@pytest.fixture(scope="module")
def sorts(backend):
    """The table (every sortable type), a client of a resource sorting on each column, and
    ``fill(rows)`` to replace the table's rows."""
    columns = COLUMNS[backend.name]
    q = backend.q
    backend.drop("TABLE", TABLE)
    if backend.name == "postgresql":
        backend.execute("DROP TYPE IF EXISTS lb_mood")
        backend.execute("CREATE TYPE lb_mood AS ENUM ('zeta', 'alpha', 'Mid')")
        backend.execute("DROP COLLATION IF EXISTS lb_ci")
        backend.execute("CREATE COLLATION lb_ci (provider = icu, locale = 'und-u-ks-level1', deterministic = false)")
    backend.execute(
        f"CREATE TABLE {q(TABLE)} ({q('ID')} INTEGER NOT NULL PRIMARY KEY, "
        + ", ".join(f"{q(name)} {ddl}" for name, ddl, _ in columns)
        + ")"
    )
    fields = {"id": {"column": "ID", "converter": "int"}}
    fields.update({name.lower(): {"column": name, "sort": True} for name, _, _ in columns})
    connection = backend.connection
    if backend.name == "postgresql":  # timestamptz read in a time zone whose clock falls back
        connection += ";ConnSettings=SET TIME ZONE 'Europe/Berlin'"
    app = make_app(
        {
            "service": {"secret": "walk-secret", "max_limit": 1000},
            "sources": {"db": {"kind": "odbc", "connection": connection}},
            "resources": {"sorts": {"source": "db", "table": TABLE, "key": ["id"], "fields": fields}},
        }
    )
    marks = ", ".join("?" * (len(columns) + 1))

    def fill(rows: list[tuple]) -> None:
        if backend.name == "sqlite":
            with sqlite3.connect(re.search(r"Database=([^;]+)", backend.connection).group(1)) as db:
                db.execute(f"DELETE FROM {TABLE}")
                db.executemany(f"INSERT INTO {TABLE} VALUES ({marks})", [tuple(map(_sqlite_value, r)) for r in rows])
            return
        backend.execute(f"DELETE FROM {q(TABLE)}")
        if rows:
            backend.executemany(f"INSERT INTO {q(TABLE)} VALUES ({marks})", rows)

    yield app.test_client(), columns, fill
    app.extensions["legacy_bridge"].close()
    backend.drop("TABLE", TABLE)


def _sqlite_value(value):
    """A value as a legacy application writes it with the sqlite3 module (str() of dates and
    times: no milliseconds unless there are microseconds)."""
    if isinstance(value, (dt.date, dt.time, Decimal)):
        return str(value)
    return value


def _walk(client, url: str, rows: int) -> list[int]:
    """The ids of every page, following ``next``; a walk that keeps going past ``rows`` rows
    repeats itself and is stopped there."""
    ids: list[int] = []
    while url and len(ids) <= rows:
        response = client.get(url)
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        ids += [r["id"] for r in body["data"]]
        if body["next"] is None:
            break
        link = urlsplit(response.headers["Link"][1:].partition(">")[0])
        url = f"{link.path}?{link.query}"
    return ids


def _expected(backend, sort: list[tuple[str, bool]]) -> list[int]:
    """The database's own order: ORDER BY each column (NULLs last), then the key."""
    terms = []
    for column, descending in sort:
        terms += [
            f"CASE WHEN {backend.q(column)} IS NULL THEN 1 ELSE 0 END",
            backend.q(column) + (" DESC" if descending else ""),
        ]
    if "ID" not in [c for c, _ in sort]:
        terms.append(backend.q("ID"))
    return [
        r[0] for r in backend.execute(f"SELECT {backend.q('ID')} FROM {backend.q(TABLE)} ORDER BY {', '.join(terms)}")
    ]


@st.composite
def cases(draw, columns):
    pools = [st.sampled_from(values + [None]) for _, _, values in columns]
    count = draw(st.integers(0, 30))
    rows = [(i + 1, *(draw(p) for p in pools)) for i in range(count)]
    names = [name for name, _, _ in columns] + ["ID"]
    sort = draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True))
    order = [(name, draw(st.booleans())) for name in sort]
    limit = draw(st.integers(1, max(1, count + 1)))
    return rows, order, limit


@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_every_sorted_walk_returns_every_row_once_in_the_databases_order(backend, sorts, data):
    client, columns, fill = sorts
    rows, order, limit = data.draw(cases(columns))
    fill(rows)
    sort = ",".join(("-" if desc else "") + name.lower() for name, desc in order)
    walked = _walk(client, f"/v1/sorts?fields=id&limit={limit}&sort={sort}", len(rows))
    assert walked == _expected(backend, order), f"sort={sort} limit={limit}"
