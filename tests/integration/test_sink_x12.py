"""The x12 event sink: each change event of a real ODBC shipments table (SQLite, snapshot change
feed) becomes one 214 interchange in the outbound folder, read back by the inbound ``format:
x12`` source with the same mapping as the row's record; a batch published again writes no
second file; a deletion writes none; a record the 214 cannot carry holds its partition."""

from __future__ import annotations

import copy
import os

import pytest
import yaml
from click.testing import CliRunner

from helpers.backends import make_app
from helpers.sink_fixtures import events_section
from helpers.x12_outbound import outbound_config
from legacy_bridge.cli import main
from legacy_bridge.config import validate
from legacy_bridge.drivers.flatfile.x12 import read_interchanges
from legacy_bridge.errors import ConfigError
from legacy_bridge.events import sink_cursors
from legacy_bridge.events.changes import Scanner
from legacy_bridge.events.relay import Relay
from legacy_bridge.facades.webhooks import store_of

TABLE = "EDI_SHIPMENTS"
COLUMNS = ("SHIP_ID", "PRO_NO", "SCAC", "STOP_SEQ", "STAT_CD", "RSN_CD", "STAT_DT", "STAT_TM", "CITY", "ST")
SHIPMENTS = {
    "source": "tms",
    "table": TABLE,
    "key": ["shipment_id"],
    "changes": {"mode": "snapshot", "every": 0},
    "fields": {
        "shipment_id": {"column": "SHIP_ID", "converter": "trim"},
        "pro_number": {"column": "PRO_NO", "converter": "trim"},
        "scac": {"column": "SCAC", "converter": "trim"},
        "status": {  # the row's own columns, grouped as the 214's LX loop is
            "type": "object",
            "fields": {
                "stop": {"column": "STOP_SEQ", "converter": "int"},
                "code": {"column": "STAT_CD", "converter": "trim"},
                "reason": {"column": "RSN_CD", "converter": "trim"},
                "on": {"column": "STAT_DT", "converter": "yyyymmdd"},
                "at": {"column": "STAT_TM", "converter": "hhmmss"},
                "city": {"column": "CITY", "converter": "trim"},
                "state": {"column": "ST", "converter": "trim"},
            },
        },
        "dock_door": {"column": "DOCK", "converter": "trim"},  # not in the 214: left out of it
    },
}


def _config(b, tmp_path) -> dict:
    raw = outbound_config(tmp_path, f"sqlite:///{tmp_path / 'state.db'}")
    raw["sources"]["tms"] = {"kind": "odbc", "connection": b.connection, "timeout": "5s"}
    raw["resources"]["shipments"] = SHIPMENTS
    sink = {"kind": "x12", "resource": "statuses", "events": ["shipments.*"], "timeout": "1s"}
    raw["events"] = events_section({"partner": sink}, lease="3s")
    return raw


@pytest.fixture
def shipments(sqlite_only, tmp_path):
    b = sqlite_only
    b.drop("TABLE", TABLE)
    b.execute(
        f"CREATE TABLE {b.q(TABLE)} ({b.q('SHIP_ID')} CHAR(20) NOT NULL PRIMARY KEY, {b.q('PRO_NO')} CHAR(12), "
        f"{b.q('SCAC')} CHAR(4), {b.q('STOP_SEQ')} INTEGER, {b.q('STAT_CD')} CHAR(2), {b.q('RSN_CD')} CHAR(2), "
        f"{b.q('STAT_DT')} INTEGER, {b.q('STAT_TM')} INTEGER, {b.q('CITY')} CHAR(30), {b.q('ST')} CHAR(2), "
        f"{b.q('DOCK')} CHAR(4))"
    )
    row = ("SHIP20261128A", "PRO5550001", "FSTC", 1, "X3", "NS", 20261201, 80000, "JOLIET", "IL", "D7")
    b.execute(f"INSERT INTO {b.q(TABLE)} VALUES ({', '.join('?' * len(row))})", *row)
    app = make_app(_config(b, tmp_path))
    bridge, store = app.extensions["legacy_bridge"], store_of(app)
    scanner = Scanner(store, bridge.resources["shipments"])
    scanner.scan()  # the baseline: no event
    relay = Relay(store, bridge.config.events, resources=bridge.resources)
    yield b, app.test_client(), scanner, relay, tmp_path / "214"
    relay.close()
    bridge.close()
    b.drop("TABLE", TABLE)


