"""997 and 999 acknowledgements built for received groups, written, and read back with our
own reader: every AK/IK segment checked, and the envelope's sender and receiver swapped."""

from __future__ import annotations

import datetime as dt
import io
import os

import pytest

from legacy_bridge.drivers.flatfile.delivery import write_atomically
from legacy_bridge.drivers.flatfile.x12 import Delimiters, X12Error, X12Reader, read_interchanges, write_segments
from legacy_bridge.drivers.flatfile.x12.acks import (
    ElementProblem,
    Receipt,
    SegmentProblem,
    SetProblems,
    ack_code,
    acknowledgement,
    acknowledgement_set,
    interchange_acknowledgement,
)
from legacy_bridge.drivers.flatfile.x12.deliver import deliver_interchange
from legacy_bridge.drivers.flatfile.x12.writer import envelope_group, envelope_interchange, envelope_set

WHEN = dt.datetime(2026, 11, 30, 8, 15)
D = Delimiters(element="*", sub_element=":", repetition="^", segment="~", line_break="\n")


def received(version: str = "004010", isa_version: str = "00401", sets=("0001", "0002")) -> bytes:
    convention = version if version.startswith("005010X") else None  # ST03, as the 005010 guides want
    bodies = [envelope_set("204", c, [("B2", "", "FSTC", "", f"SHIP{c}")], convention) for c in sets]
    group = envelope_group("SM", bodies, sender="ACMEAPP", receiver="FSTCAPP", control=77, version=version, when=WHEN)
    return write_segments(
        envelope_interchange(
            [group], sender="ACME", receiver="FSTC", receiver_qualifier="02", control=900, when=WHEN,
            version=isa_version, delimiters=D,
        ),
        D,
    )  # fmt: skip


def receipt_of(data: bytes) -> Receipt:
    (receipt,) = Receipt.gather(X12Reader(io.BytesIO(data)).events())
    return receipt


def ack_read_back(receipt: Receipt):
    """The acknowledgement interchange written and read again: (interchange, group, segments)."""
    data = write_segments(acknowledgement(receipt, interchange_control=31, group_control=31, when=WHEN), D)
    (ic,) = read_interchanges(data)
    (group,) = ic.groups
    (ack,) = group.sets
    return ic, group, ack.segments


def test_an_accepted_group_gets_a_997_accepting_each_set():
    ic, group, segments = ack_read_back(receipt_of(received()))
    assert (ic.sender_qualifier, ic.sender, ic.receiver_qualifier, ic.receiver) == ("02", "FSTC", "ZZ", "ACME")
    assert (ic.control, ic.version, ic.usage) == ("000000031", "00401", "P")
    assert (group.code, group.sender, group.receiver, group.control, group.version) == (
        "FA",
        "FSTCAPP",
        "ACMEAPP",
        "31",
        "004010",
    )
    assert segments == [
        ("ST", "997", "0001"),
        ("AK1", "SM", "77"),
        ("AK2", "204", "0001"),
        ("AK5", "A"),
        ("AK2", "204", "0002"),
        ("AK5", "A"),
        ("AK9", "A", "2", "2", "2"),
        ("SE", "8", "0001"),
    ]


def test_a_set_with_a_wrong_se01_is_rejected_and_the_group_partially_accepted():
    data = received().replace(b"SE*3*0001~", b"SE*7*0001~")
    receipt = receipt_of(data)
    assert receipt.problems["0001"] == SetProblems("0001", ("4",))
    _, _, segments = ack_read_back(receipt)
    assert segments[1:-1] == [
        ("AK1", "SM", "77"),
        ("AK2", "204", "0001"),
        ("AK5", "R", "4"),  # number of included segments does not match actual count
        ("AK2", "204", "0002"),
        ("AK5", "A"),
        ("AK9", "P", "2", "2", "1"),  # partially accepted: one set of two
    ]


def test_a_group_whose_only_set_is_rejected_is_rejected():
    receipt = receipt_of(received(sets=("0001",)).replace(b"SE*3*0001~", b"SE*3*0002~"))
    _, _, segments = ack_read_back(receipt)
    assert segments[2:-1] == [("AK2", "204", "0001"), ("AK5", "R", "3"), ("AK9", "R", "1", "1", "0")]


def test_a_group_whose_ge01_is_wrong_is_rejected_with_code_5():
    receipt = receipt_of(received().replace(b"GE*2*77~", b"GE*3*77~"))
    assert receipt.group_codes == ["5"] and receipt.declared == 3
    _, _, segments = ack_read_back(receipt)
    assert segments[-2] == ("AK9", "R", "3", "2", "0", "5")
    assert segments[3] == ("AK5", "A")  # its sets were sound themselves


def test_segment_and_element_problems_noted_but_accepted_make_an_e():
    receipt = receipt_of(received())
    bad_date = ElementProblem(position=3, code="8", reference="373", value="20261399")
    receipt.problems["0002"] = SetProblems(
        "0002", segments=(SegmentProblem(2, "B2", elements=(bad_date,)),), accepted=True
    )
    _, _, segments = ack_read_back(receipt)
    assert segments[4:-1] == [
        ("AK2", "204", "0002"),
        ("AK3", "B2", "2", "", "8"),
        ("AK4", "3", "373", "8", "20261399"),
        ("AK5", "E", "5"),
        ("AK9", "E", "2", "2", "2"),
    ]


