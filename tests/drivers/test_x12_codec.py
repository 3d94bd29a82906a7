"""The X12 codec on the interchanges of walmartlabs/gozer's test suite (../shared/testdata/edi,
see its SOURCES.md): the values its Java tests assert and every value the files carry read
right, its broken envelopes refused naming what is wrong, and what was read written back to the
same bytes. Synthetic interchanges: test_x12_envelopes.py; reading from offsets: test_x12_resume.py."""

from __future__ import annotations

import io

import pytest

from helpers.x12_envelopes import errors, events, gozer
from legacy_bridge.drivers.flatfile.x12 import (
    Delimiters,
    EnvelopedSet,
    GroupEnd,
    Interchange,
    X12Error,
    X12Reader,
    read_interchanges,
    split_composite,
    write_interchange,
    write_segments,
)

# -- gozer's files: every value read right -------------------------------------------------


def assert_gozer_isa(ic: Interchange, control: str, terminator: str = "\n") -> None:
    assert (ic.sender_qualifier, ic.sender, ic.receiver_qualifier, ic.receiver) == (
        "ZZ",
        "ABCDEFGHIJKLMNO",
        "ZZ",
        "123456789012345",
    )
    assert (ic.date, ic.time, ic.version, ic.control, ic.ack_requested, ic.usage) == (
        "101127",
        "1719",
        "00400",
        control,
        "0",
        "P",
    )
    assert ic.header[1:5] == ("01", "0000000000", "01", "0000000000")  # ISA01-04
    assert ic.header[11] == "U"  # the standards id: no repetition separator before 00402
    assert ic.delimiters == Delimiters(element="*", sub_element=">", repetition=None, segment=terminator, line_break="")


@pytest.mark.parametrize("name", ["x12.base", "x12.base.no.line.breaks"])
def test_the_base_document_reads_as_gozer_asserts_it(name):
    # gozer does not compare SE01/GE01 with what it reads, and these files get them wrong
    (ic,) = read_interchanges(gozer(name), check_counts=False)
    assert_gozer_isa(ic, "000000049", "\n" if name == "x12.base" else "~")
    assert ic.trailer == ("IEA", "2", "000000049")
    assert [(g.code, g.sender, g.receiver, g.date, g.time, g.control, g.agency, g.version) for g in ic.groups] == [
        ("SH", "4405197800", "999999999", "20111206", "1045", "00", "X", "004060"),
        ("SH", "4405197800", "999999999", "20111206", "1045", "99", "X", "004060"),
    ]
    sets = [[(s.code, s.control, s.segments[1]) for s in g.sets] for g in ic.groups]
    assert sets == [
        [
            ("AAA", "0001", ("TEST", "1")),
            ("BBB", "0002", ("TEST", "2")),
            ("YYZ", "0099", ("RUSH" if name == "x12.base" else "TEST", "99")),
        ],
        [("AAA", "0003", ("TEST", "3"))],
    ]
    assert [s.number for g in ic.groups for s in g.sets] == [3, 6, 9, 14]


def test_the_loop_document_keeps_its_hl_segments_in_order():
    (ic,) = read_interchanges(gozer("x12.base.loop"), check_counts=False)
    yyz = ic.groups[0].sets[2]
    assert [seg[0] for seg in yyz.segments] == ["ST", "RUSH", "HL", "PARENT", "HL", "CHILD", "HL", "CHILD", "SE"]
    assert yyz.segments[4] == ("HL", "2", "1", "C")
    assert yyz.segments[2] == ("HL", "1", "", "P")


def test_the_850_purchase_order_values():
    (ic,) = read_interchanges(gozer("po850"), check_counts=False)
    assert_gozer_isa(ic, "000003438")
    (group,) = ic.groups
    assert (group.code, group.control, group.version, group.date) == ("PO", "1421", "004010VICS", "20101127")
    (po,) = group.sets
    assert (po.code, po.control, len(po.segments)) == ("850", "000000010", 21)
    seg = {s[0]: s for s in po.segments}
    assert seg["BEG"] == ("BEG", "00", "SA", "08292233294", "", "20101127", "610385385")
    assert seg["N1"] == ("N1", "ST", "XYZ RETAIL", "9", "0003947268292")
    assert seg["N4"] == ("N4", "SOLON", "OH", "44139")
    assert seg["TD5"][5] == "SEE XYZ RETAIL ROUTING GUIDE"
    lines = [s for s in po.segments if s[0] == "PO1"]
    assert [(s[1], s[2], s[3], s[4], s[7], s[11]) for s in lines] == [
        ("5", "72", "EA", "7.5", "065374-118", "RV0524"),
        ("6", "696", "EA", "9.55", "067504-118", "DX1875"),
    ]
    assert [s[5] for s in po.segments if s[0] == "PID"] == ["RED", "NO BLUE"]
    assert seg["CTT"] == ("CTT", "2") and seg["AMT"] == ("AMT", "1", "13045.94")
    assert ic.trailer == ("IEA", "1", "000003438")


def test_the_850_says_33_segments_where_it_has_21():
    (err,) = errors(gozer("po850"))
    assert (err.level, err.code, err.element, err.segment, err.segment_id) == ("set", "4", "SE01", 23, "SE")
    assert (err.interchange_control, err.group_control, err.set_control, err.set_code) == (
        "000003438",
        "1421",
        "000000010",
        "850",
    )
    assert str(err) == (
        "interchange 000003438, group 1421, set 000000010 (850), segment 23 (SE): SE01 says 33 segments, the set has 21"
    )


