"""Each finding of a sorted walk that lost rows, on the backend where it applies, and the
columns that cannot be paged in order: refused at start-up (or on first use), never drafted.

The general property (every type, every sort, any page size) is test_walk_property.py;
these are the cases found on real schemas, kept as plain examples.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sqlite3

import pyodbc
import pytest
import yaml
from click.testing import CliRunner

from helpers.backends import PG_SERVER, in_database, make_app
from legacy_bridge.cli import main
from legacy_bridge.errors import ConfigError

TABLE = "LB_ORDERED"


def _walk(client, url: str, most: int = 1000) -> list:
    """Every record, page by page; stops (and the test fails) past ``most`` records."""
    records: list = []
    while url and len(records) <= most:
        response = client.get(url)
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        records += body["data"]
        url = body["next"] and re.sub(r"&cursor=[^&]*", "", url) + f"&cursor={body['next']}"
    return records


def _serve(backend, ddl: str, rows: list[tuple], fields: dict, key: str = "id", **source):
    """An app over a fresh table ``TABLE`` (``ddl``: its columns) holding ``rows``."""
    backend.drop("TABLE", TABLE)
    backend.execute(f"CREATE TABLE {backend.q(TABLE)} ({ddl})")
    if rows:
        marks = ", ".join("?" * len(rows[0]))
        backend.executemany(f"INSERT INTO {backend.q(TABLE)} VALUES ({marks})", rows)
    return make_app(
        {
            "service": {"secret": "order-secret"},
            "sources": {"db": {"kind": "odbc", "connection": backend.connection, **source}},
            "resources": {"items": {"source": "db", "table": TABLE, "key": [key], "fields": fields}},
        }
    )


def _ordered(backend, column: str, descending: bool = False) -> list:
    q = backend.q
    return [
        r[0]
        for r in backend.execute(
            f"SELECT {q('ID')} FROM {q(TABLE)} ORDER BY CASE WHEN {q(column)} IS NULL THEN 1 ELSE 0 END, "
            f"{q(column)}{' DESC' if descending else ''}, {q('ID')}"
        )
    ]


@pytest.fixture
def cleanup():
    """``cleanup(app, backend)``: the app is closed and the table dropped after the test."""
    made = []
    yield lambda app, backend: made.append((app, backend))
    for app, backend in made:
        if app is not None:
            app.extensions["legacy_bridge"].close()
        backend.drop("TABLE", TABLE)


# -- the findings: each walk returns every row once, in the database's own order ----------

MOODS = ["zeta", "alpha", "Mid"]
FLAGS = ["", "a", "b", "x", "x,b", "x,a", "b,a", "x,b,a"]


@pytest.mark.parametrize("sort", ["kind", "-kind", "tags", "-tags", "kind,-tags"])
def test_mariadb_enum_and_set_walks_follow_member_order(mariadb_only, cleanup, sort):
    backend = mariadb_only
    rows = [(n, MOODS[n % 3] if n % 7 else None, FLAGS[n % 8]) for n in range(1, 301)]
    app = _serve(
        backend,
        "ID INT PRIMARY KEY, KIND ENUM('zeta','alpha','Mid') NULL, TAGS SET('x','b','a') NOT NULL",
        # column names in another case than the table's, as MariaDB allows
        rows,
        {
            "id": {"column": "id", "converter": "int"},
            "kind": {"column": "kind", "sort": True},
            "tags": {"column": "Tags", "sort": True, "nullable": False},
        },
    )
    cleanup(app, backend)
    walked = [r["id"] for r in _walk(app.test_client(), f"/v1/items?limit=7&fields=id&sort={sort}")]
    first = sort.split(",")[0]
    assert len(walked) == 300 and len(set(walked)) == 300
    if "," not in sort:
        assert walked == _ordered(backend, first.lstrip("-").upper(), first.startswith("-"))
    # member order, not the text's: zeta (1) before alpha (2) before Mid (3)
    kinds = [r["kind"] for r in _walk(app.test_client(), "/v1/items?limit=50&fields=kind&sort=kind")]
    assert [k for k in dict.fromkeys(kinds)] == ["zeta", "alpha", "Mid", None]


def test_compared_as_read_a_mariadb_enum_walk_loses_rows_so_the_check_is_needed(mariadb_only, cleanup, mocker):
    """The finding itself: with ENUM compared as its text (the keyset condition of before),
    the walk ends early without an error."""
    backend = mariadb_only
    mocker.patch("legacy_bridge.drivers.odbc.order.compare_mode", return_value=("value", None))
    rows = [(n, MOODS[n % 3]) for n in range(1, 101)]
    app = _serve(
        backend,
        "ID INT PRIMARY KEY, KIND ENUM('zeta','alpha','Mid') NOT NULL",
        rows,
        {"id": {"column": "ID", "converter": "int"}, "kind": {"column": "KIND", "sort": True}},
    )
    cleanup(app, backend)
    walked = _walk(app.test_client(), "/v1/items?limit=7&fields=id&sort=kind")
    assert 0 < len(walked) < 100


def test_mariadb_bit_walks_follow_the_number(mariadb_only, cleanup):
    backend = mariadb_only
    rows = [(n, (n * 37) % 256) for n in range(1, 101)]
    app = _serve(
        backend,
        "ID INT PRIMARY KEY, BITS BIT(8) NOT NULL",
        rows,
        {"id": {"column": "ID", "converter": "int"}, "bits": {"column": "BITS", "converter": "binary", "sort": True}},
    )
    cleanup(app, backend)
    walked = [r["id"] for r in _walk(app.test_client(), "/v1/items?limit=3&fields=id&sort=-bits")]
    assert walked == _ordered(backend, "BITS", descending=True)


def test_postgresql_enum_walks_follow_the_types_order(postgresql_only, cleanup):
    backend = postgresql_only
    backend.execute("DROP TABLE IF EXISTS " + backend.q(TABLE))
    backend.execute("DROP TYPE IF EXISTS lb_order_mood")
    backend.execute("CREATE TYPE lb_order_mood AS ENUM ('zeta', 'alpha', 'Mid')")
    rows = [(n, MOODS[n % 3]) for n in range(1, 61)]
    app = _serve(
        backend,
        '"ID" INT PRIMARY KEY, "KIND" lb_order_mood NOT NULL',
        rows,
        {"id": {"column": "ID", "converter": "int"}, "kind": {"column": "KIND", "sort": True}},
    )
    cleanup(app, backend)
    walked = _walk(app.test_client(), "/v1/items?limit=4&sort=kind")
    assert [r["id"] for r in walked] == _ordered(backend, "KIND")
    assert [k for k in dict.fromkeys(r["kind"] for r in walked)] == MOODS


def test_postgresql_timestamptz_walks_through_the_night_the_clock_falls_back(postgresql_only, cleanup):
    backend = postgresql_only
    # local 02:10 and 02:30 Europe/Berlin come twice on 2024-10-27: the naive values repeat
    instants = [
        dt.datetime(2024, 10, 27, 0, 10),
        dt.datetime(2024, 10, 27, 0, 30),
        dt.datetime(2024, 10, 27, 1, 10),
        dt.datetime(2024, 10, 27, 1, 30),
    ]
    rows = [(n, instants[n % 4]) for n in range(1, 41)]
    berlin = backend.connection + ";ConnSettings=SET TIME ZONE 'Europe/Berlin'"
    backend.drop("TABLE", TABLE)
    backend.execute(f'CREATE TABLE {backend.q(TABLE)} ("ID" INT PRIMARY KEY, "AT" TIMESTAMPTZ NOT NULL)')
    backend.executemany(f"INSERT INTO {backend.q(TABLE)} VALUES (?, ?)", rows)  # UTC session
    app = make_app(
        {
            "service": {"secret": "s"},
            "sources": {"db": {"kind": "odbc", "connection": berlin}},
            "resources": {
                "items": {
                    "source": "db",
                    "table": TABLE,
                    "key": ["id"],
                    "fields": {
                        "id": {"column": "ID", "converter": "int"},
                        "at": {"column": "AT", "converter": "timestamp", "sort": True},
                    },
                }
            },
        }
    )
    cleanup(app, backend)
    walked = _walk(app.test_client(), "/v1/items?limit=3&sort=at")
    assert [r["id"] for r in walked] == _ordered(backend, "AT")
    # records are local times of the session's zone: ambiguous in the fold, as documented
    assert {r["at"] for r in walked} == {"2024-10-27T02:10:00", "2024-10-27T02:30:00"}


def _sqlite_path(backend) -> str:
    return re.search(r"Database=([^;]+)", backend.connection).group(1)


def test_sqlite_text_timestamps_written_by_a_legacy_application_walk_with_their_ties(sqlite_only, cleanup):
    backend = sqlite_only
    app = _serve(
        backend,
        "ID INTEGER PRIMARY KEY, AT TIMESTAMP, AMOUNT REAL",
        [],
        {
            "id": {"column": "ID", "converter": "int"},
            "at": {"column": "AT", "converter": "timestamp", "sort": True},
            "amount": {"column": "AMOUNT", "converter": "float", "sort": True},
        },
    )
    cleanup(app, backend)
    stamps = ["2024-01-01 10:00:00", "2024-01-01 10:00:00.123456", "2024-01-01T10:00:00", "2024-01-01 09:00:00"]
    amounts = [1 / 3, 0.1 + 0.2, 2.5, 1 / 3 + 1e-16]
    with sqlite3.connect(_sqlite_path(backend)) as db:  # as the legacy application wrote them
        db.executemany(
            f"INSERT INTO {TABLE} VALUES (?, ?, ?)", [(n, stamps[n % 4], amounts[n % 4]) for n in range(1, 41)]
        )
    client = app.test_client()
    for sort, column in (("at", "AT"), ("-at", "AT"), ("amount", "AMOUNT")):
        walked = [r["id"] for r in _walk(client, f"/v1/items?limit=3&fields=id&sort={sort}", most=40)]
        assert sorted(walked) == list(range(1, 41)), sort  # every row once
        if column == "AT":
            assert walked == _ordered(backend, column, sort.startswith("-"))


# -- what cannot be paged in order is refused, and says why ------------------------------


def test_a_sortable_column_sqlite_cannot_page_stops_the_start_naming_field_type_and_why(sqlite_only, cleanup):
    backend = sqlite_only
    cleanup(None, backend)
    with pytest.raises(ConfigError) as exc:
        _serve(
            backend,
            "ID INTEGER PRIMARY KEY, ANYTHING",
            [(1, "x"), (2, 3)],
            {"id": {"column": "ID", "converter": "int"}, "anything": {"column": "ANYTHING", "sort": True}},
        )
    [(path, message)] = exc.value.problems
    assert path == "resources.items.fields.anything.sort"
    assert message.startswith("field 'anything' (column ANYTHING, ") and "without a declared type" in message


def test_check_names_a_sortable_column_that_cannot_be_paged(sqlite_only, cleanup, tmp_path):
    backend = sqlite_only
    cleanup(
        _serve(backend, "ID INTEGER PRIMARY KEY, ANYTHING", [(1, "x")], {"id": {"column": "ID", "converter": "int"}}),
        backend,
    )
    config = tmp_path / "lb.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "sources": {"db": {"kind": "odbc", "connection": backend.connection}},
                "resources": {
                    "items": {
                        "source": "db",
                        "table": TABLE,
                        "key": ["id"],
                        "fields": {
                            "id": {"column": "ID", "converter": "int"},
                            "anything": {"column": "ANYTHING", "sort": True},
                        },
                    }
                },
            }
        )
    )
    result = CliRunner().invoke(main, ["check", "--config", str(config)])
    assert result.exit_code != 0
    assert "FAILING  resources.items.fields.anything.sort: field 'anything' (column ANYTHING" in result.output


def test_a_type_postgresql_cannot_order_stops_the_start(postgresql_only, cleanup):
    backend = postgresql_only
    cleanup(None, backend)
    with pytest.raises(ConfigError) as exc:
        _serve(
            backend,
            '"ID" INT PRIMARY KEY, "DOC" JSON',
            [],
            {"id": {"column": "ID", "converter": "int"}, "doc": {"column": "DOC", "sort": True}},
        )
    assert exc.value.problems == [
        (
            "resources.items.fields.doc.sort",
            "field 'doc' (column DOC, json) cannot be paged in order: the database has no order for this type",
        )
    ]


def test_a_source_down_at_start_up_is_checked_on_first_use_and_never_serves_a_broken_walk(postgresql_only):
    database = f"lbt_late_{os.getpid()}"  # dropped below, or by the next run (conftest)
    connection = in_database(PG_SERVER, database)
    app = make_app(
        {
            "service": {"secret": "s", "readiness_timeout": 1},
            "sources": {"db": {"kind": "odbc", "connection": connection}},
            "resources": {
                "items": {
                    "source": "db",
                    "table": "DOCS",
                    "key": ["id"],
                    "fields": {"id": {"column": "ID", "converter": "int"}, "doc": {"column": "DOC", "sort": True}},
                }
            },
        }
    )
    admin = pyodbc.connect(PG_SERVER, autocommit=True)
    try:
        client = app.test_client()
        assert client.get("/v1/items").status_code == 503  # no database yet: the app started
        admin.cursor().execute(f"CREATE DATABASE {database}")
        late = pyodbc.connect(connection, autocommit=True)
        late.cursor().execute('CREATE TABLE "DOCS" ("ID" INT PRIMARY KEY, "DOC" JSON)')
        late.cursor().execute("INSERT INTO \"DOCS\" VALUES (1, '{}'), (2, '[]')")
        late.close()
        response = client.get("/v1/items?sort=doc")
        assert response.status_code == 500 and response.mimetype == "application/problem+json"
        body = response.get_json()
        assert body["type"] == "urn:legacy-bridge:problem:invalid-config"
        assert "column DOC (json)" in body["detail"] and "cannot be paged in order" in body["detail"]
        assert client.get("/v1/items?limit=1").status_code == 200  # the key still pages
    finally:
        app.extensions["legacy_bridge"].close()
        admin.cursor().execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        admin.close()


# -- introspect never drafts an order it cannot page ------------------------------------


def _draft(backend, tmp_path, table: str) -> tuple[str, dict]:
    config = tmp_path / "sources.yaml"
    config.write_text(yaml.safe_dump({"sources": {"db": {"kind": "odbc", "connection": backend.connection}}}))
    result = CliRunner().invoke(main, ["introspect", "db", table, "--config", str(config)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output, yaml.safe_load(result.output)


def test_introspect_says_how_enum_and_set_columns_sort_and_drafts_no_sort(mariadb_only, cleanup, tmp_path):
    backend = mariadb_only
    cleanup(
        _serve(
            backend,
            "ID INT PRIMARY KEY, KIND ENUM('zeta','alpha') NOT NULL, TAGS SET('x','b')",
            [(1, "zeta", "x")],
            {"id": {"column": "ID", "converter": "int"}},
        ),
        backend,
    )
    text, draft = _draft(backend, tmp_path, TABLE)
    assert re.search(r"kind: .*# ENUM.*sorts by its number \(member position or bit value\)", text)
    assert all("sort" not in f for f in draft[next(iter(draft))]["fields"].values())


def test_introspect_notes_a_column_that_cannot_be_sorted(sqlite_only, cleanup, tmp_path):
    backend = sqlite_only
    cleanup(
        _serve(backend, "ID INTEGER PRIMARY KEY, ANYTHING", [(1, "x")], {"id": {"column": "ID", "converter": "int"}}),
        backend,
    )
    text, draft = _draft(backend, tmp_path, TABLE)
    assert re.search(r"anything: .*# .*cannot be sorted: SQLite column without a declared type", text)
    assert "Text operators (startswith, contains) need a text converter" in text
    assert all("sort" not in f for f in draft[next(iter(draft))]["fields"].values())


# -- text keys under a case-insensitive collation -----------------------------------------


def test_a_text_key_is_looked_up_and_compared_as_the_database_does(backend, cleanup):
    app = _serve(
        backend,
        f"{backend.q('TAG')} VARCHAR(20) NOT NULL PRIMARY KEY, {backend.q('N')} INT",
        [("sports", 1), ("news", 2), ("Économie", 3), ("zoo", 4)],
        {"tag": {"column": "TAG", "converter": "text"}, "n": {"column": "N", "converter": "int"}},
        key="tag",
    )
    cleanup(app, backend)
    client = app.test_client()
    insensitive = backend.name == "mariadb"  # utf8mb4_general_ci: case and accents compare equal
    response = client.get("/v1/items/Sports")
    assert response.status_code == (200 if insensitive else 404)
    if insensitive:
        assert response.get_json() == {"tag": "sports", "n": 1}  # the stored spelling comes back
        assert client.get("/v1/items/economie").get_json()["n"] == 3
    assert [r["n"] for r in client.get("/v1/items?tag=SPORTS").get_json()["data"]] == ([1] if insensitive else [])
    walked = [r["tag"] for r in _walk(client, "/v1/items?limit=1")]
    assert walked == [
        r[0] for r in backend.execute(f"SELECT {backend.q('TAG')} FROM {backend.q(TABLE)} ORDER BY {backend.q('TAG')}")
    ]
