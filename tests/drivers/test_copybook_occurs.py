"""OCCURS as arrays and variable-size OCCURS, on records whose bytes are written out by hand.

The invoice copybook has an OCCURS DEPENDING ON table and a field after it.  The same three
invoices are written as V and VB files whose records end after their last counted line (the
total moves with the count) and as an F file padded to the maximum (the total at its fixed
place); all three read to the same rows.  Cobrix's test21 (nested ODO, records packed back to
back in an F file) reads as its expected output shows.
"""

from __future__ import annotations

import io
import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.backends import SHARED_TESTDATA
from helpers.invoices import INVOICE
from legacy_bridge.config import validate
from legacy_bridge.drivers.flatfile.cobol import CopybookFormat
from legacy_bridge.drivers.flatfile.copybook import (
    CopybookError,
    RecordError,
    iter_records,
    make_decoder,
    parse_copybook,
)
from legacy_bridge.drivers.flatfile.copybook.nested import make_nester, nested_columns
from legacy_bridge.drivers.flatfile.copybook.variable import make_variable_decoder
from legacy_bridge.drivers.flatfile.formats import BadRecord
from legacy_bridge.errors import ConfigError

# cp037: digits F0-F9, A-I C1-C9, S-Z E2-E9, space 40; COMP-3 sign nibble C (+) or D (-)
# (bytes.fromhex skips the spaces between fields)
REC1 = bytes.fromhex(
    "F0F0F0F0F0F1 F0F2"  # INV-NO 1, LINE-COUNT 2
    " C1C2F1F2 005C"  # line 1: AB12, +5
    " E9E9F9F9 012D"  # line 2: ZZ99, -12
    " 0012345C"  # TOTAL 123.45
)
REC2 = bytes.fromhex("F0F0F0F0F0F2 F0F0 0000000C")  # INV-NO 2, no lines, TOTAL 0.00
REC3 = bytes.fromhex(
    "F0F0F0F0F0F3 F0F3"  # INV-NO 3, LINE-COUNT 3
    " C1F14040 001C"  # "A1", 1
    " C2F24040 002C"  # "B2", 2
    " C3F34040 999C"  # "C3", 999
    " 0000001D"  # TOTAL -0.01
)
RECORDS = [REC1, REC2, REC3]
EXPECTED = [
    {"INV_NO": 1, "LINE_COUNT": 2, "TOTAL": Decimal("123.45"),
     "LINES": [{"ITEM_SKU": "AB12", "ITEM_QTY": 5}, {"ITEM_SKU": "ZZ99", "ITEM_QTY": -12}]},
    {"INV_NO": 2, "LINE_COUNT": 0, "TOTAL": Decimal("0.00"), "LINES": []},
    {"INV_NO": 3, "LINE_COUNT": 3, "TOTAL": Decimal("-0.01"),
     "LINES": [{"ITEM_SKU": "A1", "ITEM_QTY": 1}, {"ITEM_SKU": "B2", "ITEM_QTY": 2},
               {"ITEM_SKU": "C3", "ITEM_QTY": 999}]},
]  # fmt: skip


def rdw(record: bytes) -> bytes:
    return (len(record) + 4).to_bytes(2, "big") + b"\0\0" + record


V_FILE = b"".join(rdw(r) for r in RECORDS)
# two blocks: records 1-2, then record 3, each behind its block descriptor word
VB_FILE = b"".join((len(body) + 4).to_bytes(2, "big") + b"\0\0" + body for body in (rdw(REC1) + rdw(REC2), rdw(REC3)))
# padded to the maximum (30 bytes): absent lines are spaces, TOTAL always at offset 26
F_FILE = (
    REC1[:20] + b"\x40" * 6 + REC1[20:]
    + REC2[:8] + b"\x40" * 18 + REC2[8:]
    + REC3
)  # fmt: skip


def read(data: bytes, record_format: str, variable: bool) -> list[dict | BadRecord]:
    fmt = CopybookFormat(parse_copybook(INVOICE), "cp037", record_format, variable_size_occurs=variable)
    wanted = ["INV_NO", "LINE_COUNT", "TOTAL", "LINES"]
    where = [fmt.columns.index(c) for c in wanted]
    rows = [row for _, row in fmt.open(io.BytesIO(data)).scan()]
    return [row if isinstance(row, BadRecord) else {c: row[i] for c, i in zip(wanted, where)} for row in rows]


def test_the_layout_has_flat_columns_and_the_table_as_an_array_column():
    layout = parse_copybook(INVOICE)
    assert layout.record_length == 30 and len(F_FILE) == 3 * 30
    assert layout.columns[:4] == ["INV_NO", "LINE_COUNT", "ITEM_SKU_1", "ITEM_QTY_1"]
    assert nested_columns(layout) == ["LINES"]


