"""Our hand-written 204, 990 and 214 (tests/data/x12) read to the values its README writes
out from the published 004010 segment layouts, and written back to the same bytes."""

from __future__ import annotations

from pathlib import Path

import pytest

from legacy_bridge.drivers.flatfile.x12 import Delimiters, Segment, read_interchanges, write_interchange

DATA = Path(__file__).resolve().parents[1] / "data" / "x12"
TILDE_LF = Delimiters(element="*", sub_element=">", repetition=None, segment="~", line_break="\n")


def read(name: str):
    (ic,) = read_interchanges((DATA / name).read_bytes())
    (group,) = ic.groups
    return ic, group


def runs(segments: list[Segment], start: str) -> list[list[Segment]]:
    """The loops that open with ``start``: each from one ``start`` to the next (or the SE/L3)."""
    out: list[list[Segment]] = []
    for seg in segments:
        if seg[0] == start:
            out.append([])
        if out and seg[0] not in ("SE", "L3"):
            out[-1].append(seg)
    return out


@pytest.mark.parametrize("name", ["tms-204-load-tender.x12", "tms-990-response.x12", "tms-214-status.x12"])
def test_each_sample_writes_back_to_its_bytes(name):
    data = (DATA / name).read_bytes()
    (ic,) = read_interchanges(data)
    assert ic.delimiters == TILDE_LF
    assert write_interchange(ic) == data


def test_the_204_envelopes():
    ic, group = read("tms-204-load-tender.x12")
    assert (ic.sender_qualifier, ic.sender, ic.receiver_qualifier, ic.receiver) == ("ZZ", "ACMESHIPPER", "02", "FSTC")
    assert (ic.date, ic.time, ic.version, ic.control, ic.ack_requested, ic.usage) == (
        "261128",
        "0930",
        "00401",
        "000000101",
        "1",
        "T",
    )
    assert (group.code, group.sender, group.receiver, group.date, group.time, group.control, group.version) == (
        "SM",
        "ACMESHIPPER",
        "FSTC",
        "20261128",
        "0930",
        "101",
        "004010",
    )
    assert [(s.code, s.control, len(s.segments)) for s in group.sets] == [("204", "0001", 27), ("204", "0002", 16)]
    assert group.trailer == ("GE", "2", "101") and ic.trailer == ("IEA", "1", "000000101")


def test_the_204_original_tender():
    _, group = read("tms-204-load-tender.x12")
    seg = group.sets[0].segments
    assert seg[1] == ("B2", "", "FSTC", "", "SHIP20261128A", "", "PP")
    assert seg[2] == ("B2A", "00", "LT")
    assert [s[1:] for s in seg[:10] if s[0] == "L11"] == [("BOL778899", "BM"), ("PO-4521", "PO")]
    assert seg[5] == ("G62", "64", "20261128", "1", "1200")
    assert seg[6] == ("MS3", "FSTC", "B", "", "M")
    bill_to = seg[7:10]
    assert bill_to == [
        ("N1", "BT", "ACME FOODS INC", "93", "ACME01"),
        ("N3", "100 MAIN STREET", "SUITE 400"),
        ("N4", "CHICAGO", "IL", "60601", "US"),
    ]
    pick, drop = runs(seg, "S5")
    assert pick[0] == ("S5", "1", "LD", "42000", "L", "20", "PL")
    assert [s for s in pick if s[0] == "L11"] == [("L11", "PU-7001", "PU")]
    assert [s[1:] for s in pick if s[0] == "G62"] == [("37", "20261201", "I", "0800"), ("38", "20261201", "K", "1200")]
    assert ("AT8", "G", "L", "42000", "20") in pick
    assert pick[-3:] == [
        ("N1", "SH", "ACME FOODS PLANT 2", "93", "ACMEP2"),
        ("N3", "2500 INDUSTRIAL PKWY"),
        ("N4", "JOLIET", "IL", "60431", "US"),
    ]
    assert drop[0] == ("S5", "2", "UL", "42000", "L", "20", "PL")
    assert [s[1:] for s in drop if s[0] == "G62"] == [("53", "20261202", "G", "0700"), ("54", "20261202", "L", "1500")]
    assert drop[-3:] == [
        ("N1", "CN", "BIGBOX DC 14", "93", "BB014"),
        ("N3", "800 DISTRIBUTION DR"),
        ("N4", "INDIANAPOLIS", "IN", "46241", "US"),
    ]
    l3 = seg[-2]
    assert (l3[0], l3[1], l3[2], l3[5], l3[11], l3[12]) == ("L3", "42000", "G", "185000", "20", "L")
    assert seg[-1] == ("SE", "27", "0001")


