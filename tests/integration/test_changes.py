"""Change feed: snapshot diffs on a table without a timestamp, on every ODBC backend;
the feed's cursor; concurrent scans; the state store on PostgreSQL."""

from __future__ import annotations

import threading
import uuid

import pytest
from sqlalchemy import create_engine, text

from helpers.backends import Backend, backend_named, make_app, reachable, unavailable
from legacy_bridge.events.changes import KeyOrderError, Scanner

TABLE = "LB_CHG_ITEM"
ROWS = 300


def item_row(n: int, version: int = 0) -> tuple:
    return (("NOR", "SUD", "WST")[n % 3], n, f"ITEM {n} v{version}", n * 2 + version)


def create_items(b: Backend, rows: int = ROWS) -> None:
    """A legacy table with a composite key and no update timestamp."""
    b.drop("TABLE", TABLE)
    b.execute(
        f"CREATE TABLE {b.q(TABLE)} ({b.q('RGN')} CHAR(3) NOT NULL, {b.q('ITM_NO')} INTEGER NOT NULL, "
        f"{b.q('ITM_DS')} CHAR(30) NOT NULL, {b.q('QTY')} INTEGER NOT NULL, "
        f"PRIMARY KEY ({b.q('RGN')}, {b.q('ITM_NO')}))"
    )
    b.executemany(f"INSERT INTO {b.q(TABLE)} VALUES (?, ?, ?, ?)", [item_row(n) for n in range(1, rows + 1)])


def items_config(b: Backend, state: str, **changes) -> dict:
    return {
        "service": {"secret": "test-secret", "state": state},
        "sources": {"crm": {"kind": "odbc", "connection": b.connection, "timeout": "5s"}},
        "resources": {
            "items": {
                "source": "crm",
                "table": TABLE,
                "key": ["region", "item_no"],
                "changes": {"mode": "snapshot", "every": 0, **changes},
                "fields": {
                    "region": {"column": "RGN", "converter": "trim"},
                    "item_no": {"column": "ITM_NO", "converter": "int"},
                    "description": {"column": "ITM_DS", "converter": "trim"},
                    "quantity": {"column": "QTY", "converter": "int"},
                },
            }
        },
    }


def mutate(b: Backend) -> dict[str, set]:
    """Insert 2 rows, update 3, delete 2; the keys of each kind."""
    t, q = b.q(TABLE), b.q
    b.executemany(f"INSERT INTO {t} VALUES (?, ?, ?, ?)", [item_row(n) for n in (90001, 90002)])
    for n in (5, 100, 250):
        b.execute(f"UPDATE {t} SET {q('QTY')} = ? WHERE {q('RGN')} = ? AND {q('ITM_NO')} = ?", -n, item_row(n)[0], n)
    for n in (1, 200):
        b.execute(f"DELETE FROM {t} WHERE {q('RGN')} = ? AND {q('ITM_NO')} = ?", item_row(n)[0], n)
    key = lambda n: (item_row(n)[0], n)  # noqa: E731
    return {"created": {key(90001), key(90002)}, "updated": {key(5), key(100), key(250)}, "deleted": {key(1), key(200)}}


def walk(client, limit: int = 3, cursor: str | None = None) -> tuple[list[dict], str]:
    """Every event from ``cursor`` on, following ``next`` page by page."""
    events = []
    while True:
        url = f"/v1/items/changes?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(url).get_json()
        events += body["data"]
        cursor = body["next"]
        if len(body["data"]) < limit:
            return events, cursor


def by_kind(events: list[dict]) -> dict[str, set]:
    out: dict[str, set] = {"created": set(), "updated": set(), "deleted": set()}
    for e in events:
        out[e["kind"]].add((e["key"]["region"], e["key"]["item_no"]))
    return out


@pytest.fixture
def items(backend: Backend, tmp_path):
    create_items(backend)
    app = make_app(items_config(backend, f"sqlite:///{tmp_path}/state.db"))
    yield backend, app
    app.extensions["legacy_bridge"].close()
    app.extensions["legacy_bridge.state"].close()


