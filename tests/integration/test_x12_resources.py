"""X12 interchanges served as resources from a folder of partner files, through the real app: the
gozer 850 and 856 (read from ../shared/testdata/edi) and hand-made 204 load tenders, one record
per transaction set, with pages, key lookup, filters, exports, partitions, the quarantine of a
broken set (named by its control numbers) while the others are served, broken envelopes, several
interchanges in one file, and the nested OpenAPI schema (start-up checks: test_x12_config.py)."""

from __future__ import annotations

import json
import shutil

import pytest

from helpers.backends import make_app
from helpers.x12 import EDI, config, interchange, ok, tender


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("x12")
    inbound = tmp / "inbound"
    inbound.mkdir()
    for name in ("gozer-po850.txt", "gozer-asn856.txt"):
        shutil.copyfile(EDI / name, inbound / name)
    (inbound / "tenders-1.x12").write_text(
        interchange(
            "000000101",
            "101",
            [
                tender("0001", "SH1001", "ABCD", 1),
                tender("0002", "SH1002", "ABCD", 2, count=3),  # SE01 wrong: quarantined
                tender("0003", "SH1003", "WXYZ", 3),
            ],
        )
    )
    (inbound / "tenders-2.x12").write_text(interchange("000000102", "102", [tender("0001", "SH2001", "WXYZ", 4)], "~"))
    return tmp


@pytest.fixture(scope="module")
def client(folder):
    app = make_app(config(folder))
    yield app.test_client()
    app.extensions["legacy_bridge"].close()


def test_the_gozer_850_reads_as_one_purchase_order_with_its_party_and_typed_lines(client):
    body = ok(client.get("/v1/orders"))
    assert body["data"] == [
        {
            "po_number": "08292233294",
            "ordered_on": "2010-11-27",
            "department": "038",
            "ship_to": {"name": "XYZ RETAIL", "gln": "0003947268292", "city": "SOLON"},
            "lines": [
                {"line": 5, "qty": "72", "unit": "each", "price": "7.50", "item": "065374-118", "color": "RED"},
                {"line": 6, "qty": "696", "unit": "each", "price": "9.55", "item": "067504-118", "color": "NO BLUE"},
            ],
            "totals": {"lines": 2, "amount": "13045.94"},
        }
    ]
    assert ok(client.get("/v1/orders/08292233294"))["totals"]["amount"] == "13045.94"
    assert ok(client.get("/v1/orders?lines.item=067504-118"))["data"][0]["po_number"] == "08292233294"
    assert ok(client.get("/v1/orders?lines.item=nothing"))["data"] == []


def test_the_gozer_856_nests_orders_and_items_under_the_shipment(client):
    record = ok(client.get("/v1/notices/829716"))
    assert record == {
        "shipment_id": "829716",
        "shipment": {
            "weight": "60.310",
            "shipped_on": "2011-12-06",
            "ship_from": {"name": "1 EDI SOURCE"},
            "orders": [{"po_number": "99999817", "items": [{"sku": "87787D", "qty": 24}, {"sku": "99887D", "qty": 6}]}],
        },
    }


SH1001 = {
    "shipment_id": "SH1001",
    "scac": "ABCD",
    "sender": "SHIPPERCO",
    "pickup_on": "2024-03-01",
    "shipper": {"name": "ACME SHIPPING", "city": "AKRON"},
    "consignee": {"name": "BUYER INC", "city": "DAYTON"},
    "stops": [
        {"seq": 1, "reason": "load", "on": "2024-03-01", "at": "08:00:00", "party": {"name": "ACME DOCK"}},
        {"seq": 2, "reason": "unload", "on": "2024-03-02", "at": "14:30:00", "party": {"name": "BUYER DC"}},
    ],
    "weight": "12000",
    "charge": "1250.50",
}


