"""Reading X12 from an offset the reader gave (a page's cursor, a key lookup): the same sets,
errors, segment numbers and counts as the whole read, found without walking what comes before."""

from __future__ import annotations

import io

import pytest

from helpers.x12_envelopes import gozer, interchange
from legacy_bridge.drivers.flatfile.x12 import (
    Delimiters,
    EnvelopedSet,
    GroupEnd,
    X12Error,
    X12Reader,
    read_interchanges,
)
from legacy_bridge.drivers.flatfile.x12.resume import Standing, standing_at


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
        interchange()[: interchange().index(b"SE*4*0003~")]
        + interchange(control=2, delimiters=Delimiters(element="|", segment="!")),
    ],
    ids=["base", "loop", "no-line-breaks", "asn856", "crlf-empty-segments-ge-error", "cr-lf-terminator", "cut-short"],
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


def test_reads_of_one_handle_may_interleave():
    many = tuple(("204", f"{n:04d}") for n in range(1, 4001))  # past the 64 KiB a read takes at a time
    data = interchange(groups=(many,))
    assert len(data) > 3 * 65536
    reader = X12Reader(io.BytesIO(data))
    whole = [(o, e.transaction_set.control) for o, e in reader.scan()]
    interleaved = []
    for offset, found in reader.scan():
        if len(interleaved) % 500 == 0:
            assert reader.read_at(whole[0][0]).transaction_set.control == "0001"  # moves the handle
        interleaved.append((offset, found.transaction_set.control))
    assert interleaved == whole and len(whole) == 4000


@pytest.mark.parametrize("line_break", ["", "\r\n"])
def test_segments_cut_by_a_chunk_boundary_anywhere_are_read_whole(line_break):
    many = tuple(("204", f"{n:04d}") for n in range(1, 1301))  # about 70 KiB: past one 64 KiB chunk
    base = interchange(groups=(many,), delimiters=Delimiters(segment="~", line_break=line_break))
    expected = [(t.control, t.segments) for g in read_interchanges_of(base) for t in g.sets]
    for shift in range(0, 60, 4):  # the boundary falls at another byte of the segments around it
        data = base.replace(b"SHIP0001", b"SHIP0001" + b"X" * shift, 1)
        got = [(t.control, t.segments) for g in read_interchanges_of(data) for t in g.sets]
        assert got[1:] == expected[1:] and got[0][1][1][4] == "SHIP0001" + "X" * shift


def read_interchanges_of(data: bytes):
    (ic,) = read_interchanges(data)
    return ic.groups