def test_snapshot_diff_reports_inserts_updates_and_deletes_of_a_table_without_timestamp(items):
    backend, app = items
    client = app.test_client()
    first = client.get("/v1/items/changes").get_json()
    assert first["data"] == [] and first["scan"]["baseline"] and first["scan"]["rows"] == ROWS
    expected = mutate(backend)
    events, _ = walk(client)
    assert by_kind(events) == expected
    assert len(events) == 7
    updated = next(e for e in events if e["kind"] == "updated" and e["key"]["item_no"] == 100)
    assert updated["record"] == {"region": "SUD", "item_no": 100, "description": "ITEM 100 v0", "quantity": -100}
    assert all(e["record"] is None for e in events if e["kind"] == "deleted")
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)
    # nothing changed since: the next scan emits nothing
    again, _ = walk(client)
    assert again == events


def test_the_cursor_resumes_exactly_after_the_last_event_seen(items):
    backend, app = items
    client = app.test_client()
    _, cursor = walk(client)  # the baseline
    mutate(backend)
    part = client.get(f"/v1/items/changes?limit=4&cursor={cursor}").get_json()
    assert len(part["data"]) == 4
    rest, cursor = walk(client, 2, part["next"])
    assert len(rest) == 3
    assert [e["id"] for e in part["data"] + rest] == list(range(part["data"][0]["id"], part["data"][0]["id"] + 7))
    backend.execute(f"UPDATE {backend.q(TABLE)} SET {backend.q('QTY')} = 0 WHERE {backend.q('ITM_NO')} = 7")
    newer, _ = walk(client, 10, cursor)
    assert [(e["kind"], e["key"]["item_no"]) for e in newer] == [("updated", 7)]
    tampered = client.get(f"/v1/items/changes?cursor={cursor[:-2]}xx")
    assert tampered.status_code == 400 and tampered.get_json()["parameter"] == "cursor"


def test_two_scans_at_once_emit_each_change_once(backend, tmp_path):
    create_items(backend, 3000)
    app = make_app(items_config(backend, f"sqlite:///{tmp_path}/state.db", batch=100))
    store, resource = app.extensions["legacy_bridge.state"], app.extensions["legacy_bridge"].resources["items"]
    Scanner(store, resource).scan()
    mutate(backend)
    results, start = [], threading.Barrier(4)

    def run() -> None:
        start.wait()
        results.append(Scanner(store, resource).scan())

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    events = store.events("items", 0, 1000)
    assert len(events) == 7
    assert sum(r.created + r.updated + r.deleted for r in results) == 7
    assert any(r.skipped for r in results) or len({r.seconds for r in results}) == 4
    app.extensions["legacy_bridge"].close()


def test_a_collation_that_is_not_binary_stops_the_scan_instead_of_false_deletions(tmp_path):
    """MariaDB's default collation sorts 'b' before 'C'; the byte order does not."""

    b = backend_named("mariadb", tmp_path)
    if reachable(b):
        unavailable(reachable(b))
    b.drop("TABLE", "LB_CHG_CI")
    b.execute("CREATE TABLE `LB_CHG_CI` (`CD` VARCHAR(5) NOT NULL PRIMARY KEY, `N` INTEGER NOT NULL)")
    b.executemany("INSERT INTO `LB_CHG_CI` VALUES (?, ?)", [("a", 1), ("b", 2), ("C", 3)])
    config = items_config(b, f"sqlite:///{tmp_path}/state.db")
    config["resources"] = {
        "codes": {
            "source": "crm",
            "table": "LB_CHG_CI",
            "key": ["code"],
            "changes": {},
            "fields": {"code": "CD", "n": {"column": "N", "converter": "int"}},
        }
    }
    app = make_app(config)
    scanner = Scanner(app.extensions["legacy_bridge.state"], app.extensions["legacy_bridge"].resources["codes"])
    with pytest.raises(KeyOrderError):
        scanner.scan()
    assert not scanner.state()["lock_owner"]  # the lease is given back
    b.drop("TABLE", "LB_CHG_CI")