def test_the_204_cancellation():
    _, group = read("tms-204-load-tender.x12")
    seg = group.sets[1].segments
    assert (seg[1][4], seg[1][6]) == ("SHIP20261128B", "CC")
    assert seg[2] == ("B2A", "01", "LT")
    assert seg[3] == ("L11", "BOL778900", "BM")
    assert seg[4:6] == [("N1", "BT", "ACME FOODS INC", "93", "ACME01"), ("N4", "CHICAGO", "IL", "60601", "US")]
    pick, drop = runs(seg, "S5")
    assert pick == [
        ("S5", "1", "CL", "1250.5", "L", "3", "PL"),
        ("G62", "10", "20261203", "U", "1000"),
        ("N1", "SH", "ACME FOODS PLANT 2", "93", "ACMEP2"),
        ("N4", "JOLIET", "IL", "60431", "US"),
    ]
    assert drop == [
        ("S5", "2", "CU", "1250.5", "L", "3", "PL"),
        ("G62", "68", "20261204", "X", "0900"),
        ("N1", "CN", "CORNER MARKET", "93", "CM7"),
        ("N4", "GARY", "IN", "46402", "US"),
    ]
    assert seg[-2] == ("L3", "1250.5", "G", "", "", "9875")


def test_the_990_responses():
    ic, group = read("tms-990-response.x12")
    envelopes = [ic.sender_qualifier, ic.sender, ic.receiver_qualifier, ic.receiver, ic.control]
    envelopes += [group.code, group.sender, group.receiver, group.control, group.version]
    assert envelopes == ["02", "FSTC", "ZZ", "ACMESHIPPER", "000000502", "GF", "FSTC", "ACMESHIPPER", "502", "004010"]
    assert [(s.control, s.segments[1:3]) for s in group.sets] == [
        ("0001", [("B1", "FSTC", "SHIP20261128A", "20261128", "A"), ("N9", "CN", "PRO5550001")]),
        ("0002", [("B1", "FSTC", "SHIP20261128B", "20261128", "D"), ("N9", "BM", "BOL778900")]),
    ]
    assert [len(s.segments) for s in group.sets] == [4, 4]


def test_the_214_statuses():
    ic, group = read("tms-214-status.x12")
    assert (ic.sender, ic.receiver, ic.date, ic.time, ic.control) == (
        "FSTC",
        "ACMESHIPPER",
        "261202",
        "0705",
        "000000503",
    )
    assert (group.code, group.control, group.version) == ("QM", "503", "004010")
    first, last = group.sets
    assert (len(first.segments), len(last.segments)) == (13, 6)
    assert first.segments[1] == ("B10", "PRO5550001", "SHIP20261128A", "FSTC")
    assert first.segments[2:4] == [("L11", "BOL778899", "BM"), ("L11", "PO-4521", "PO")]
    assert runs(first.segments, "LX") == [
        [
            ("LX", "1"),
            ("AT7", "AF", "NS", "", "", "20261201", "0815", "LT"),
            ("MS1", "JOLIET", "IL", "US"),
            ("MS2", "FSTC", "TRL5531"),
        ],
        [
            ("LX", "2"),
            ("AT7", "X1", "NS", "", "", "20261202", "0640", "LT"),
            ("MS1", "INDIANAPOLIS", "IN", "US"),
            ("MS2", "FSTC", "TRL5531"),
        ],
    ]
    assert last.segments[1:5] == [
        ("B10", "PRO5550001", "SHIP20261128A", "FSTC"),
        ("LX", "1"),
        ("AT7", "D1", "NS", "", "", "20261202", "0702", "LT"),
        ("MS1", "INDIANAPOLIS", "IN", "US"),
    ]