def test_a_005010_implementation_guide_group_gets_a_999_with_ik_segments():
    receipt = receipt_of(received(version="005010X214", isa_version="00501"))
    too_long = ElementProblem(position=4, code="5", component=2, repeat=1, reference="145", value="X" * 31)
    receipt.problems["0001"] = SetProblems("0001", segments=(SegmentProblem(2, "B2", "8", "0100", (too_long,)),))
    assert receipt.sets[0] == ("204", "0001", "005010X214")
    ic, group, segments = ack_read_back(receipt)
    assert (ic.version, ic.delimiters.repetition) == ("00501", "^")
    assert (group.code, group.version) == ("FA", "005010X231A1")
    assert segments == [
        ("ST", "999", "0001", "005010X231A1"),
        ("AK1", "SM", "77", "005010X214"),
        ("AK2", "204", "0001", "005010X214"),
        ("IK3", "B2", "2", "0100", "8"),
        ("IK4", "4:2:1", "145", "5", "X" * 31),
        ("IK5", "R", "5"),
        ("AK2", "204", "0002", "005010X214"),
        ("IK5", "A"),
        ("AK9", "P", "2", "2", "1"),
        ("SE", "10", "0001"),
    ]


def test_a_plain_005010_group_gets_a_997():
    _, group, segments = ack_read_back(receipt_of(received(version="005010", isa_version="00501")))
    assert segments[0] == ("ST", "997", "0001") and group.version == "005010"


@pytest.mark.parametrize(
    "statuses, rejected, code",
    [
        ([], False, "A"),
        (["A", "A"], False, "A"),
        (["A", "E"], False, "E"),
        (["E", "R"], False, "P"),
        (["R"], False, "R"),
        (["A"], True, "R"),
    ],
)
def test_the_group_code_from_its_sets(statuses, rejected, code):
    assert ack_code(statuses, rejected) == code


def test_an_acknowledgement_is_written_whole_into_the_folder(tmp_path):
    segments = acknowledgement(receipt_of(received()), interchange_control=5, group_control=5, when=WHEN)
    path = deliver_interchange(str(tmp_path), segments, D)
    assert os.path.basename(path) == "997.000000005.x12"
    assert os.listdir(tmp_path) == ["997.000000005.x12"]  # no .part left behind
    (ic,) = read_interchanges(open(path, "rb").read())
    assert ic.groups[0].sets[0].segments[-2] == ("AK9", "A", "2", "2", "2")
    with pytest.raises(FileExistsError):
        write_atomically(str(tmp_path), "997.000000005.x12", b"other")
    assert open(path, "rb").read() == write_segments(segments, D)
    with pytest.raises(ValueError, match="holds a delimiter"):
        deliver_interchange(str(tmp_path), [*segments[:-1], ("IEA", "1~", "000000005")], D, name="bad.x12")
    assert sorted(os.listdir(tmp_path)) == ["997.000000005.x12"]  # nothing written for a refused one


def test_problems_for_a_set_the_group_did_not_bring_are_refused():
    receipt = receipt_of(received())
    receipt.problems["0009"] = SetProblems("0009", ("4",))
    with pytest.raises(ValueError, match="problems for sets the group did not bring: 0009"):
        acknowledgement_set(receipt, D)


def test_a_group_of_a_version_not_read_is_rejected_with_code_2_and_its_sets_with_code_1():
    receipt = receipt_of(received(version="003040"))
    assert (receipt.group_codes, receipt.group_rejected) == (["2"], True)
    segments = acknowledgement_set(receipt, D)  # in 003040 too, which our reader does not read back
    assert segments[1:-1] == [
        ("AK1", "SM", "77"),
        ("AK2", "204", "0001"),
        ("AK5", "R", "1"),
        ("AK2", "204", "0002"),
        ("AK5", "R", "1"),
        ("AK9", "R", "2", "2", "0", "2"),
    ]


def test_a_group_whose_interchange_breaks_before_its_ge_gets_no_receipt():
    data = received().replace(b"GE*2*77~", b"XX*2*77~")
    assert list(Receipt.gather(X12Reader(io.BytesIO(data)).events())) == []


def test_a_broken_interchange_gets_a_ta1_naming_its_note_code():
    data = received().replace(b"GS*SM*", b"XX*SM*")
    (_, err), *_ = [(o, e) for o, e in X12Reader(io.BytesIO(data)).events() if isinstance(e, X12Error)]
    assert (err.level, err.code, err.interchange.control) == ("interchange", "024", "000000900")
    segments = interchange_acknowledgement(err.interchange, err.code, interchange_control=32, when=WHEN)
    written = write_segments(segments, D)
    assert written.startswith(b"ISA*00*          *00*          *02*FSTC           *ZZ*ACME           *261130*0815*")
    assert segments[1:] == [("TA1", "000000900", "261130", "0815", "R", "024"), ("IEA", "0", "000000032")]
    ok = interchange_acknowledgement(receipt_of(received()).interchange, interchange_control=33, when=WHEN)
    assert ok[1] == ("TA1", "000000900", "261130", "0815", "A", "000")
