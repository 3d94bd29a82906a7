"""The reverse mapping: records written into segments read back by the same mapping as they were
(the hand-written 204, the gozer 850 and 856), qualifiers, HL numbering, types and refusals."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from helpers.x12 import ASN856, EDI, PO850, TENDER204
from helpers.x12_outbound import RESPONSE990
from legacy_bridge.drivers.flatfile.x12 import read_interchanges
from legacy_bridge.drivers.flatfile.x12_mapping import MappingError, parse_mapping
from legacy_bridge.drivers.flatfile.x12_reading import read_set
from legacy_bridge.drivers.flatfile.x12_writing import default_order, order_problems, write_set

SAMPLES = Path(__file__).parent.parent / "data" / "x12"


def _mapping(raw: dict):
    mapping, problems = parse_mapping(raw)
    assert not problems and mapping is not None
    return mapping


def _sets(data: bytes, code: str):
    for ic in read_interchanges(data, check_counts=False):
        for group in ic.groups:
            for tset in group.sets:
                if tset.code == code:
                    yield ic, group, tset


@pytest.mark.parametrize(
    "raw, data",
    [
        (TENDER204, (SAMPLES / "tms-204-load-tender.x12").read_bytes()),
        (RESPONSE990, (SAMPLES / "tms-990-response.x12").read_bytes()),
        (PO850, (EDI / "gozer-po850.txt").read_bytes()),
        # the gozer 856's IEA02 differs from its ISA13: mended here, the sets are what matter
        (ASN856, (EDI / "gozer-asn856.txt").read_bytes().replace(b"IEA*1*000000049", b"IEA*1*000003438")),
    ],
    ids=["204", "990", "850", "856"],
)
def test_a_record_written_reads_back_the_same(raw, data):
    mapping = _mapping(raw)
    found = 0
    for ic, group, tset in _sets(data, mapping.code):
        sub, envelope = ic.delimiters.sub_element, [ic.header, group.header]
        record = read_set(mapping, tset.segments, sub, envelope)
        body = write_set(mapping, dict(zip(mapping.columns, record)), default_order(mapping), sub)
        assert read_set(mapping, [("ST",), *body, ("SE",)], sub, envelope) == record
        found += 1
    assert found


def test_the_990_is_written_segment_for_segment_as_the_sample():
    mapping = _mapping(RESPONSE990)
    record = {"scac": "FSTC", "shipment_id": "SHIP20261128A", "date": dt.date(2026, 11, 28), "action": "A"}
    body = write_set(mapping, {**record, "pro_number": "PRO5550001"}, default_order(mapping))
    assert body == [("B1", "FSTC", "SHIP20261128A", "20261128", "A"), ("N9", "CN", "PRO5550001")]


def test_hl_levels_are_numbered_with_their_parents():
    mapping = _mapping(ASN856)
    record = {
        "shipment_id": "S1",
        "shipment": {"orders": [{"po_number": "P1", "items": [{"sku": "A"}, {"sku": "B"}]}, {"po_number": "P2"}]},
    }
    hl = [s for s in write_set(mapping, record, default_order(mapping)) if s[0] == "HL"]
    assert hl == [
        ("HL", "1", "", "S", "1"),
        ("HL", "2", "1", "O", "1"),
        ("HL", "3", "2", "I", "0"),
        ("HL", "4", "2", "I", "0"),
        ("HL", "5", "1", "O", "0"),
    ]


def test_types_are_written_as_x12_wants_them():
    mapping = _mapping(TENDER204)
    record = {
        "shipment_id": "S1",
        "weight": Decimal("1250.50"),
        "charge": 9875,
        "stops": [{"seq": 1, "date": "2026-12-01", "time": dt.time(8, 5, 30)}],
    }
    body = write_set(mapping, record, default_order(mapping))
    assert ("L3", "1250.50", "", "", "", "9875") in body
    assert ("G62", "69", "20261201", "", "080530") in body  # the first of the when's codes [69, 70]


@pytest.mark.parametrize(
    "record, field",
    [
        ({"scac": "FSTC"}, "shipment_id"),  # required
        ({"shipment_id": "S1", "date": "tomorrow"}, "date"),
        ({"shipment_id": "S*1"}, "shipment_id"),  # the element separator
        ({"shipment_id": "S1~"}, "shipment_id"),  # the segment terminator
    ],
)
def test_what_the_mapping_cannot_write_is_refused_naming_the_field(record, field):
    mapping = _mapping(RESPONSE990)
    with pytest.raises(MappingError) as caught:
        write_set(mapping, record, default_order(mapping))
    assert caught.value.field == field


def test_a_nested_value_is_named_by_its_path():
    mapping = _mapping(TENDER204)
    with pytest.raises(MappingError) as caught:
        write_set(mapping, {"shipment_id": "S1", "stops": [{"seq": 1}, {"seq": "two"}]}, default_order(mapping))
    assert caught.value.field == "stops[1].seq"


def test_an_order_list_must_name_every_segment_the_mapping_writes():
    mapping = _mapping(RESPONSE990)
    assert order_problems(mapping, ["B1", "N9"]) == []
    assert order_problems(mapping, ["B1"]) == ["the mapping writes N9, not in the list"]
    assert order_problems(mapping, ["B1", "N9", "B1"]) == ["B1 listed twice"]
    assert order_problems(mapping, "B1") != []


def test_the_order_list_places_the_segments():
    mapping = _mapping(RESPONSE990)
    body = write_set(mapping, {"shipment_id": "S1", "pro_number": "P"}, ["N9", "B1"])
    assert [s[0] for s in body] == ["N9", "B1"]


def test_components_are_joined_and_the_sub_element_separator_is_refused_in_values():
    mapping = _mapping({"set": "856", "fields": {"id": "BSN.2", "unit": "SN1.3.1", "basis": "SN1.3.2"}})
    body = write_set(mapping, {"id": "S1", "unit": "EA", "basis": "12"}, default_order(mapping), ">")
    assert body == [("BSN", "", "S1"), ("SN1", "", "", "EA>12")]
    with pytest.raises(MappingError) as caught:
        write_set(mapping, {"id": "S>1"}, default_order(mapping), ">")
    assert caught.value.field == "id"
