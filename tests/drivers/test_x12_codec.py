"""The X12 codec on the interchanges of walmartlabs/gozer's test suite (../shared/testdata/edi,
see its SOURCES.md; the values asserted are those its Java tests assert, and what the files
carry), and on synthetic interchanges for each envelope check and delimiter choice."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from helpers.backends import SHARED_TESTDATA
from legacy_bridge.drivers.flatfile.x12 import (
    Delimiters,
    EnvelopedSet,
    GroupEnd,
    Interchange,
    X12Error,
    X12Reader,
    envelope_group,
    envelope_interchange,
    envelope_set,
    read_interchanges,
    split_composite,
    split_repeats,
    write_interchange,
    write_segments,
)
from legacy_bridge.drivers.flatfile.x12.resume import Standing, standing_at

EDI = SHARED_TESTDATA / "edi"


def gozer(name: str) -> bytes:
    return (EDI / f"gozer-{name}.txt").read_bytes()


def events(data: bytes, **options) -> list[tuple[int, object]]:
    return list(X12Reader(io.BytesIO(data), **options).events())


def errors(data: bytes, **options) -> list[X12Error]:
    return [e for _, e in events(data, **options) if isinstance(e, X12Error)]


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


# -- synthetic interchanges: each control check, other delimiters, 005010 --------------------

WHEN = dt.datetime(2026, 11, 29, 21, 5)
TILDE = Delimiters(element="*", sub_element=":", repetition="^", segment="~", line_break="\n")


def interchange(
    groups=((("204", "0001"), ("204", "0002")), (("990", "0003"),)),
    delimiters=TILDE,
    version="00401",
    group_version="004010",
    control=1,
) -> bytes:
    """A sound interchange: one group per item of ``groups``, each set with a B2 and an L11."""
    built = []
    for g, sets in enumerate(groups, 1):
        bodies = [
            envelope_set(code, control_no, [("B2", "", "SCAC", "", f"SHIP{control_no}"), ("L11", "REF:1", "BM")])
            for code, control_no in sets
        ]
        built.append(
            envelope_group(
                "SM", bodies, sender="SENDER", receiver="RECEIVER", control=g, version=group_version, when=WHEN
            )
        )
    segments = envelope_interchange(
        built, sender="ACME", receiver="CARRIER", control=control, when=WHEN, version=version, delimiters=delimiters
    )
    return write_segments(segments, delimiters)


def test_the_envelope_builder_writes_a_fixed_width_isa_and_counted_trailers():
    data = interchange()
    assert data.startswith(
        b"ISA*00*          *00*          *ZZ*ACME           *ZZ*CARRIER        *261129*2105*U*00401*000000001*0*P*:~\n"
    )
    assert b"GS*SM*SENDER*RECEIVER*20261129*2105*1*X*004010~\nST*204*0001~\n" in data
    assert b"SE*4*0001~\n" in data and b"GE*2*1~\n" in data and data.endswith(b"GE*1*2~\nIEA*2*000000001~\n")
    (ic,) = read_interchanges(data)
    assert (ic.sender, ic.receiver, ic.control, ic.date, ic.time) == ("ACME", "CARRIER", "000000001", "261129", "2105")
    assert [[(s.code, s.control, len(s.segments)) for s in g.sets] for g in ic.groups] == [
        [("204", "0001", 4), ("204", "0002", 4)],
        [("990", "0003", 4)],
    ]
    assert write_interchange(ic) == data


@pytest.mark.parametrize(
    "old, new, level, element, code, reason",
    [
        (b"SE*4*0001~", b"SE*5*0001~", "set", "SE01", "4", "SE01 says 5 segments, the set has 4"),
        (b"SE*4*0001~", b"SE*4*0009~", "set", "SE02", "3", "SE02 is '0009', ST02 is '0001'"),
        (b"GE*2*1~", b"GE*3*1~", "group", "GE01", "5", "GE01 says 3 transaction sets, the group has 2"),
        (b"GE*2*1~", b"GE*2*7~", "group", "GE02", "4", "GE02 is '7', GS06 is '1'"),
        (b"IEA*2*", b"IEA*3*", "interchange", "IEA01", "021", "IEA01 says 3 groups, the interchange has 2"),
        (
            b"IEA*2*000000001",
            b"IEA*2*000000002",
            "interchange",
            "IEA02",
            "001",
            "IEA02 is '000000002', ISA13 is '000000001'",
        ),
    ],
)
def test_each_control_check_names_its_element(old, new, level, element, code, reason):
    data = interchange().replace(old, new, 1)
    found = errors(data)
    assert len(found) == 1
    (err,) = found
    assert (err.level, err.element, err.code, err.reason) == (level, element, code, reason)
    segment = {"SE01": 6, "SE02": 6, "GE01": 11, "GE02": 11, "IEA01": 18, "IEA02": 18}[element]
    assert err.segment == segment and err.segment_id == element[:-2]
    assert str(err).startswith("interchange 000000001, ")
    assert f"segment {segment} ({element[:-2]}): {reason}" in str(err)
    with pytest.raises(X12Error, match=reason):
        list(read_interchanges(data))


def test_a_broken_set_does_not_stop_the_others():
    data = interchange().replace(b"SE*4*0001~", b"SE*9*0001~")
    got = [(type(e).__name__, getattr(e, "set_control", None)) for _, e in events(data)]
    assert got == [
        ("X12Error", "0001"),
        ("EnvelopedSet", None),
        ("GroupEnd", None),
        ("EnvelopedSet", None),
        ("GroupEnd", None),
        ("Interchange", None),
    ]
    (_, err), (_, good) = list(X12Reader(io.BytesIO(data)).scan())[:2]
    assert (err.group_control, err.set_control, err.set_code) == ("1", "0001", "204")
    assert good.transaction_set.control == "0002"


def test_a_set_without_se_is_a_set_error_and_the_next_set_is_read():
    data = interchange().replace(b"SE*4*0001~\n", b"")
    found = [e for _, e in events(data)]
    assert isinstance(found[0], X12Error) and found[0].reason == "no SE before segment 6 (ST)"
    assert (found[0].level, found[0].code, found[0].set_control) == ("set", "2", "0001")
    assert isinstance(found[1], EnvelopedSet) and found[1].transaction_set.control == "0002"
    # the group counts it: GE01 says 2 and 2 STs came
    assert isinstance(found[2], GroupEnd)


def test_a_broken_interchange_stops_there_and_the_next_one_is_read():
    first = interchange().replace(b"GS*SM*SENDER*RECEIVER*20261129*2105*2*", b"XS*SM*SENDER*RECEIVER*20261129*2105*2*")
    second = interchange(groups=((("214", "0001"),),), control=2)
    got = events(first + second)
    kinds = [(type(e).__name__, getattr(e, "control", None) or getattr(e, "interchange_control", None)) for _, e in got]
    assert kinds == [
        ("EnvelopedSet", None),
        ("EnvelopedSet", None),
        ("GroupEnd", None),
        ("X12Error", "000000001"),
        ("EnvelopedSet", None),
        ("GroupEnd", None),
        ("Interchange", "000000002"),
    ]
    err = got[3][1]
    assert str(err) == "interchange 000000001, segment 12 (XS): expected a GS segment (or IEA), found XS"
    assert got[4][1].interchange.control == "000000002" and got[4][1].transaction_set.code == "214"


def test_several_interchanges_one_after_another():
    data = interchange(control=1) + interchange(groups=((("214", "0001"),),), control=2)
    assert [ic.control for ic in read_interchanges(data)] == ["000000001", "000000002"]


@pytest.mark.parametrize(
    "delimiters",
    [
        Delimiters(element="|", sub_element="^", repetition="\\", segment="~", line_break=""),
        Delimiters(element="^", sub_element=">", repetition="{", segment="\n", line_break=""),
        Delimiters(element="*", sub_element=":", repetition="^", segment="'", line_break="\r\n"),
        Delimiters(element="*", sub_element=">", repetition="^", segment="\r", line_break="\n"),
    ],
    ids=["pipe-tilde", "caret-newline", "quote-crlf", "cr-lf"],
)
def test_other_delimiters_are_read_from_the_isa(delimiters):
    data = interchange(delimiters=delimiters, version="00403")
    (ic,) = read_interchanges(data)
    assert ic.delimiters == delimiters
    b2 = ic.groups[0].sets[0].segments[1]
    assert b2 == ("B2", "", "SCAC", "", "SHIP0001")
    l11 = ic.groups[0].sets[0].segments[2]
    assert split_composite(l11[1], delimiters) == (["REF:1"] if delimiters.sub_element != ":" else ["REF", "1"])
    assert write_interchange(ic) == data


def test_version_005010_reads_its_repetition_separator():
    d = Delimiters(element="*", sub_element=">", repetition="^", segment="~", line_break="")
    data = interchange(delimiters=d, version="00501", group_version="005010X214")
    data = data.replace(b"L11*REF:1*BM", b"L11*A^B^C*BM>X")
    (ic,) = read_interchanges(data)
    assert ic.version == "00501" and ic.header[11] == "^" and ic.delimiters.repetition == "^"
    assert ic.groups[0].version == "005010X214"
    l11 = ic.groups[0].sets[0].segments[2]
    assert split_repeats(l11[1], ic.delimiters) == ["A", "B", "C"]
    assert split_composite(l11[2], ic.delimiters) == ["BM", "X"]


def test_before_00402_isa11_is_no_repetition_separator():
    (ic,) = read_interchanges(interchange(version="00401"))
    assert ic.header[11] == "U" and ic.delimiters.repetition is None
    assert split_repeats("A^B", ic.delimiters) == ["A^B"]


@pytest.mark.parametrize("version", ["003050", "005020", "ABC"])
def test_a_group_of_a_version_not_read_is_refused_set_by_set(version):
    found = errors(interchange(group_version=version))
    assert found[0].level == "group" and found[0].element == "GS08" and found[0].code == "2"
    assert f"version (GS08) '{version}' is not read: 004010 to 005010 are" in str(found[0])
    assert [(e.level, e.set_control) for e in found[1:3]] == [("set", "0001"), ("set", "0002")]


def test_line_breaks_after_terminators_are_ignored():
    lf = interchange(delimiters=Delimiters(segment="~", line_break="\n"))
    crlf = interchange(delimiters=Delimiters(segment="~", line_break="\r\n"))
    none = interchange(delimiters=Delimiters(segment="~", line_break=""))
    sets = [
        [s.segments for g in ic.groups for s in g.sets] for data in (lf, crlf, none) for ic in read_interchanges(data)
    ]
    assert sets[0] == sets[1] == sets[2]


def test_an_isa_that_is_not_fixed_width_is_refused():
    data = interchange().replace(b"*ZZ*ACME           *", b"*ZZ*ACME*", 1)
    with pytest.raises(X12Error, match=r"segment 1 \(ISA\): ISA06 is 'ACME' \(4 characters\), 15 expected"):
        list(read_interchanges(data))


def test_data_that_ends_before_iea_is_refused():
    data = interchange()
    with pytest.raises(X12Error, match="the data ends before IEA") as caught:
        list(read_interchanges(data[: data.index(b"GE*1*2")]))
    assert caught.value.fatal


# -- reading from an offset -----------------------------------------------------------------


def test_scan_and_read_at_resume_from_an_offset_the_reader_gave():
    data = interchange(control=1) + interchange(groups=((("214", "0001"), ("214", "0002")),), control=2)
    reader = X12Reader(io.BytesIO(data))
    whole = list(reader.scan())
    assert [(r.interchange.control, r.transaction_set.control) for _, r in whole] == [
        ("000000001", "0001"),
        ("000000001", "0002"),
        ("000000001", "0003"),
        ("000000002", "0001"),
        ("000000002", "0002"),
    ]
    for i, (offset, read) in enumerate(whole):
        rest = list(reader.scan(offset))
        assert [o for o, _ in rest] == [o for o, _ in whole[i:]]
        again = reader.read_at(offset)
        assert again.transaction_set == read.transaction_set
        assert again.transaction_set.number == read.transaction_set.number
        assert again.group.control == read.group.control
    assert reader.read_at(whole[1][0] + 1) is None


def test_a_count_error_is_found_again_from_an_offset_inside_the_group():
    data = interchange().replace(b"GE*2*1~", b"GE*3*1~")
    reader = X12Reader(io.BytesIO(data))
    second, _ = list(reader.scan())[1]
    err = [e for _, e in reader.scan(second) if isinstance(e, X12Error)]
    assert [e.element for e in err] == ["GE01"]  # the set before the offset was counted


def test_the_writer_refuses_a_value_holding_a_delimiter_or_too_long_for_the_isa():
    with pytest.raises(ValueError, match=r"N102 'A\*B' holds a delimiter"):
        write_segments([("N1", "ST", "A*B")], TILDE)
    with pytest.raises(ValueError, match="ISA06 'A SENDER ID LONGER THAN 15' is longer than its 15 characters"):
        envelope_interchange([], sender="A SENDER ID LONGER THAN 15", receiver="X", control=1, when=WHEN)
    with pytest.raises(ValueError, match="version 00501 needs a repetition separator"):
        envelope_interchange(
            [], sender="A", receiver="X", control=1, when=WHEN, version="00501", delimiters=Delimiters(repetition=None)
        )


def _summary(event: object) -> tuple:
    if isinstance(event, X12Error):
        return ("error", str(event))
    if isinstance(event, EnvelopedSet):
        t = event.transaction_set
        return (
            "set",
            event.interchange.control,
            event.group.control,
            event.group.number,
            t.control,
            t.number,
            t.segments,
        )
    if isinstance(event, GroupEnd):
        return ("group end", event.group.control, event.group.number, event.received)
    return ("interchange", event.control)


@pytest.mark.parametrize(
    "data",
    [
        gozer("x12.base"),
        gozer("x12.base.loop"),
        gozer("x12.base.no.line.breaks"),
        gozer("asn856"),
        interchange(delimiters=Delimiters(segment="~", line_break="\r\n"))
        + interchange(control=2).replace(b"B2*", b"\n~~B2*").replace(b"GE*2*1~", b"GE*5*1~"),
        interchange(
            delimiters=Delimiters(element="|", sub_element=">", segment="\r", line_break="\n"), version="00403"
        ),
    ],
    ids=["base", "loop", "no-line-breaks", "asn856", "crlf-empty-segments-ge-error", "cr-lf-terminator"],
)
def test_reading_from_any_offset_it_gave_finds_what_the_whole_read_found(data):
    reader = X12Reader(io.BytesIO(data))
    whole = [(offset, _summary(event)) for offset, event in reader.events()]
    assert len(whole) >= 3
    for i, (offset, _) in enumerate(whole):
        first = next(j for j, (o, _) in enumerate(whole) if o == offset)
        assert [(o, _summary(e)) for o, e in reader.events(offset)] == whole[first:], f"from byte {offset} (event {i})"


def test_the_standing_inside_an_interchange_is_counted_without_walking_it():
    data = interchange(groups=((("204", "0001"), ("204", "0002")), (("990", "0003"), ("990", "0004"))))
    fourth = data.index(b"ST*990*0004")
    standing = standing_at(io.BytesIO(data), data.index(b"GS"), fourth, b"*", b"~")
    gs2 = data.index(b"GS*SM*SENDER*RECEIVER*20261129*2105*2*")
    # ISA, GS, 2 x (ST B2 L11 SE), GE, GS (segment 12), ST B2 L11 SE: 16 segments before the 4th ST
    assert standing == Standing(segments=16, groups=2, group_offset=gs2, group_number=12, sets_in_group=1)
    assert standing_at(io.BytesIO(data), data.index(b"GS"), len(data), b"*", b"~") is None  # past the IEA


def test_a_segment_that_is_not_text_of_the_encoding_spoils_its_set_alone():
    data = interchange().replace(b"SHIP0001", b"SHIP\xff0001")
    found = events(data)
    err = found[0][1]
    assert isinstance(err, X12Error) and (err.level, err.code, err.set_control, err.segment) == ("set", "5", "0001", 4)
    where = "interchange 000000001, group 1, set 0001 (204), segment 4 (B2)"
    assert str(err) == f"{where}: byte 0xFF (byte 15 of the segment) is not utf-8"
    assert isinstance(found[1][1], EnvelopedSet)
    (ic,) = read_interchanges(data, encoding="latin-1")  # read as latin-1 it is a value like another
    assert ic.groups[0].sets[0].segments[1][4] == "SHIP\xff0001"


def test_a_value_holding_a_line_feed_is_kept_when_the_terminator_is_not_one():
    data = interchange().replace(b"SHIP0001", b"SHIP\n0001")
    (ic,) = read_interchanges(data)
    assert ic.groups[0].sets[0].segments[1] == ("B2", "", "SCAC", "", "SHIP\n0001")


def test_gozer_s_one_line_isa_without_terminator_is_refused():
    isa = b"ISA*01*0000000000*01*0000000000*ZZ*ABCDEFGHIJKLMNO*ZZ*123456789012345*101127*1719*U*00400*000000049*0*P*>"
    with pytest.raises(X12Error, match=r"segment 1 \(ISA\): no segment terminator after ISA16: the data ends there"):
        list(read_interchanges(isa))
    with pytest.raises(X12Error, match=r"ISA09 is '' \(0 characters\), 6 expected.*the data ends inside it"):
        list(read_interchanges(isa[:70]))


def test_empty_data_holds_no_interchange_and_junk_after_an_iea_is_refused():
    assert list(read_interchanges(b"")) == list(read_interchanges(b"\r\n  \n")) == []
    data = interchange() + b"GARBAGE~"
    found = events(data)
    assert isinstance(found[-2][1], Interchange)
    err = found[-1][1]
    assert isinstance(err, X12Error) and err.fatal and "expected an ISA segment, found GARBAGE" in str(err)


def test_an_isa11_of_u_from_00402_on_means_no_repetition_separator():
    data = interchange(version="00501").replace(b"*00501*", b"*00501*").replace(b"*^*00501*", b"*U*00501*")
    (ic,) = read_interchanges(data)
    assert ic.header[11] == "U" and ic.delimiters.repetition is None


def test_an_error_keeps_its_fields_across_processes():
    import pickle

    (err,) = errors(interchange().replace(b"SE*4*0001~", b"SE*5*0001~"))
    again = pickle.loads(pickle.dumps(err))
    assert str(again) == str(err) and again.fields() == err.fields()
    assert err.fields()["set_control"] == "0001" and err.fields()["element"] == "SE01"


def test_the_builder_refuses_control_numbers_x12_cannot_hold():
    with pytest.raises(ValueError, match="ST02 '12' is not 4 to 9 characters"):
        envelope_set("204", "12", [])
    with pytest.raises(ValueError, match="GS06 'A1' is not 1 to 9 digits"):
        envelope_group("SM", [], sender="A", receiver="B", control="A1", version="004010", when=WHEN)
    with pytest.raises(ValueError, match="ISA13 '1234567890' is longer than its 9 characters"):
        envelope_interchange([], sender="A", receiver="B", control=1234567890, when=WHEN)