def _update(b, **values) -> None:
    sets = ", ".join(f"{b.q(c)} = ?" for c in values)
    b.execute(f"UPDATE {b.q(TABLE)} SET {sets} WHERE {b.q('SHIP_ID')} = ?", *values.values(), "SHIP20261128A")


def _files(folder) -> list[str]:
    return sorted(f for f in os.listdir(folder) if not f.startswith("."))


def test_each_change_of_a_shipment_row_is_a_214_read_back_as_the_rows_record(shipments):
    b, client, scanner, relay, folder = shipments
    _update(b, STAT_CD="AF", STAT_TM=81500)  # departed pick-up location, 08:15
    scanner.scan()
    _update(b, STOP_SEQ=2, STAT_CD="X1", STAT_DT=20261202, STAT_TM=64000, CITY="INDIANAPOLIS", ST="IN")
    scanner.scan()
    assert relay.run_once() == 2
    first, second = _files(folder)
    assert first.startswith("214.000000001.evt_") and second.startswith("214.000000002.evt_")
    (ic,) = read_interchanges((folder / second).read_bytes())
    assert (ic.sender, ic.receiver, ic.control, ic.groups[0].code) == ("FSTC", "ACMESHIPPER", "000000002", "QM")
    assert ic.groups[0].sets[0].segments == [
        ("ST", "214", "0001"),
        ("B10", "PRO5550001", "SHIP20261128A", "FSTC"),
        ("LX", "2"),
        ("AT7", "X1", "NS", "", "", "20261202", "0640"),
        ("MS1", "INDIANAPOLIS", "IN"),
        ("SE", "6", "0001"),
    ]
    shipment = client.get("/v1/shipments/SHIP20261128A").get_json()
    del shipment["dock_door"]
    # both files hold the shipment's key: the reader serves the later one, the row as it is now
    assert client.get("/v1/statuses?limit=10").get_json()["data"][-1] == shipment


def test_a_batch_published_again_writes_no_second_file(shipments):
    b, _, scanner, relay, folder = shipments
    _update(b, STAT_CD="AF")
    scanner.scan()
    assert relay.run_once() == 1
    store = relay.store
    sink_cursors.replay(store, "partner", 0)  # every partition back to the start: the event again
    relay.run_once()
    assert len(_files(folder)) == 1


def test_a_deleted_shipment_writes_nothing(shipments):
    b, _, scanner, relay, folder = shipments
    b.execute(f"DELETE FROM {b.q(TABLE)}")
    scanner.scan()
    assert relay.run_once() == 1
    assert _files(folder) == []


def test_a_record_the_214_cannot_carry_holds_its_partition_and_says_why(shipments):
    b, _, scanner, relay, folder = shipments
    _update(b, CITY="JOLIET*EAST")  # the element separator
    scanner.scan()
    assert relay.run_once() == 0
    status = sink_cursors.status(relay.store, "partner")
    assert status["lag"] == 1 and "status.city" in status["last_error"], status
    assert _files(folder) == []


def test_an_x12_sink_must_name_an_x12_drop_resource(sqlite_only, tmp_path):
    raw = copy.deepcopy(_config(sqlite_only, tmp_path))
    raw["events"]["sinks"]["partner"]["resource"] = "shipments"
    with pytest.raises(ConfigError) as refused:
        validate(raw)
    assert "events.sinks.partner.resource: expected a resource with an x12 drop" in str(refused.value)
    assert "x12 drop resources: notices, responses, statuses" in str(refused.value)


def test_the_worker_scans_and_writes_the_214(shipments, tmp_path):
    b, _, _, relay, folder = shipments
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(_config(b, tmp_path)))
    _update(b, STAT_CD="D1", STAT_TM=70200)
    result = CliRunner().invoke(main, ["worker", "--once", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "1 event(s) published to sinks" in result.output
    (name,) = _files(folder)
    (ic,) = read_interchanges((folder / name).read_bytes())
    assert ("AT7", "D1", "NS", "", "", "20261201", "0702") in ic.groups[0].sets[0].segments