def walked(client) -> list[str]:
    """The shipment ids of the tenders, one page of one record at a time (each page resumes by cursor)."""
    seen, url = [], "/v1/tenders?limit=1"
    while url:
        page = ok(client.get(url))
        seen += [r["shipment_id"] for r in page["data"]]
        url = page["next"] and f"/v1/tenders?limit=1&cursor={page['next']}"
    return seen


def test_each_204_is_a_record_with_stops_as_an_array_and_the_broken_one_is_left_out(client):
    body = ok(client.get("/v1/tenders"))
    assert [r["shipment_id"] for r in body["data"]] == ["SH1001", "SH1003", "SH2001"]
    assert body["data"][0] == SH1001
    assert walked(client) == ["SH1001", "SH1003", "SH2001"]


def test_a_204_is_found_by_its_shipment_id_and_by_filters(client):
    assert ok(client.get("/v1/tenders/SH1001")) == SH1001
    assert ok(client.get("/v1/tenders/SH2001"))["pickup_on"] == "2024-03-04"
    assert client.get("/v1/tenders/SH9999").status_code == 404
    assert [r["shipment_id"] for r in ok(client.get("/v1/tenders?scac=WXYZ"))["data"]] == ["SH1003", "SH2001"]
    found = ok(client.get("/v1/tenders?pickup_on=2024-03-03"))["data"]
    assert [r["shipment_id"] for r in found] == ["SH1003"]


def test_the_broken_set_is_quarantined_with_its_control_numbers_and_reason(client):
    listed = ok(client.get("/v1/tenders/quarantine"))
    # (the gozer 856 in the same folder has a trailer naming another interchange: listed too)
    assert [(e["file"], e["reason"]) for e in listed["data"] if e["file"].startswith("tenders")] == [
        (
            "tenders-1.x12",
            "interchange 000000101, group 101, set 0002 (204), segment 34 (SE): SE01 says 3 segments, the set has 16",
        )
    ]
    # the codec hands on a refused set's error, not its segments: its key is not known
    assert client.get("/v1/tenders/SH1002").status_code == 404


def test_a_strict_source_quarantines_the_gozer_850_for_its_segment_count(client):
    assert ok(client.get("/v1/strict-orders"))["data"] == []
    reasons = [e["reason"] for e in ok(client.get("/v1/strict-orders/quarantine"))["data"]]
    assert (
        "interchange 000003438, group 1421, set 000000010 (850), segment 23 (SE): SE01 says 33 segments, the set has 21"
        in reasons
    )
    # and the 856's trailer names another interchange: listed, not silently accepted
    assert "interchange 000003438, segment 35 (IEA): IEA02 is '000000049', ISA13 is '000003438'" in reasons


def test_sets_the_mapping_refuses_are_quarantined_naming_the_field_and_their_key_says_so(tmp_path):
    inbound = tmp_path / "inbound"
    inbound.mkdir()
    missing = tender("0002", "", "ABCD", 2)
    not_a_number = [s.replace("S5*2*UL", "S5*X2*UL") for s in tender("0003", "SH3", "ABCD", 3)]
    sets = [tender("0001", "SH1", "ABCD", 1), missing, not_a_number]
    (inbound / "t.x12").write_text(interchange("000000201", "201", sets))
    app = make_app(config(tmp_path))
    try:
        client = app.test_client()
        assert [r["shipment_id"] for r in ok(client.get("/v1/tenders"))["data"]] == ["SH1"]
        listed = ok(client.get("/v1/tenders/quarantine"))["data"]
        assert [(e["field"], e["reason"]) for e in listed] == [
            ("shipment_id", "interchange 000000201, group 201, set 0002 (204): required B2.4 is missing"),
            ("stops.seq", "interchange 000000201, group 201, set 0003 (204): S5.1 'X2' is not an integer"),
        ]
        answer = client.get("/v1/tenders/SH3")  # what could be read of it still has its key
        assert answer.status_code == 404
        assert answer.get_json()["type"].endswith("record-quarantined") and "S5.1 'X2'" in answer.get_json()["reason"]
    finally:
        app.extensions["legacy_bridge"].close()


