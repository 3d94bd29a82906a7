"""What each write through the API leaves in the state store: an audit record (who, when,
before and after) readable with `legacy-bridge audit`, and, on a resource with a change feed,
a change event at once, with the snapshot brought up to date so no scan reports it again."""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner

from helpers.backends import Backend, Quoter, make_app
from helpers.writes import ORDER, ORDERS_DDL, READER, WRITER, orders_config
from legacy_bridge.cli import main
from legacy_bridge.events.changes import Scanner
from legacy_bridge.events.journal import audit_records


@pytest.fixture()
def journaled(backend: Backend, tmp_path):
    backend.drop("TABLE", "LGCY_ORD")
    backend.execute(ORDERS_DDL.format(q=Quoter(backend.quote), **backend.types))
    config = orders_config(backend.connection)
    config["service"]["state"] = f"sqlite:///{tmp_path / 'state.db'}"
    config["resources"]["orders"]["changes"] = {"mode": "snapshot", "every": "1h"}
    app = make_app(config)
    yield app, config, tmp_path
    app.extensions["legacy_bridge"].close()
    app.extensions["legacy_bridge.state"].close()


def test_each_write_is_a_change_event_at_once_and_no_scan_reports_it_again(journaled):
    app, _, _ = journaled
    client = app.test_client()
    baseline = client.get("/v1/orders/changes", headers=READER).get_json()
    assert baseline["data"] == [] and baseline["scan"]["baseline"]
    client.post("/v1/orders", json=ORDER, headers=WRITER)
    client.patch("/v1/orders/1", json={"note": "later"}, headers=WRITER)
    client.post("/v1/orders", json=ORDER, headers=WRITER)
    client.delete("/v1/orders/2", headers=WRITER)
    events = client.get("/v1/orders/changes", headers=READER).get_json()["data"]
    assert [(e["kind"], e["key"]) for e in events] == [
        ("created", {"number": 1}),
        ("updated", {"number": 1}),
        ("created", {"number": 2}),
        ("deleted", {"number": 2}),
    ]
    assert events[1]["record"]["note"] == "later" and events[3]["record"] is None
    state, resource = app.extensions["legacy_bridge.state"], app.extensions["legacy_bridge"].resources["orders"]
    result = Scanner(state, resource).scan()
    assert (result.created, result.updated, result.deleted) == (0, 0, 0)


def test_each_write_leaves_an_audit_record_with_who_before_and_after(journaled):
    app, config, tmp_path = journaled
    client = app.test_client()
    client.post("/v1/orders", json=ORDER, headers=WRITER)
    client.patch("/v1/orders/1", json={"note": "fixed"}, headers=WRITER)
    client.delete("/v1/orders/1", headers=WRITER)
    records = audit_records(app.extensions["legacy_bridge.state"], "orders")
    assert [(r.kind, r.caller, r.key) for r in records] == [
        ("delete", "order-app", {"number": 1}),
        ("update", "order-app", {"number": 1}),
        ("create", "order-app", {"number": 1}),
    ]
    update = records[1]
    assert update.before["note"] == "first" and update.after["note"] == "fixed"
    assert records[0].after is None and records[2].before is None
    path = tmp_path / "legacy-bridge.yaml"
    path.write_text(yaml.safe_dump(config))
    shown = CliRunner().invoke(main, ["audit", "orders", "--key", "1", "--config", str(path)])
    assert shown.exit_code == 0, shown.output
    lines = shown.output.strip().splitlines()
    assert len(lines) == 3 and "update  by order-app changed: note" in lines[1]
    as_json = CliRunner().invoke(main, ["audit", "--json", "--limit", "1", "--config", str(path)])
    assert json.loads(as_json.output)["kind"] == "delete"
