"""Decoding real COBOL files matches, value for value, what other COBOL readers produced.

Inputs and expected outputs are in ../shared/testdata/cobol (see its SOURCES.md for the
options each expected file assumes): JRecord's DTAR020 (CSV) and Cobrix's test1, test19 and
test40 (Spark JSON lines, reshaped here from our flat tuples by ``cobrix_json``).
"""

from __future__ import annotations

import csv
import json
import struct
from decimal import Decimal

import pytest

from helpers.backends import SHARED_TESTDATA
from legacy_bridge.drivers.flatfile.copybook import Layout, RecordError, iter_records, make_decoder, parse_copybook

COBOL = SHARED_TESTDATA / "cobol"
DTAR = COBOL / "cobol-to-csv" / "Examples"
COBRIX = COBOL / "cobrix" / "data"


def _read(layout: Layout, path, **options) -> list[tuple]:
    decode = make_decoder(layout, "cp037", **options)
    with open(path, "rb") as f:
        return [decode(rec) for _, rec in iter_records(f, "F", layout.record_length)]


def cobrix_json(layout: Layout, row: tuple, null_as: object = None) -> dict:
    """Shape a flat tuple like Cobrix's df.toJSON: nested groups, OCCURS as arrays holding
    only the OCCURS DEPENDING ON count of elements, nulls left out (or ``null_as``, for
    numbers only, as Spark's na.fill(0) does)."""
    values = dict(zip(layout.columns, row))
    out: dict = {}
    for f, v in zip(layout.fields, row):
        if not all(isinstance(values[d], int) and values[d] > k for d, k in f.odo):
            continue
        node = out
        for name, idx in f.path[:-1]:
            key = name.replace("-", "_")
            if idx is None:
                node = node.setdefault(key, {})
            else:
                arr = node.setdefault(key, [])
                while len(arr) <= idx:
                    arr.append({})
                node = arr[idx]
        name, idx = f.path[-1]
        if v is None:
            if null_as is None or f.type == "text":
                continue
            v = null_as
        if idx is None:
            node[name.replace("-", "_")] = v
        else:
            node.setdefault(name.replace("-", "_"), []).append(v)
    return out


def differences(expected, got, path: str = "") -> list[tuple]:
    """Paths where ``got`` differs: same keys, same types (int/Decimal/float/str), same
    value; decimals keep their scale (30.50 is not 30.5); COMP-1 compares as float32."""
    if isinstance(expected, dict):
        if not isinstance(got, dict) or expected.keys() != got.keys():
            return [(path, expected, got)]
        return [d for k in expected for d in differences(expected[k], got[k], f"{path}.{k}")]
    if isinstance(expected, list):
        if not isinstance(got, list) or len(expected) != len(got):
            return [(path, expected, got)]
        return [d for i, (e, g) in enumerate(zip(expected, got)) for d in differences(e, g, f"{path}[{i}]")]
    if isinstance(got, float):
        single = struct.unpack(">f", struct.pack(">f", float(expected)))[0]
        return [] if got in (float(expected), single) else [(path, expected, got)]
    if isinstance(expected, Decimal):
        ok = isinstance(got, Decimal) and got == expected and got.as_tuple().exponent == expected.as_tuple().exponent
        return [] if ok else [(path, expected, got)]
    return [] if type(got) is type(expected) and got == expected else [(path, expected, got)]


def _expected(path) -> list[dict]:
    return [json.loads(line, parse_float=Decimal) for line in path.read_text().splitlines() if line.strip()]


def test_dtar020_all_379_rows_equal_jrecord_csv():
    layout = parse_copybook((DTAR / "DTAR020.cbl").read_text())
    assert layout.record_length == 27
    rows = _read(layout, DTAR / "in" / "DTAR020.bin")
    with open(DTAR / "in" / "DTAR020_a.csv", newline="") as f:
        header, *expected = list(csv.reader(f, delimiter="\t"))
    assert layout.columns == header
    assert len(rows) == len(expected) == 379
    assert [[str(v) for v in row] for row in rows] == expected  # 19.00 stays 19.00
    assert rows[1] == ("69684558", 20, 40118, 280, -1, Decimal("-19.00"))