@pytest.mark.parametrize(
    "data, record_format, variable",
    [(V_FILE, "V", True), (VB_FILE, "VB", True), (F_FILE, "F", False), (b"".join(RECORDS), "F", True)],
    ids=["V variable-size", "VB variable-size", "F padded to the maximum", "F packed back to back"],
)
def test_hand_written_invoices_read_to_the_same_rows(data, record_format, variable):
    assert read(data, record_format, variable) == EXPECTED


def test_the_flat_indexed_columns_stay_as_they_were():
    fmt = CopybookFormat(parse_copybook(INVOICE), "cp037", "V", variable_size_occurs=True)
    row = dict(zip(fmt.columns, next(fmt.open(io.BytesIO(V_FILE)).scan())[1]))
    assert (row["ITEM_SKU_1"], row["ITEM_QTY_2"], row["ITEM_SKU_3"], row["ITEM_QTY_3"]) == ("AB12", -12, None, None)
    fixed = make_decoder(parse_copybook(INVOICE))(F_FILE[:30])
    assert fixed == tuple(row[c] for c in parse_copybook(INVOICE).columns)


def test_short_records_are_rejected_without_the_option_and_read_with_it():
    without = read(V_FILE, "V", False)
    assert all(isinstance(r, BadRecord) and "truncated record" in r.reason for r in without[:2])
    assert without[2] == EXPECTED[2]  # the full record reads either way
    assert read(V_FILE, "V", True) == EXPECTED


def test_a_record_shorter_than_its_counts_is_a_bad_record_naming_why():
    cut = rdw(REC1[:-2])  # TOTAL lost two bytes
    bad = read(cut + rdw(REC2), "V", True)
    assert isinstance(bad[0], BadRecord) and "truncated record" in bad[0].reason
    assert bad[1] == EXPECTED[1]
    decode = make_variable_decoder(parse_copybook(INVOICE))
    with pytest.raises(RecordError, match="truncated record: 10 bytes") as err:
        decode(REC1[:10])  # two bytes into the first line
    assert err.value.field == "ITEM_SKU_1"
    with pytest.raises(RecordError, match="OCCURS DEPENDING ON count 4 outside 0..3"):
        decode(REC3[:6] + bytes.fromhex("F0F4") + REC3[8:])


def test_a_bad_field_after_the_table_is_named_at_its_moved_offset():
    bad = bytearray(REC1)
    bad[-1] = 0x5A  # TOTAL's sign nibble A... is valid; make a digit nibble bad instead
    bad[-2] = 0xAB
    with pytest.raises(RecordError) as err:
        make_variable_decoder(parse_copybook(INVOICE))(bytes(bad))
    assert (err.value.field, err.value.offset) == ("TOTAL", 20)


def test_a_counter_after_its_table_is_refused_for_variable_size():
    layout = parse_copybook("01 R. 05 T PIC X OCCURS 0 TO 2 DEPENDING ON N. 05 N PIC 9.")
    with pytest.raises(CopybookError, match="needs N before the table"):
        make_variable_decoder(layout)


COBRIX = SHARED_TESTDATA / "cobol" / "cobrix" / "data"


def _test21_format() -> CopybookFormat:
    layout = parse_copybook((COBRIX / "test21_copybook.cob").read_text())
    return CopybookFormat(layout, "ascii", "F", variable_size_occurs=True)


def test_cobrix_test21_nested_odo_packed_back_to_back_reads_as_expected():
    fmt = _test21_format()
    expected = [json.loads(line) for line in (COBRIX / "test21_expected" / "test21.txt").read_text().splitlines()]
    with open(COBRIX / "test21_data" / "data.dat", "rb") as f:
        scanned = list(fmt.open(f).scan())
    assert [offset for offset, _ in scanned] == [0, 1, 3, 7, 13]  # "0" "10" "12AB" "21A2BC" "21A1B"
    got = [{"RECORD": {"COUNT": row[0], "GROUP": row[fmt.columns.index("GROUP")]}} for _, row in scanned]
    assert got == expected


def test_records_packed_back_to_back_are_read_by_offset_and_resumed_from_one():
    fmt = _test21_format()
    group = fmt.columns.index("GROUP")
    with open(COBRIX / "test21_data" / "data.dat", "rb") as f:
        reader = fmt.open(f)
        assert reader.read_at(7)[group] == [
            {"INNER_COUNT": 1, "INNER_GROUP": [{"FIELD": "A"}]},
            {"INNER_COUNT": 2, "INNER_GROUP": [{"FIELD": "B"}, {"FIELD": "C"}]},
        ]
        assert [offset for offset, _ in reader.scan(3)] == [3, 7, 13]
    truncated = (COBRIX / "test21_data" / "data.dat").read_bytes()[:-1]
    last = list(fmt.open(io.BytesIO(truncated)).scan())[-1]
    assert last[0] == 13 and isinstance(last[1], BadRecord) and last[1].fatal and "truncated" in last[1].reason


