"""Copybook parser, decoder, encoder and record iterator: unit and property tests."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from legacy_bridge.drivers.flatfile.cobol import CopybookFormat
from legacy_bridge.drivers.flatfile.copybook import (
    CopybookError,
    RecordError,
    conditions,
    ibm_float,
    iter_records,
    make_decoder,
    make_encoder,
    parse_copybook,
)
from legacy_bridge.drivers.flatfile.copybook.conditions import code_table
from legacy_bridge.drivers.flatfile.copybook.encode import ibm_float_bytes

SEQUENCED = """\
000100* A COMMENT LINE
000200/ A PAGE EJECT
000300 01  REC.
000400     05  CODE           PIC X(4).
000500     05  STATUS         PIC X.
000600         88  ACTIVE     VALUE 'A'.
000700         88  CLOSED     VALUES 'C' 'X'.
000800     05  AMOUNT         PIC S9(5)V99 COMP-3.
000900     05  ALT REDEFINES AMOUNT PIC X(4).
001000     05  N              PIC 9(2) COMP.
001100     05  ITEMS OCCURS 3 TIMES DEPENDING ON N.
001200         10  QTY        PIC S9(3).
001300     05  FILLER         PIC X(2).
"""


def test_fixed_format_offsets_types_conditions_and_odo():
    layout = parse_copybook(SEQUENCED)
    assert layout.record_length == 4 + 1 + 4 + 2 + 9 + 2
    assert layout.columns == ["CODE", "STATUS", "AMOUNT", "ALT", "N", "QTY_1", "QTY_2", "QTY_3"]
    by = {f.name: f for f in layout.fields}
    assert (by["AMOUNT"].offset, by["AMOUNT"].length, by["AMOUNT"].type, by["AMOUNT"].scale) == (5, 4, "decimal", 2)
    assert by["ALT"].offset == 5 and by["ALT"].redefined
    assert by["STATUS"].conditions == (("ACTIVE", ("A",)), ("CLOSED", ("C", "X")))
    assert by["QTY_3"].offset == 11 + 6 and by["QTY_3"].odo == (("N", 2),)
    assert [f.length for f in layout.fillers] == [2]


def test_free_format_without_01_level_and_p_scaling():
    layout = parse_copybook("05 A PIC SPPP9(5) COMP-3.\n05 B PIC 9(5)PPP.\n05 C PIC S9PPPV COMP.\n")
    assert [(f.name, f.type, f.scale, f.length) for f in layout.fields] == [
        ("A", "decimal", 8, 3),
        ("B", "int", -3, 5),
        ("C", "int", -3, 2),
    ]
    rec = bytes.fromhex("30503d") + "30503".encode("cp037") + (-3).to_bytes(2, "big", signed=True)
    assert make_decoder(layout)(rec) == (Decimal("-0.00030503"), 30503000, -3000)


def test_duplicate_names_are_qualified_by_their_group():
    layout = parse_copybook("01 R. 05 A. 10 X PIC X. 05 B. 10 X PIC X.")
    assert layout.columns == ["A_X", "B_X"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("01 R. 05 A PIC Q(3).", "unsupported PIC"),
        ("01 R. 05 A PIC X(3) COMP-3.", "numeric USAGE"),
        ("01 R. 05 A REDEFINES NOPE PIC X.", "unknown NOPE"),
        ("01 R. 05 A PIC X BOGUS.", "unexpected 'BOGUS'"),
        ("R. 05 A PIC X.", "level number"),
    ],
)
def test_bad_copybooks_are_refused_with_the_reason(text, message):
    with pytest.raises(CopybookError, match=message):
        parse_copybook(text)


def test_odo_elements_beyond_the_count_are_none_and_a_bad_count_raises():
    layout = parse_copybook(SEQUENCED)
    encode, decode = make_encoder(layout), make_decoder(layout, strict=False)  # ALT is text over packed
    rec = encode(("AB", "A", Decimal("-12.50"), None, 2, 1, -2, None))
    got = decode(rec)
    assert got[:3] == ("AB", "A", Decimal("-12.50")) and got[4:] == (2, 1, -2, None)
    odo = parse_copybook("01 R. 05 N PIC 9 COMP. 05 Q PIC 9 OCCURS 1 TO 3 DEPENDING ON N.")
    assert make_decoder(odo)(make_encoder(odo)((3, 1, 2, 3))) == (3, 1, 2, 3)
    with pytest.raises(RecordError) as err:
        make_decoder(odo)(make_encoder(odo)((4, 1, 2, 3)))
    assert err.value.field == "N" and "OCCURS DEPENDING ON count 4" in err.value.reason


BAD = parse_copybook("01 R. 05 T PIC X(3). 05 P PIC S9(3) COMP-3. 05 Z PIC 9(3). 05 S PIC S9(2).")


def _good() -> bytearray:
    return bytearray("ABC".encode("cp037") + bytes.fromhex("123c") + "045".encode("cp037") + b"\xf1\xd2")


def test_the_good_record_decodes():
    assert make_decoder(BAD)(bytes(_good())) == ("ABC", 123, 45, -12)


@pytest.mark.parametrize(
    "pos, byte, field, reason",
    [
        (1, 0x05, "T", "bad code point 0x05"),
        (3, 0x1A, "P", "bad packed digit nibble A"),
        (4, 0x37, "P", "bad packed sign nibble 7"),
        (6, 0xC1, "Z", "non-digit 0xC1"),
        (9, 0x41, "S", "non-digit 0x41"),
    ],
)
def test_bad_bytes_raise_record_error_naming_field_and_reason(pos, byte, field, reason):
    rec = _good()
    rec[pos] = byte
    with pytest.raises(RecordError) as err:
        make_decoder(BAD)(bytes(rec))
    assert err.value.field == field and reason in err.value.reason
    assert err.value.offset == {f.name: f.offset for f in BAD.fields}[field]
    lenient = make_decoder(BAD, strict=False)(bytes(rec))
    assert lenient[BAD.columns.index(field)] in (None, "A C")  # text: bad byte read as space


def test_blank_display_numeric_is_none_and_truncated_record_raises():
    rec = _good()
    rec[5:8] = b"\x40\x40\x40"
    assert make_decoder(BAD)(bytes(rec))[2] is None
    with pytest.raises(RecordError, match="truncated record: 9 bytes"):
        make_decoder(BAD)(bytes(rec[:9]))


def test_iter_records_fixed_variable_and_blocked():
    recs = [b"\x01\x02\x03", b"\x04\x05\x06"]
    assert list(iter_records(io.BytesIO(b"".join(recs)), "F", 3)) == [(0, recs[0]), (3, recs[1])]
    v = b"".join(len(r + b"xyzw").to_bytes(2, "big") + b"\0\0" + r for r in (b"ab", b"cde"))
    assert list(iter_records(io.BytesIO(v), "V")) == [(0, b"ab"), (6, b"cde")]
    vb = (len(v) + 4).to_bytes(2, "big") + b"\0\0" + v
    assert [r for _, r in iter_records(io.BytesIO(vb * 2), "VB")] == [b"ab", b"cde"] * 2
    with pytest.raises(RecordError) as err:
        list(iter_records(io.BytesIO(b"\x01\x02\x03\x04"), "F", 3))
    assert err.value.offset == 3 and "truncated" in err.value.reason
    with pytest.raises(RecordError, match="truncated record: 6 of 7"):
        list(iter_records(io.BytesIO(v[:12]), "V"))


def test_ibm_hex_float_known_values():
    assert ibm_float(bytes.fromhex("42640000")) == 100.0
    assert ibm_float(bytes.fromhex("C276A000")) == -118.625
    assert ibm_float_bytes(-118.625, 4) == bytes.fromhex("C276A000")
    assert ibm_float(bytes.fromhex("4110000000000000")) == 1.0


# ---------------------------------------------------------------- round-trip properties

USAGES = ["", "COMP", "COMP-4", "BINARY", "COMP-5", "COMP-3"]
SIGNS = ["", "SIGN LEADING", "SIGN TRAILING", "SIGN LEADING SEPARATE", "SIGN TRAILING SEPARATE"]


@st.composite
def numeric_fields(draw):
    usage = draw(st.sampled_from(USAGES))
    signed = draw(st.booleans())
    int_digits = draw(st.integers(0, 12))
    scale_digits = draw(st.integers(0 if int_digits else 1, 6))
    p = draw(st.sampled_from(["", "leading", "trailing"])) if not scale_digits else ""
    pic = ("S" if signed else "") + (f"9({int_digits})" if int_digits else "")
    if scale_digits:
        pic += f"V9({scale_digits})"
    if p == "leading":
        pic = ("S" if signed else "") + "PP" + pic.lstrip("S")
    elif p == "trailing" and int_digits:
        pic += "PP"
    sign = draw(st.sampled_from(SIGNS)) if signed and not usage else ""
    digits = int_digits + scale_digits
    scale = 2 + int_digits if p == "leading" else -2 if p == "trailing" and int_digits else scale_digits
    unscaled = draw(st.integers(-(10**digits - 1) if signed else 0, 10**digits - 1))
    value = Decimal(unscaled).scaleb(-scale) if scale > 0 else unscaled * 10**-scale
    return f"PIC {pic} {usage} {sign}".strip(), value


@settings(max_examples=300, deadline=None)
@given(
    fields=st.lists(numeric_fields(), min_size=1, max_size=6),
    text=st.text(st.sampled_from("ABCXYZ az09 -.,/@#$%&*()éÄ¢"), max_size=8),
    codepage=st.sampled_from(["cp037", "cp500", "cp1047", "ascii"]),
)
def test_encode_then_decode_round_trips_every_pic_and_usage(fields, text, codepage):
    if codepage == "ascii":
        text = text.encode("ascii", "ignore").decode()
    lines = ["01 R.", "05 T PIC X(8)."] + [f"05 F{i} {pic}." for i, (pic, _) in enumerate(fields)]
    layout = parse_copybook("\n".join(lines))
    row = (text.rstrip(),) + tuple(v for _, v in fields)
    rec = make_encoder(layout, codepage)(row)
    assert len(rec) == layout.record_length
    got = make_decoder(layout, codepage)(rec)
    assert got == row
    assert [type(g) for g in got] == [type(v) for v in row]


@settings(max_examples=100, deadline=None)
@given(
    value=st.floats(allow_nan=False, allow_infinity=False, width=32, min_value=-(2.0**100), max_value=2.0**100),
    fp=st.sampled_from(["ibm", "ieee"]),
)
def test_comp1_comp2_round_trip(value, fp):
    layout = parse_copybook("01 R. 05 A COMP-2. 05 B COMP-1.")
    got = make_decoder(layout, floating_point=fp)(make_encoder(layout, floating_point=fp)((value, value)))
    assert got[0] == pytest.approx(value, rel=1e-15, abs=1e-70)
    assert got[1] == pytest.approx(value, rel=1e-6, abs=1e-70)


@settings(max_examples=100, deadline=None)
@given(
    n=st.integers(-99999999, 99999999),
    pic=st.sampled_from(["+9(8)", "9(8)+", "-9(8)", "Z(8)-", "S9(6).99", "Z(6)VZZ-", "9(6).99-", "+9(6)V99"]),
)
def test_edited_numerics_round_trip(n, pic):
    layout = parse_copybook(f"01 R. 05 E PIC {pic}.")
    f = layout.fields[0]
    if not f.signed:
        n = abs(n)
    value = Decimal(n).scaleb(-f.scale) if f.scale > 0 else n
    assert make_decoder(layout)(make_encoder(layout)((value,))) == (value,)


CONDITIONS = """\
       01  REC.
           05  STATUS     PIC X(2).
               88  OPEN-ST      VALUE 'O ' SPACE.
               88  SHUT         VALUES 'C' THRU 'E'.
           05  SCORE      PIC S9(3)V9 COMP-3.
               88  PASS         VALUE 50 THRU 100.
               88  PERFECT      VALUE 100.
           05  TRIES OCCURS 2 TIMES PIC 9.
               88  NONE-LEFT    VALUE ZERO.
