"""The hand-written TMS samples (tests/data/x12, values listed in its README) served as resources:
204 load tenders whose shipper and consignee sit inside their stops, with pick-up windows by G62
qualifier and an N2 charge; 214 status messages whose LX loops are status events, keyed by their
interchange and set control numbers (two sets report the same shipment)."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.backends import make_app
from helpers.x12 import ok

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "x12"

TENDER = {
    "set": "204",
    "fields": {
        "shipment_id": {"element": "B2.4", "required": True},
        "scac": "B2.2",
        "payment": "B2.6",
        "purpose": "B2A.1",
        "bill_of_lading": {"element": "L11.1", "when": {"L11.2": "BM"}},
        "respond_by": {"element": "G62.2", "when": {"G62.1": "64"}, "type": "date"},
        "bill_to": {
            "loop": "N1",
            "when": {"N1.1": "BT"},
            "single": True,
            "fields": {"name": "N1.2", "street": "N3.1", "suite": "N3.2", "city": "N4.1", "zip": "N4.3"},
        },
        "stops": {
            "loop": "S5",
            "fields": {
                "seq": {"element": "S5.1", "type": "int"},
                "reason": "S5.2",
                "weight": {"element": "S5.3", "type": "decimal"},
                "earliest": {"element": "G62.2", "when": {"G62.1": ["37", "53"]}, "type": "date"},
                "window": {
                    "fields": {
                        "from": {"element": "G62.4", "when": {"G62.1": ["37", "53"]}, "type": "time"},
                        "to": {"element": "G62.4", "when": {"G62.1": ["38", "54"]}, "type": "time"},
                    }
                },
                "shipper": {"loop": "N1", "when": {"N1.1": "SH"}, "single": True, "fields": {"name": "N1.2"}},
                "consignee": {"loop": "N1", "when": {"N1.1": "CN"}, "single": True, "fields": {"name": "N1.2"}},
            },
        },
        "charge": {"element": "L3.5", "type": "int"},
    },
}
TENDERS = {
    "source": "tenders",
    "key": ["shipment_id"],
    "fields": {
        "shipment_id": "shipment_id",
        "scac": "scac",
        "payment": {"column": "payment", "converter": {"code": {"codes": {"PP": "prepaid", "CC": "collect"}}}},
        "purpose": {"column": "purpose", "converter": {"code": {"codes": {"00": "original", "01": "cancellation"}}}},
        "bill_of_lading": "bill_of_lading",
        "respond_by": {"column": "respond_by", "converter": "date"},
        "bill_to": {
            "type": "object",
            "column": "bill_to",
            "fields": {"name": "name", "street": "street", "suite": "suite"},
        },
        "stops": {
            "type": "array",
            "column": "stops",
            "fields": {
                "seq": {"column": "seq", "converter": "int"},
                "reason": {"column": "reason", "filter": True},
                "weight": {"column": "weight", "converter": "decimal"},
                "earliest": {"column": "earliest", "converter": "date"},
                "window": {
                    "type": "object",
                    "column": "window",
                    "fields": {
                        "from": {"column": "from", "converter": "time"},
                        "to": {"column": "to", "converter": "time"},
                    },
                },
                "shipper": {"type": "object", "column": "shipper", "fields": {"name": "name"}},
                "consignee": {"type": "object", "column": "consignee", "fields": {"name": "name"}},
            },
        },
        "charge": {"column": "charge", "converter": {"decimal": {"implied": 2}}},
    },
}

STATUS = {
    "set": "214",
    "fields": {
        "interchange": "ISA.13",
        "set_control": "ST.2",
        "pro": "B10.1",
        "shipment_id": "B10.2",
        "scac": "B10.3",
        "events": {
            "loop": "LX",
            "fields": {
                "status": "AT7.1",
                "reason": "AT7.2",
                "date": {"element": "AT7.5", "type": "date"},
                "time": {"element": "AT7.6", "type": "time"},
                "city": "MS1.1",
                "state": "MS1.2",
                "trailer": "MS2.2",
            },
        },
    },
}
STATUSES = {
    "source": "statuses",
    "key": ["interchange", "set_control"],
    "fields": {
        "interchange": "interchange",
        "set_control": "set_control",
        "pro": "pro",
        "shipment_id": {"column": "shipment_id", "filter": True},
        "events": {
            "type": "array",
            "column": "events",
            "fields": {
                "status": {
                    "column": "status",
                    "converter": {
                        "code": {"codes": {"AF": "departed_pickup", "X1": "arrived_delivery", "D1": "unloaded"}}
                    },
                    "filter": True,
                },
                "date": {"column": "date", "converter": "date"},
                "time": {"column": "time", "converter": "time"},
                "city": "city",
                "trailer": "trailer",
            },
        },
    },
}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("x12-tms")
    base = {"kind": "flatfile", "format": "x12", "path": str(SAMPLES / "*.x12"), "pick": "all"}
    config = {
        "service": {"secret": "s"},
        "sources": {
            "tenders": {**base, "x12": TENDER, "index_dir": str(tmp / "index")},
            "statuses": {**base, "x12": STATUS, "index_dir": str(tmp / "index")},
        },
        "resources": {"tenders": TENDERS, "statuses": STATUSES},
    }
    app = make_app(config)
    yield app.test_client()
    app.extensions["legacy_bridge"].close()


def test_a_load_tender_reads_its_stops_with_the_parties_and_windows_inside_them(client):
    record = ok(client.get("/v1/tenders/SHIP20261128A"))
    assert record == {
        "shipment_id": "SHIP20261128A",
        "scac": "FSTC",
        "payment": "prepaid",
        "purpose": "original",
        "bill_of_lading": "BOL778899",
        "respond_by": "2026-11-28",
        "bill_to": {"name": "ACME FOODS INC", "street": "100 MAIN STREET", "suite": "SUITE 400"},
        "stops": [
            {
                "seq": 1,
                "reason": "LD",
                "weight": "42000",
                "earliest": "2026-12-01",
                "window": {"from": "08:00:00", "to": "12:00:00"},
                "shipper": {"name": "ACME FOODS PLANT 2"},
                "consignee": None,
            },
            {
                "seq": 2,
                "reason": "UL",
                "weight": "42000",
                "earliest": "2026-12-02",
                "window": {"from": "07:00:00", "to": "15:00:00"},
                "shipper": None,
                "consignee": {"name": "BIGBOX DC 14"},
            },
        ],
        "charge": "1850.00",
    }


def test_the_cancellation_reads_its_decimal_weights_and_its_charge(client):
    record = ok(client.get("/v1/tenders/SHIP20261128B"))
    assert (record["purpose"], record["payment"], record["charge"]) == ("cancellation", "collect", "98.75")
    assert [(s["reason"], s["weight"]) for s in record["stops"]] == [("CL", "1250.5"), ("CU", "1250.5")]
    assert [r["shipment_id"] for r in ok(client.get("/v1/tenders?stops.reason=CU"))["data"]] == ["SHIP20261128B"]


def test_status_messages_are_keyed_by_interchange_and_set_and_their_lx_loops_are_events(client):
    page = ok(client.get("/v1/statuses?shipment_id=SHIP20261128A"))
    assert [(r["interchange"], r["set_control"]) for r in page["data"]] == [
        ("000000503", "0001"),
        ("000000503", "0002"),
    ]
    first = ok(client.get("/v1/statuses/000000503/0001"))
    assert first["events"] == [
        {"status": "departed_pickup", "date": "2026-12-01", "time": "08:15:00", "city": "JOLIET", "trailer": "TRL5531"},
        {
            "status": "arrived_delivery",
            "date": "2026-12-02",
            "time": "06:40:00",
            "city": "INDIANAPOLIS",
            "trailer": "TRL5531",
        },
    ]
    delivered = ok(client.get("/v1/statuses?events.status=unloaded"))["data"]
    assert [(r["set_control"], r["events"][0]["time"]) for r in delivered] == [("0002", "07:02:00")]