def test_cobrix_test1_odo_array_column_holds_the_counted_accounts():
    layout = parse_copybook((COBRIX / "test1_copybook.cob").read_text())
    fmt = CopybookFormat(layout, "cp037")
    decode = fmt.lenient()  # COMPANY-ID-STR is PIC X over packed bytes (see test_cobol_testdata)
    expected = [json.loads(line) for line in (COBRIX / "test1_expected" / "test1.txt").read_text().splitlines()]
    with open(COBRIX / "test1_data" / "example.bin", "rb") as f:
        rows = [decode(rec) for _, rec in iter_records(f, "F", layout.record_length)]
    details = fmt.columns.index("ACCOUNT_DETAIL")
    for row, exp in zip(rows, expected, strict=True):
        got = [{k: v.strip() if isinstance(v, str) else v for k, v in d.items()} for d in row[details]]
        assert got == exp["METADATA"]["ACCOUNT"]["ACCOUNT_DETAIL"]
        assert row[fmt.columns.index("METADATA")]["ACCOUNT_DETAIL"] is row[details]


def _invoice_config(tmp_path, copybook: str = INVOICE, **source) -> dict:
    (tmp_path / "invoice.cpy").write_text(copybook)
    fields = {
        "no": {"column": "INV-NO", "converter": "int"},
        "lines": {"type": "array", "column": "LINES", "fields": {"sku": "ITEM_SKU", "qty": "ITEM_QTY"}},
    }
    return {
        "sources": {"f": {"kind": "flatfile", "path": "x", "copybook": str(tmp_path / "invoice.cpy"), **source}},
        "resources": {"r": {"source": "f", "key": ["no"], "fields": fields}},
    }


def _problems(config: dict) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as info:
        validate(config)
    return info.value.problems


def test_array_fields_over_copybook_tables_are_checked_at_start_up(tmp_path):
    config = _invoice_config(tmp_path, record_format="V", variable_size_occurs=True)
    assert validate(config).resources["r"].mapping.fields["lines"].kind == "array"
    config["resources"]["r"]["fields"]["lines"]["fields"]["price"] = "ITEM-PRICE"
    config["resources"]["r"]["fields"]["lines"]["fields"]["sku"] = "ITEM-SKU"  # inside tables: as the decoder names it
    config["resources"]["r"]["fields"]["total"] = {"type": "array", "column": "INV-NO", "fields": {"x": "X"}}
    problems = dict(_problems(config))
    assert "'ITEM-PRICE' is not inside 'LINES'" in problems["resources.r.fields.lines.fields.price.column"]
    assert "its columns: ITEM_QTY, ITEM_SKU" in problems["resources.r.fields.lines.fields.price.column"]
    assert "spell it ITEM_SKU" in problems["resources.r.fields.lines.fields.sku.column"]
    assert "'INV-NO' holds one value" in problems["resources.r.fields.total.fields.x.column"]


@pytest.mark.parametrize(
    "copybook, option, message",
    [
        (INVOICE, "yes", "expected true or false"),
        ("01 R. 05 T PIC X OCCURS 0 TO 2 DEPENDING ON N. 05 N PIC 9.", True, "needs N before the table"),
    ],
)
def test_variable_size_occurs_options_are_config_errors(tmp_path, copybook, option, message):
    config = _invoice_config(tmp_path, copybook, variable_size_occurs=option)
    config["resources"]["r"]["fields"] = {"no": "N" if "01 R." in copybook else "INV-NO"}
    problems = _problems(config)
    assert any(p == "sources.f.variable_size_occurs" and message in t for p, t in problems), problems


def _outcome(decode, record: bytes):
    try:
        return decode(record)
    except RecordError as exc:
        return ("RecordError", str(exc))


@settings(max_examples=300, deadline=None)
@given(which=st.integers(0, 2), at=st.integers(0, 29), byte=st.integers(0, 255), variable=st.booleans())
def test_tables_built_while_decoding_agree_with_the_flat_row_then_its_arrays(which, at, byte, variable):
    layout = parse_copybook(INVOICE)
    fmt = CopybookFormat(layout, "cp037", "V" if variable else "F", variable_size_occurs=variable)
    flat, nest = fmt.make(layout, "cp037", "ibm", strict=True), make_nester(layout)

    def composed(record: bytes) -> tuple:  # the flat row, then its arrays
        row = flat(record)
        return row + nest(row)

    record = bytearray(RECORDS[which] if variable else F_FILE[which * 30 : which * 30 + 30])
    record[at % len(record)] = byte  # one byte changed: often still good, sometimes bad
    assert _outcome(fmt.decode, bytes(record)) == _outcome(composed, bytes(record))
    assert fmt.decode.__name__ == "decode"  # the generated one, not the composition
