"""The state store: migrations (fresh and on an older database), the event log, key encoding."""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import inspect, select, update

from legacy_bridge.events import migrations as state_migrations
from legacy_bridge.events.changes import check_options, encode_key
from legacy_bridge.events.journal import audit, audit_records
from legacy_bridge.events.state import NewEvent, StateStore, change_events, key_hash, scan_state, state_url


def test_a_fresh_store_is_migrated_to_the_latest_version(tmp_path):
    store = StateStore(f"sqlite:///{tmp_path}/s.db")
    assert store.migrate() == max(state_migrations.MIGRATIONS)
    tables = set(inspect(store.engine).get_table_names())
    assert {"lb_schema_version", "lb_snapshots", "lb_scan_state", "lb_change_events"} <= tables
    assert StateStore(f"sqlite:///{tmp_path}/s.db").migrate() == store.version()  # idempotent


def test_an_older_state_database_is_migrated_on_start_and_keeps_its_data(tmp_path):
    url = f"sqlite:///{tmp_path}/old.db"
    old = StateStore(url)
    assert old.migrate(target=1) == 1
    with old.begin() as conn:  # as version 1 wrote events (no key_hash yet)
        conn.exec_driver_sql(
            "INSERT INTO lb_change_events (resource, kind, key_json, occurred_at, record_json) "
            "VALUES ('items', 'created', '{\"id\":1}', '2026-11-01 10:00:00', '{\"id\":1,\"name\":\"a\"}')"
        )
    columns = {c["name"] for c in inspect(old.engine).get_columns("lb_scan_state")}
    assert "last_summary" not in columns
    old.close()

    new = StateStore(url)
    new.ready()
    assert new.version() == max(state_migrations.MIGRATIONS)
    assert [e.to_json()["record"] for e in new.events("items")] == [{"id": 1, "name": "a"}]
    with new.connect() as conn:  # migration 210 gave the old event its partition hash
        assert conn.scalar(select(change_events.c.key_hash)) == key_hash("items", '{"id":1}')
    with new.begin() as conn:  # the column migration 2 added is usable
        conn.execute(scan_state.insert().values(resource="items", mode="snapshot"))
        conn.execute(update(scan_state).values(last_summary="{}"))
    with new.connect() as conn:
        assert conn.scalar(select(scan_state.c.last_summary)) == "{}"


def test_a_migration_version_cannot_be_registered_twice():
    with pytest.raises(ValueError, match="already"):
        state_migrations.migration(1, "another")(lambda conn: None)
    assert [m.version for m in state_migrations.ordered()] == sorted(state_migrations.MIGRATIONS)


def test_events_come_back_in_id_order_per_resource_and_after_a_position():
    store = StateStore("sqlite://")
    with store.begin() as conn:
        store.append_events(
            conn,
            [NewEvent("a", "created", {"id": n}, {"id": n, "d": Decimal("1.50")}) for n in range(5)]
            + [NewEvent("b", "deleted", {"id": 9}, None)],
        )
    assert [e.key["id"] for e in store.events("a", after=2)] == [2, 3, 4]
    assert [e.resource for e in store.events()][-1] == "b"
    assert store.events("a")[0].record == {"id": 0, "d": "1.50"}
    assert store.last_event_id("a") == 5 and store.last_event_id() == 6
    body = store.events("b")[0].to_json()
    assert body["kind"] == "deleted" and body["record"] is None and body["occurred_at"].endswith("Z")


def test_the_state_url_comes_from_the_environment_then_the_config_then_beside_the_file(tmp_path, monkeypatch):
    config = tmp_path / "lb.yaml"
    config.write_text("x")
    monkeypatch.delenv("LEGACY_BRIDGE_STATE", raising=False)
    assert state_url({}, str(config)) == f"sqlite:///{tmp_path}/legacy-bridge-state.db"
    assert state_url({}, "test_config") == "sqlite://"
    assert state_url({"state": "postgresql+psycopg://h/db"}, str(config)) == "postgresql+psycopg://h/db"
    monkeypatch.setenv("LEGACY_BRIDGE_STATE", "sqlite:///elsewhere.db")
    assert state_url({"state": "postgresql+psycopg://h/db"}, str(config)) == "sqlite:///elsewhere.db"


@given(st.tuples(st.integers(), st.text()), st.tuples(st.integers(), st.text()))
def test_the_key_encoding_sorts_like_the_key_tuples(a, b):
    assert (encode_key(a) < encode_key(b)) == (a < b)
    assert (encode_key(a) == encode_key(b)) == (a == b)


@given(st.lists(st.one_of(st.datetimes(), st.dates()), min_size=2, max_size=2))
def test_dates_and_datetimes_encode_in_order(values):
    same = [v for v in values if type(v) is type(values[0])]
    if len(same) == 2:
        assert (encode_key((same[0],)) < encode_key((same[1],))) == (same[0] < same[1])


def test_integral_decimals_encode_like_integers():
    assert encode_key((Decimal("12"),)) == encode_key((12,))
    assert encode_key((dt.date(2020, 1, 2),)) > encode_key((dt.date(2019, 12, 31),))


def test_changes_options_default_and_refuse_what_cannot_work():
    options, problems = check_options({}, {}, (), True)
    assert problems == [] and options["mode"] == "snapshot" and options["every"] == 30.0
    options, _ = check_options({"every": "2m"}, {}, ("updated_at",), True)
    assert (options["mode"], options["every"]) == ("watermark", 120.0)
    _, problems = check_options({"mode": "watermark", "every": "soon", "x": 1}, {}, (), False)
    assert {key for key, _ in problems} == {"x", "mode", "", "every"}


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request, tmp_path):
    if request.param == "sqlite":
        store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
        yield store
        store.close()
        return
    from helpers.backends import pg_state

    with pg_state(f"lb_state_rows_{os.getpid()}") as url:
        store = StateStore(url)
        yield store
        store.close()


def test_quick_inserts_read_back_as_sqlalchemy_wrote_them_and_a_failed_one_leaves_nothing(any_store):
    """insert_rows bypasses SQLAlchemy's statement machinery: the rows, datetimes (with and
    without microseconds) and nulls included, must read back exactly; a row the table refuses
    rolls back the whole call and the pooled connection stays usable."""
    at = [dt.datetime(2026, 11, 29, 21, 0, 0), dt.datetime(2026, 11, 29, 21, 0, 0, 123456)]
    rows = [
        {
            "at": a,
            "resource": "orders",
            "kind": "create",
            "key_json": f'{{"n": {i}}}',
            "caller": None,
            "before_json": None,
            "after_json": "{}",
        }
        for i, a in enumerate(at)
    ]
    any_store.insert_rows(audit, rows)
    with pytest.raises(Exception):  # noqa: B017 - the driver's own IntegrityError class
        any_store.insert_rows(audit, [{**rows[0], "key_json": '{"n": 9}'}, {**rows[0], "resource": None}])
    any_store.insert_rows(audit, [{**rows[0], "key_json": '{"n": 2}'}])
    found = list(reversed(audit_records(any_store, "orders")))
    assert [(r.at, r.key, r.caller, r.before) for r in found] == [
        (at[0], {"n": 0}, None, None),
        (at[1], {"n": 1}, None, None),
        (at[0], {"n": 2}, None, None),
    ]