def test_the_856_ship_notice_is_read_and_its_iea_control_number_refused():
    got = events(gozer("asn856"))
    (set_offset, read), (ge_offset, end), (iea_offset, err) = got
    assert isinstance(read, EnvelopedSet) and isinstance(end, GroupEnd) and isinstance(err, X12Error)
    asn = read.transaction_set
    assert (asn.code, asn.control, len(asn.segments), asn.offset) == ("856", "0008", 31, set_offset)
    assert (read.group.code, read.group.control, read.group.version) == ("SH", "49", "004060")
    seg = asn.segments
    assert seg[1] == ("BSN", "14", "829716", "20111206", "142428", "0002")
    assert [s[1:] for s in seg if s[0] == "HL"] == [("1", "", "S"), ("2", "1", "O"), ("3", "2", "I"), ("4", "2", "I")]
    assert seg[3] == ("TD1", "PCS", "2", "", "", "", "A3", "60.310", "LB")
    assert [s[1:3] for s in seg if s[0] == "REF"] == [("BM", "999999-001"), ("CN", "5787970539")]
    assert [s[2] for s in seg if s[0] == "N1"] == ["1 EDI SOURCE", "XYZ RETAIL", "1 EDI SOURCE"]
    assert ("N4", "ATLANTA", "GA", "31139-0020", "", "SN", "9999") in seg
    assert [s[1:] for s in seg if s[0] == "LIN"] == [
        ("1", "VP", "87787D", "UP", "999999310145"),
        ("2", "VP", "99887D", "UP", "999999311746"),
    ]
    assert [s[1:] for s in seg if s[0] == "SN1"] == [("1", "24", "EA"), ("2", "6", "EA")]
    assert [s[5] for s in seg if s[0] == "PID"] == ["BLUE WIDGET", "RED WIDGET"]
    assert seg[-2:] == [("CTT", "4", "30"), ("SE", "31", "0008")]
    assert end.received == 1 and end.trailer == ("GE", "1", "49")
    # the file's IEA02 is not its ISA13: the interchange is refused at its end
    assert (err.level, err.element, err.segment, err.segment_id, err.code) == ("interchange", "IEA02", 35, "IEA", "001")
    assert "IEA02 is '000000049', ISA13 is '000003438'" in str(err) and "interchange 000003438" in str(err)
    assert set_offset < ge_offset < iea_offset
    with pytest.raises(X12Error, match="IEA02"):
        list(read_interchanges(gozer("asn856")))


def test_the_base_files_counts_are_refused_when_checked():
    found = errors(gozer("x12.base"))
    assert [(e.level, e.set_control or e.group_control, e.element) for e in found] == [
        ("set", "0001", "SE01"),
        ("set", "0002", "SE01"),
        ("set", "0099", "SE01"),
        ("group", "00", "GE01"),
        ("set", "0003", "SE01"),
    ]
    assert "SE01 says 1 segments, the set has 3" in str(found[0])
    assert "GE01 says 1 transaction sets, the group has 3" in str(found[3])
    *_, one = errors(gozer("x12.base.one"))
    assert one.element == "IEA01" and "IEA01 says 2 groups, the interchange has 1" in str(one)


@pytest.mark.parametrize(
    "name, message, segment_id, element",
    [
        ("x12.missing.ISA", "segment 1 (GS): expected an ISA segment, found GS", "GS", None),
        ("x12.wrong.ISA", "segment 1 (XXX): expected an ISA segment, found XXX", "XXX", None),
        ("x12.wrong.GS", "interchange 000000049, segment 2 (XX): expected a GS segment (or IEA), found XX", "XX", None),
        (
            "x12.no.line.break.no.delim",
            "segment 1 (ISA): the segment terminator (the byte after ISA16) is 'G'",
            "ISA",
            "ISA16",
        ),
    ],
)
def test_a_broken_envelope_is_refused_naming_what_is_wrong(name, message, segment_id, element):
    with pytest.raises(X12Error) as caught:
        list(read_interchanges(gozer(name), check_counts=False))
    err = caught.value
    assert str(err).startswith(message)
    assert (err.segment_id, err.element, err.level) == (segment_id, element, "interchange")
    (streamed,) = errors(gozer(name))  # the stream gives the same, and nothing after it
    assert str(streamed) == str(err) and streamed.fatal == (name != "x12.wrong.GS")


@pytest.mark.parametrize("name", ["x12.base", "x12.base.loop", "x12.base.no.line.breaks", "x12.base.one", "po850"])
def test_writing_what_was_read_gives_the_same_bytes(name):
    data = gozer(name)
    (ic,) = read_interchanges(data, check_counts=False)
    assert write_interchange(ic) == data


def test_the_856_set_writes_back_to_its_bytes():
    data = gozer("asn856")
    offset, read = next(X12Reader(io.BytesIO(data)).scan())
    written = write_segments(read.transaction_set.segments, read.interchange.delimiters)
    assert data[offset : offset + len(written)] == written
    assert written.startswith(b"ST*856*0008\nBSN*14*") and written.endswith(b"SE*31*0008\n")


def test_split_composite():
    d = Delimiters(element="*", sub_element=">", repetition=None, segment="\n")
    assert split_composite("EA>12>X", d) == ["EA", "12", "X"]
    assert split_composite("EA", d) == ["EA"]


def test_gozer_s_one_line_isa_without_terminator_is_refused():
    isa = b"ISA*01*0000000000*01*0000000000*ZZ*ABCDEFGHIJKLMNO*ZZ*123456789012345*101127*1719*U*00400*000000049*0*P*>"
    with pytest.raises(X12Error, match=r"segment 1 \(ISA\): no segment terminator after ISA16: the data ends there"):
        list(read_interchanges(isa))
    with pytest.raises(X12Error, match=r"ISA09 is '' \(0 characters\), 6 expected.*the data ends inside it"):
        list(read_interchanges(isa[:70]))