def test_ndjson_export_and_partitions_give_each_record_once(client):
    exported = client.get("/v1/tenders/export?format=ndjson")
    assert exported.status_code == 200
    lines = [json.loads(line) for line in exported.get_data(as_text=True).splitlines()]
    assert [r["shipment_id"] for r in lines] == ["SH1001", "SH1003", "SH2001"] and lines[0] == SH1001
    planned = ok(client.get("/v1/tenders/partitions?n=4"))["data"]
    parts = []
    for p in planned:
        got = client.get(f"/v1/tenders/export?format=ndjson&partition={p['partition']}")
        parts += [json.loads(line) for line in got.get_data(as_text=True).splitlines()]
    assert sorted(r["shipment_id"] for r in parts) == ["SH1001", "SH1003", "SH2001"]


def test_the_openapi_document_shows_the_nested_schema(client):
    doc = ok(client.get("/v1/openapi.json"))
    schemas = doc["components"]["schemas"]
    stops = schemas["Tenders"]["properties"]["stops"]
    assert stops["type"] == "array"
    item = stops["items"]
    if "$ref" in item:
        item = schemas[item["$ref"].rsplit("/", 1)[1]]
    assert set(item["properties"]) == {"seq", "reason", "on", "at", "party"}
    assert item["properties"]["reason"]["enum"][:2] == ["load", "unload"]


@pytest.mark.parametrize("broken", ["gozer-x12.missing.ISA.txt", "gozer-x12.wrong.GS.txt"])
def test_a_broken_envelope_is_listed_and_the_other_files_are_served(tmp_path, broken):
    inbound = tmp_path / "inbound"
    inbound.mkdir()
    shutil.copyfile(EDI / broken, inbound / broken)
    (inbound / "t.x12").write_text(interchange("000000301", "301", [tender("0001", "SH3001", "ABCD", 1)]))
    app = make_app(config(tmp_path))
    try:
        client = app.test_client()
        assert [r["shipment_id"] for r in ok(client.get("/v1/tenders"))["data"]] == ["SH3001"]
        listed = ok(client.get("/v1/tenders/quarantine"))
        assert [e["file"] for e in listed["data"]] == [broken] and listed["data"][0]["reason"]
    finally:
        app.extensions["legacy_bridge"].close()


def test_under_reject_a_broken_envelope_refuses_the_resource_naming_the_file(tmp_path):
    inbound = tmp_path / "inbound"
    inbound.mkdir()
    shutil.copyfile(EDI / "gozer-x12.missing.ISA.txt", inbound / "broken.txt")
    raw = config(tmp_path)
    raw["sources"]["tenders"]["bad_records"] = "reject"
    app = make_app(raw)
    try:
        answer = app.test_client().get("/v1/tenders")
        assert answer.status_code == 503
        assert answer.get_json()["file"] == "broken.txt" and "ISA" in answer.get_json()["reason"]
    finally:
        app.extensions["legacy_bridge"].close()


def test_interchanges_with_their_own_delimiters_in_one_file_are_paged_and_found_by_key(tmp_path):
    inbound = tmp_path / "inbound"
    inbound.mkdir()
    first = interchange("000000401", "401", [tender("0001", "SH4001", "ABCD", 1), tender("0002", "SH4002", "ABCD", 2)])
    second = interchange("000000402", "402", [tender("0001", "SH4003", "WXYZ", 3)], end="\n").replace("*", "|")
    (inbound / "two.x12").write_text(first + second)
    app = make_app(config(tmp_path))
    try:
        client = app.test_client()
        assert walked(client) == ["SH4001", "SH4002", "SH4003"]
        found = ok(client.get("/v1/tenders/SH4003"))
        assert found["scac"] == "WXYZ" and found["stops"][1]["on"] == "2024-03-04"
    finally:
        app.extensions["legacy_bridge"].close()
