"""The copybook encoder as the inverse of the decoder, on the real files in ../shared/testdata.

DTAR020 (JRecord: text and COMP-3, canonical bytes) comes back byte for byte. The Cobrix files
hold bytes the decoder reads leniently and cannot tell apart (low-values in text read as
spaces, display numbers written left-justified, unused OCCURS elements, REDEFINES views):
there the values come back, decode(encode(decode(x))) == decode(x), for every record.
"""

from __future__ import annotations

import pytest

from helpers.backends import SHARED_TESTDATA
from legacy_bridge.drivers.flatfile.copybook import make_decoder, make_encoder, parse_copybook
from legacy_bridge.drivers.flatfile.copybook.encode import EncodeError

COBOL = SHARED_TESTDATA / "cobol"
DTAR020 = (COBOL / "cobol-to-csv/Examples/DTAR020.cbl", COBOL / "cobol-to-csv/Examples/in/DTAR020.bin", "ibm")
COBRIX = {
    "test40 every usage": ("test40_copybook.cob", "test40_data/example.dat", "ieee"),
    "test19 display numbers": ("test19_display_num.cob", "test19_display_num/data.dat", "ibm"),
    "test1 ODO, COMP-3, COMP, REDEFINES": ("test1_copybook.cob", "test1_data/example.bin", "ibm"),
}


def _records(copybook, data):
    layout = parse_copybook(copybook.read_text(encoding="latin-1"))
    raw = data.read_bytes()
    size = layout.record_length
    assert len(raw) % size == 0
    return layout, [raw[i : i + size] for i in range(0, len(raw), size)]


def test_every_dtar020_record_encodes_back_to_its_exact_bytes():
    copybook, data, fp = DTAR020
    layout, records = _records(copybook, data)
    decode, encode = make_decoder(layout, "cp037", fp), make_encoder(layout, "cp037", fp)
    assert len(records) == 379
    assert [encode(decode(r)) for r in records] == records


def _first_views(layout) -> list[int]:
    """Columns that are a later view of bytes an earlier column already holds (REDEFINES)."""
    seen: set[int] = set()
    later = []
    for i, f in enumerate(layout.fields):
        span = set(range(f.offset, f.offset + f.length))
        if f.redefined and span & seen:
            later.append(i)
        seen |= span
    return later


@pytest.mark.parametrize("case", sorted(COBRIX))
def test_every_cobrix_record_keeps_its_values_through_encode(case):
    copybook, data, fp = COBRIX[case]
    base = COBOL / "cobrix" / "data"
    layout, records = _records(base / copybook, base / data)
    decode, encode = make_decoder(layout, "cp037", fp, strict=False), make_encoder(layout, "cp037", fp)
    later = _first_views(layout)  # one view of each REDEFINES is written: the first
    for n, record in enumerate(records):
        values = list(decode(record))
        for i in later:
            values[i] = None
        again = list(decode(encode(tuple(values))))
        for i in later:
            again[i] = None
        assert again == values, f"record {n}"


@pytest.mark.parametrize(
    "value, reason",
    [("ABCDEFGHI", "9 characters, the field holds 8"), ("AB€", "character '€' is not in code page cp037")],
)
def test_text_the_field_cannot_hold_names_the_field(value, reason):
    layout, records = _records(*DTAR020[:2])
    row = list(make_decoder(layout)(records[0]))
    row[0] = value
    with pytest.raises(EncodeError) as caught:
        make_encoder(layout)(tuple(row))
    assert caught.value.field == "DTAR020_KEYCODE_NO" and caught.value.reason == reason


def test_a_number_past_its_pic_names_the_field():
    layout = parse_copybook("01 R.\n 05 N PIC S9(3) COMP-3.\n 05 B PIC S9(4) COMP.\n 05 D PIC 9(2)V9.")
    encode = make_encoder(layout)
    for row, field in (((1000, 0, 0), "N"), ((0, 40000, 0), "B"), ((0, 0, "1.25"), "D"), ((0, 0, -1), "D")):
        with pytest.raises(EncodeError) as caught:
            encode(row)
        assert caught.value.field == field