"""


def test_88_levels_are_boolean_columns_none_when_the_field_is_none():
    layout = parse_copybook(CONDITIONS)
    conds = conditions(layout)
    assert [c.name for c in conds] == ["OPEN_ST", "SHUT", "PASS", "PERFECT", "NONE_LEFT_1", "NONE_LEFT_2"]
    assert conds[0].values == ("O", "") and conds[1].ranges == (("C", "E"),)
    fmt = CopybookFormat(layout, "cp500")
    assert fmt.columns == layout.columns + [c.name for c in conds] + ["TRIES"]  # the OCCURS as an array
    encode = make_encoder(layout, "cp500")
    assert fmt.decode(encode(("O", Decimal("100.0"), 0, 3)))[4:] == (True, False, True, True, True, False, [0, 3])
    assert fmt.decode(encode(("D", Decimal("49.9"), 1, 0)))[4:10] == (False, True, False, False, False, True)
    assert fmt.decode(encode(("", Decimal("-3"), 2, 2)))[4:10] == (True, False, False, False, False, False)
    blank = encode(("X", Decimal(0), 0, 0))[:5] + b"\x40\x40"  # TRIES_1, TRIES_2 blank
    assert fmt.decode(blank)[4:] == (False, False, False, False, None, None, [None, None])  # blank numerics: None


def test_a_code_table_only_when_each_condition_names_one_value():
    by_field = {}
    for c in conditions(
        parse_copybook(
            CONDITIONS + "           05  KIND PIC 9.\n"
            "               88  KIND-A VALUE 1.\n"
            "               88  KIND-B VALUE 2.\n"
        )
    ):
        by_field.setdefault(c.field, []).append(c)
    assert code_table(by_field["KIND"]) == {1: "KIND-A", 2: "KIND-B"}
    assert code_table(by_field["STATUS"]) is None  # two values, and a range
    assert code_table(by_field["SCORE"]) is None