def test_cobrix_test1_occurs_depending_on_comp3_comp_redefines():
    layout = parse_copybook((COBRIX / "test1_copybook.cob").read_text())
    assert layout.record_length == 2202  # the ODO array occupies its maximum, 80 x 27
    # COMPANY-ID-STR is PIC X over packed bytes: lenient mode reads its control bytes as spaces
    with pytest.raises(RecordError) as err:
        _read(layout, COBRIX / "test1_data" / "example.bin", trim="both")
    assert err.value.field == "COMPANY_ID_STR" and "code point" in err.value.reason
    rows = _read(layout, COBRIX / "test1_data" / "example.bin", strict=False, trim="both")
    expected = _expected(COBRIX / "test1_expected" / "test1.txt")
    assert len(rows) == len(expected) == 10
    for i, (row, exp) in enumerate(zip(rows, expected)):
        assert differences(exp, cobrix_json(layout, row)) == [], f"record {i}"
    assert [r[layout.columns.index("NUMBER_OF_ACCTS")] for r in rows] == [
        len(e["METADATA"]["ACCOUNT"]["ACCOUNT_DETAIL"]) for e in expected
    ]


def test_cobrix_test19_display_numbers_with_implied_and_explicit_points():
    layout = parse_copybook((COBRIX / "test19_display_num.cob").read_text())
    rows = _read(layout, COBRIX / "test19_display_num" / "data.dat", strict=False, trim="both")
    expected = _expected(COBRIX / "test19_display_num_expected" / "test19.txt")
    assert len(rows) == len(expected) == 7
    for i, (row, exp) in enumerate(zip(rows, expected)):
        got = {"File_Id": 0, "Record_Id": i, **cobrix_json(layout, row)}  # generate_record_id
        if i == 5:
            # All-space numerics are "no value" here; Cobrix with improved_null_detection=false
            # agrees for PIC 9(8) but reads the all-space PIC 9(8)V9(2) as 0.00.
            assert row[layout.columns.index("WS_AMOUNT_FRACTION")] is None
            got["WS_AMOUNT_FRACTION"] = Decimal("0.00")
        assert differences(exp, got) == [], f"record {i}"
    # record 6 holds letters in numeric fields: strict mode names the first one
    with pytest.raises(RecordError) as err:
        _read(layout, COBRIX / "test19_display_num" / "data.dat")
    assert (err.value.field, err.value.offset) == ("WS_DATE_NUM", 0)
    assert "non-digit" in err.value.reason


def test_cobrix_test40_every_numeric_type_first_20_by_id():
    layout = parse_copybook((COBRIX / "test40_copybook.cob").read_text())
    assert layout.record_length == 1493
    layout_txt = (COBRIX / "test40_expected" / "test40_layout.txt").read_text().splitlines()
    starts = {
        p[1]: (int(p[-3]), int(p[-1]))
        for p in (ln.split() for ln in layout_txt)
        if len(p) >= 5 and p[0] == "10" and p[-1].isdigit()
    }
    for f in layout.fields:  # offsets and lengths agree with Cobrix's layout
        assert (f.offset + 1, f.length) == starts[f.name], f.name
    # strict decoding succeeds on all 100 records (strict_sign_overpunching, pedantic)
    rows = _read(layout, COBRIX / "test40_data" / "example.dat", floating_point="ieee", trim="both")
    assert len(rows) == 100 and all(v is not None for r in rows for v in r)
    got = sorted((cobrix_json(layout, r, null_as=0) for r in rows), key=lambda d: d["ID"])[:20]
    expected = _expected(COBRIX / "test40_expected" / "test40.txt")
    assert len(expected) == 20
    for exp, g in zip(expected, got):
        assert differences(exp, g) == [], f"ID {exp['ID']}"
