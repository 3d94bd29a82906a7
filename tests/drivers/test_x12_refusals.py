"""A set the mapping refuses, told as AK3/AK4: the segment and element of the refused field and the
X12 code of what is wrong (the integration test covers a missing element and a bad number)."""

from __future__ import annotations

import pytest

from legacy_bridge.drivers.flatfile.x12.acks import ElementProblem, SegmentProblem
from legacy_bridge.drivers.flatfile.x12.model import TransactionSet
from legacy_bridge.drivers.flatfile.x12_mapping import MappingError, parse_mapping
from legacy_bridge.drivers.flatfile.x12_reading import read_set
from legacy_bridge.drivers.flatfile.x12_refusals import refusal

MAPPING, _ = parse_mapping(
    {
        "set": "204",
        "fields": {
            "shipment_id": {"element": "B2.4", "required": True},
            "respond_by": {"element": "G62.2", "when": {"G62.1": "64"}, "type": "date"},
            "shipper": {"loop": "N1", "when": {"N1.1": "SH"}, "single": True, "fields": {"name": "N1.2"}},
            "stops": {"loop": "S5", "required": True, "fields": {"seq": "S5.1"}},
        },
    }
)


def refused(*body: str) -> tuple[str, ...]:
    segments = [tuple(s.split("*")) for s in ("ST*204*0001", *body, f"SE*{len(body) + 2}*0001")]
    ts = TransactionSet("204", "0001", segments)
    assert MAPPING is not None
    with pytest.raises(MappingError) as error:
        read_set(MAPPING, segments)
    found = refusal(MAPPING, ts, error.value, ">")
    assert found.control == "0001" and found.codes == ("5",)
    return found.segments


def test_a_bad_date_is_element_code_8_with_its_value_at_the_qualified_segment():
    assert refused("B2**ABCD**SH1", "G62*10*20240301", "G62*64*2024031X", "S5*1*LD") == (
        SegmentProblem(4, "G62", "8", elements=(ElementProblem(2, "8", value="2024031X"),)),
    )


def test_a_single_loop_twice_is_segment_code_4_at_its_second_instance():
    assert refused("B2**ABCD**SH1", "N1*SH*A", "N1*SH*B", "S5*1*LD") == (SegmentProblem(4, "N1", "4", loop="N1"),)


def test_a_required_loop_or_segment_absent_is_segment_code_3():
    assert refused("B2**ABCD**SH1") == (SegmentProblem(3, "S5", "3"),)
    assert refused("B2A*00", "S5*1*LD") == (SegmentProblem(4, "B2", "3"),)