@pytest.fixture
def pg_state():
    """A fresh PostgreSQL database for the state store, dropped after."""
    name = f"lb_state_{uuid.uuid4().hex[:10]}"
    admin = create_engine("postgresql+psycopg://postgres@127.0.0.1:5432/test", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_state_store_on_postgresql_diffs_and_serves_the_feed(backend, pg_state):
    create_items(backend)
    app = make_app(items_config(backend, pg_state))
    store = app.extensions["legacy_bridge.state"]
    assert store.dialect == "postgresql" and store.version() >= 2
    client = app.test_client()
    walk(client)
    expected = mutate(backend)
    scanners = [Scanner(store, app.extensions["legacy_bridge"].resources["items"]) for _ in range(3)]
    threads = [threading.Thread(target=s.scan) for s in scanners]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    events, _ = walk(client)
    assert by_kind(events) == expected and len(events) == 7
    app.extensions["legacy_bridge"].close()
    store.close()


def test_a_resource_without_changes_has_no_feed_route(app, client):
    assert client.get("/v1/customers/changes").status_code in (400, 404)


def test_watermark_feed_reports_rows_written_after_the_last_watermark(backend, tmp_path):
    """A table with an update timestamp: the feed reads only rows above the last watermark."""
    q, table = backend.q, "LB_CHG_WM"
    ts = backend.types["ts"]
    backend.drop("TABLE", table)
    backend.execute(
        f"CREATE TABLE {q(table)} ({q('NO')} INTEGER NOT NULL PRIMARY KEY, "
        f"{q('QTY')} INTEGER NOT NULL, {q('UPD_TS')} {ts} NOT NULL)"
    )
    stamp = (lambda s: s) if backend.name != "sqlite" else (lambda s: s + ".000000")
    backend.executemany(
        f"INSERT INTO {q(table)} VALUES (?, ?, ?)", [(n, n, stamp(f"2020-01-01 00:00:{n:02d}")) for n in range(1, 41)]
    )
    config = items_config(backend, f"sqlite:///{tmp_path}/state.db")
    config["resources"] = {
        "stock": {
            "source": "crm",
            "table": table,
            "key": ["no"],
            "watermark": "updated_at",
            "changes": {"every": 0},
            "fields": {
                "no": {"column": "NO", "converter": "int"},
                "quantity": {"column": "QTY", "converter": "int"},
                "updated_at": {"column": "UPD_TS", "converter": "timestamp"},
            },
        }
    }
    app = make_app(config)
    client = app.test_client()
    first = client.get("/v1/stock/changes").get_json()
    assert first["scan"]["mode"] == "watermark" and first["scan"]["baseline"] and first["data"] == []
    later = stamp("2031-01-01 00:00:00")
    backend.execute(f"UPDATE {q(table)} SET {q('QTY')} = 0, {q('UPD_TS')} = ? WHERE {q('NO')} IN (3, 4)", later)
    backend.execute(f"INSERT INTO {q(table)} VALUES (9001, 1, ?)", later)
    body = client.get("/v1/stock/changes").get_json()
    assert body["scan"]["rows"] == 3
    assert sorted((e["kind"], e["key"]["no"]) for e in body["data"]) == [
        ("created", 9001),
        ("updated", 3),
        ("updated", 4),
    ]
    assert next(e for e in body["data"] if e["key"]["no"] == 3)["record"]["quantity"] == 0
    again = client.get(f"/v1/stock/changes?cursor={body['next']}").get_json()
    assert again["data"] == [] and again["scan"]["rows"] == 0
    app.extensions["legacy_bridge"].close()
    backend.drop("TABLE", table)


def test_the_scan_command_runs_the_baseline_then_reports_the_changes(sqlite_backend, tmp_path):
    import yaml
    from click.testing import CliRunner

    from legacy_bridge.cli import main

    create_items(sqlite_backend)
    config = tmp_path / "lb.yaml"
    config.write_text(yaml.safe_dump(items_config(sqlite_backend, f"sqlite:///{tmp_path}/state.db")))
    runner = CliRunner()
    first = runner.invoke(main, ["scan", "items", "--config", str(config)])
    assert first.exit_code == 0 and "baseline" in first.output
    mutate(sqlite_backend)
    second = runner.invoke(main, ["scan", "--config", str(config)])
    assert second.exit_code == 0 and "2 created, 3 updated, 2 deleted" in second.output
    unknown = runner.invoke(main, ["scan", "nope", "--config", str(config)])
    assert unknown.exit_code == 2 and "has no changes" in unknown.output
