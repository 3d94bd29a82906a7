"""The X12 mapping: its config checked with the path of every problem, and transaction sets read
into nested records (qualified parties, loops, HL hierarchies, typed values, refusals)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from helpers.x12 import ASN856, EDI, PO850, TENDER204, tender
from legacy_bridge.drivers.flatfile.x12_mapping import MappingError, parse_mapping
from legacy_bridge.drivers.flatfile.x12_reading import read_set

TENDER = "\n".join(tender("0001", "SH12345", "SCAC", 1))


def _sets(text: str) -> list[list[tuple[str, ...]]]:
    """The transaction sets of a sample whose segments end with line breaks (test scaffolding)."""
    sets, current = [], None
    for line in text.splitlines():
        segment = tuple(line.split("*"))
        if segment[0] == "ST":
            current = []
        if current is not None:
            current.append(segment)
        if segment[0] == "SE":
            sets.append(current)
            current = None
    return sets


def _envelope(text: str) -> list[tuple[str, ...]]:
    return [tuple(line.split("*")) for line in text.splitlines() if line.startswith(("ISA", "GS"))]


def _mapping(raw):
    mapping, problems = parse_mapping(raw)
    assert problems == []
    return mapping


def test_the_850_reads_its_header_party_lines_and_totals():
    text = (EDI / "gozer-po850.txt").read_text()
    mapping = _mapping(PO850)
    record = dict(zip(mapping.columns, read_set(mapping, _sets(text)[0], ">", _envelope(text))))
    assert record["po_number"] == "08292233294"
    assert record["po_date"] == dt.date(2010, 11, 27)
    assert record["department"] == "038"
    assert record["requested"] == dt.date(2010, 12, 14)
    assert record["sender"] == "ABCDEFGHIJKLMNO"
    assert record["ship_to"] == {
        "name": "XYZ RETAIL",
        "id": "0003947268292",
        "street": "31875 SOLON RD",
        "city": "SOLON",
        "zip": "44139",
    }
    assert record["lines"] == [
        {
            "line": 5,
            "qty": Decimal("72"),
            "unit": "EA",
            "price": Decimal("7.5"),
            "buyer_item": "065374-118",
            "description": "RED",
            "pack": 4,
        },
        {
            "line": 6,
            "qty": Decimal("696"),
            "unit": "EA",
            "price": Decimal("9.55"),
            "buyer_item": "067504-118",
            "description": "NO BLUE",
            "pack": 6,
        },
    ]
    # CTT and AMT follow the last PO1 loop but the header maps them: they end it
    assert record["totals"] == {"lines": 2, "amount": Decimal("13045.94")}


def test_the_856_nests_orders_and_items_under_the_shipment_by_hl_parent_ids():
    text = (EDI / "gozer-asn856.txt").read_text()
    mapping = _mapping(ASN856)
    record = dict(zip(mapping.columns, read_set(mapping, _sets(text)[0], ">")))
    assert record["shipment_id"] == "829716"
    assert record["item_count"] == 4
    shipment = record["shipment"]
    assert shipment["weight"] == Decimal("60.310")
    assert shipment["bill_of_lading"] == "999999-001"
    assert shipment["shipped"] == dt.date(2011, 12, 6)
    assert shipment["ship_from"] == {"name": "1 EDI SOURCE", "city": "SOLON"}
    assert shipment["orders"] == [
        {
            "po_number": "99999817",
            "items": [
                {"sku": "87787D", "upc": "999999310145", "shipped": Decimal("24")},
                {"sku": "99887D", "upc": "999999311746", "shipped": Decimal("6")},
            ],
        }
    ]


def test_a_204_reads_stops_as_an_array_beside_its_shipper_and_consignee():
    mapping = _mapping(TENDER204)
    record = dict(zip(mapping.columns, read_set(mapping, _sets(TENDER)[0])))
    assert record["shipment_id"] == "SH12345"
    assert record["pickup"] == dt.date(2024, 3, 1)
    assert record["shipper"] == {"name": "ACME SHIPPING", "city": "AKRON"}
    assert record["consignee"] == {"name": "BUYER INC", "city": "DAYTON"}
    assert record["stops"] == [
        {
            "seq": 1,
            "reason": "LD",
            "date": dt.date(2024, 3, 1),
            "time": dt.time(8, 0),
            "party": {"code": "SF", "name": "ACME DOCK"},
        },
        {
            "seq": 2,
            "reason": "UL",
            "date": dt.date(2024, 3, 2),
            "time": dt.time(14, 30),
            "party": {"code": "ST", "name": "BUYER DC"},
        },
    ]
    assert record["weight"] == Decimal("12000")


def test_a_missing_required_element_and_a_value_not_of_its_type_are_refused_naming_the_field():
    mapping = _mapping(TENDER204)
    segments = _sets(TENDER.replace("B2**SCAC**SH12345**PP", "B2**SCAC****PP"))[0]
    with pytest.raises(MappingError) as missing:
        read_set(mapping, segments)
    assert (missing.value.field, missing.value.reason) == ("shipment_id", "required B2.4 is missing")
    with pytest.raises(MappingError) as bad:
        read_set(mapping, _sets(TENDER.replace("S5*2*UL", "S5*X2*UL"))[0])
    assert (bad.value.field, bad.value.reason) == ("stops.seq", "S5.1 'X2' is not an integer")


def test_two_instances_of_a_single_loop_are_refused_rather_than_one_dropped():
    mapping = _mapping(TENDER204)
    with pytest.raises(MappingError) as twice:
        read_set(mapping, _sets(TENDER.replace("N1*CN*BUYER INC", "N1*SH*OTHER"))[0])
    assert twice.value.field == "shipper" and twice.value.reason == "2 N1 loop with N1.1 SH where one is mapped"


def test_a_composite_component_is_read_with_the_sub_element_separator():
    mapping = _mapping({"set": "856", "fields": {"unit": "TD1.7.2"}})
    assert read_set(mapping, [("ST", "856", "1"), ("TD1", "", "", "", "", "", "", "60^LB"), ("SE", "3", "1")], "^") == (
        "LB",
    )


@pytest.mark.parametrize(
    "raw, where, says",
    [
        ({"set": "850", "fields": {"po": "B2.x"}}, "x12.fields.po.element", "not an element reference: 'B2.x'"),
        ({"set": "850", "fields": {"po": "b2.4"}}, "x12.fields.po.element", "not an element reference"),
        ({"set": "850", "fields": {"po": "B2.0"}}, "x12.fields.po.element", "not an element reference"),
        ({"set": "85", "fields": {"po": "BEG.3"}}, "x12.set", "3 digits"),
        (
            {"set": "850", "fields": {"lines": {"fields": {"qty": "PO1.2"}, "until": ["CTT"]}}},
            "x12.fields.lines.until",
            "only for a loop",
        ),
        (
            {"set": "850", "fields": {"lines": {"loop": "", "fields": {"qty": "PO1.2"}}}},
            "x12.fields.lines.loop",
            "segment id",
        ),
        ({"set": "850", "fields": {"lines": {"single": True}}}, "x12.fields.lines", "loop: SEG"),
        (
            {"set": "850", "fields": {"to": {"loop": "N1", "when": {"N3.1": "ST"}, "fields": {"n": "N1.2"}}}},
            "x12.fields.to.when.N3.1",
            "tests the N1 segment",
        ),
        (
            {"set": "850", "fields": {"d": {"element": "DTM.2", "type": "datetime"}}},
            "x12.fields.d.type",
            "unknown type",
        ),
        (
            {"set": "850", "fields": {"d": {"element": "DTM.2", "when": {"DTM.1": []}}}},
            "x12.fields.d.when.DTM.1",
            "a code or a list",
        ),
        ({"set": "850", "fields": {"d": {"element": "DTM.2", "colum": 1}}}, "x12.fields.d.colum", "unknown key"),
        ({"set": "850", "fields": {}}, "x12.fields", "expected the mapped fields"),
        (
            {"set": "850", "fields": {"d": {"element": "DTM.2", "when": {"DTM.1": 9}}}},
            "x12.fields.d.when.DTM.1",
            "quoted",
        ),
        ({"set": "850", "fields": {"__file__": "BEG.3"}}, "x12.fields.__file__", "not starting with"),
    ],
)
def test_a_malformed_mapping_is_refused_with_the_path_of_the_problem(raw, where, says):
    mapping, problems = parse_mapping(raw)
    assert mapping is None
    assert any(key == where and says in message for key, message in problems), problems


def _segments(*lines: str) -> list[tuple[str, ...]]:
    return [tuple(line.split("*")) for line in lines]


LOOPS = {
    "set": "204",
    "fields": {
        "bol": {"element": "L11.1", "when": {"L11.2": "BM"}},
        "stops": {"loop": "S5", "fields": {"seq": "S5.1", "date": "G62.2"}},
        "weight": "L3.1",
    },
}


def test_a_segment_the_header_maps_stays_in_the_stop_it_follows_and_the_summary_returns_to_the_header():
    segments = _segments(
        "ST*204*1",
        "L11*B1*BM",
        "S5*1*LD",
        "L11*B2*BM",
        "G62*69*20240301",
        "S5*2*UL",
        "G62*70*20240302",
        "L3*900",
        "SE*9*1",
    )
    bol, stops, weight = read_set(_mapping(LOOPS), segments)
    assert bol == "B1"  # the stop's L11 is the stop's, not a second header value
    assert stops == [{"seq": "1", "date": "20240301"}, {"seq": "2", "date": "20240302"}]
    assert weight == "900"  # after the last segment the last stop maps: the header's again


def test_until_ends_a_loop_at_a_segment_it_would_otherwise_keep():
    raw = {**LOOPS, "fields": {**LOOPS["fields"], "stops": {**LOOPS["fields"]["stops"], "until": ["G62"]}}}
    raw["fields"]["stops"]["fields"] = {"seq": "S5.1"}
    raw["fields"]["last_date"] = "G62.2"
    segments = _segments("ST*204*1", "S5*1*LD", "G62*69*20240301", "SE*4*1")
    assert read_set(_mapping(raw), segments) == (None, [{"seq": "1"}], None, "20240301")
