"""The X12 envelope on synthetic interchanges (built with the codec's own writer, then broken on
purpose): each control check named with its segment and element, a broken set or interchange
not stopping the rest, delimiters other than the usual, 005010's repetition separator, and the
writer refusing what it cannot write exactly."""

from __future__ import annotations

import io
import pickle

import pytest

from helpers.x12_envelopes import TILDE, WHEN, errors, events, interchange
from legacy_bridge.drivers.flatfile.x12.model import (
    Delimiters,
    EnvelopedSet,
    GroupEnd,
    Interchange,
    X12Error,
    split_composite,
    split_repeats,
)
from legacy_bridge.drivers.flatfile.x12.reader import X12Reader, read_interchanges
from legacy_bridge.drivers.flatfile.x12.writer import (
    envelope_group,
    envelope_interchange,
    envelope_set,
    write_interchange,
    write_segments,
)


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


def test_the_writer_refuses_a_value_holding_a_delimiter_or_too_long_for_the_isa():
    with pytest.raises(ValueError, match=r"N102 'A\*B' holds a delimiter"):
        write_segments([("N1", "ST", "A*B")], TILDE)
    with pytest.raises(ValueError, match="ISA06 'A SENDER ID LONGER THAN 15' is longer than its 15 characters"):
        envelope_interchange([], sender="A SENDER ID LONGER THAN 15", receiver="X", control=1, when=WHEN)
    with pytest.raises(ValueError, match="version 00501 needs a repetition separator"):
        envelope_interchange(
            [], sender="A", receiver="X", control=1, when=WHEN, version="00501", delimiters=Delimiters(repetition=None)
        )


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


def test_a_delimiter_byte_past_ascii_is_read_as_the_values_encoding_has_it():
    data = (
        interchange().replace(b"*P*:~", b"*P*\x85~", 1).replace(b"REF:1", b"REF\x851").replace(b"SHIP0002", b"CAF\xc9")
    )
    (ic,) = read_interchanges(data, encoding="cp1252")
    assert ic.delimiters.sub_element == "\u2026" and ic.header[16] == "\u2026"  # byte 0x85 in cp1252
    l11, b2 = ic.groups[0].sets[0].segments[2], ic.groups[0].sets[1].segments[1]
    assert split_composite(l11[1], ic.delimiters) == ["REF", "1"] and b2[4] == "CAF\u00c9"
    assert write_interchange(ic, encoding="cp1252") == data
    with pytest.raises(X12Error, match="the delimiter byte 0x85 is no character of utf-8 on its own"):
        list(read_interchanges(data))


def test_an_interchange_cut_short_by_the_next_isa_is_refused_and_the_next_one_read():
    first = interchange()
    cut = first[: first.index(b"SE*4*0003~")]  # inside the last set of the second group
    second = interchange(groups=((("214", "0001"),),), control=2, delimiters=Delimiters(element="|", segment="!"))
    got = [(type(e).__name__, str(e) if isinstance(e, X12Error) else None) for _, e in events(cut + second)]
    assert got == [
        ("EnvelopedSet", None),
        ("EnvelopedSet", None),
        ("GroupEnd", None),
        ("X12Error", "interchange 000000001, group 2, set 0003 (990), segment 13 (ST): no SE before segment 16 (ISA)"),
        ("X12Error", "interchange 000000001, segment 16 (ISA): no IEA before this next ISA"),
        ("EnvelopedSet", None),  # the next interchange, with its own delimiters
        ("GroupEnd", None),
        ("Interchange", None),
    ]
