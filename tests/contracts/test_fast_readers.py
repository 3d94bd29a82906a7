"""The hot-path readers (a converter's own ``reader()``, its ``inline()`` expression in a
generated row reader) read every legacy value exactly as the plain conversion does:
NULL, sentinels, native values and text alike."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from legacy_bridge.contracts.converter_base import Converter
from legacy_bridge.contracts.converters import build
from legacy_bridge.contracts.mapping import FieldMap, Mapping

SPECS = [
    "int",
    "trim",
    "timestamp",
    "yyyymmdd",
    {"yyyymmdd": {"as": "str"}},
    {"decimal": {"scale": 2}},
    {"flag": {"true": "Y", "false": "N"}},
    {"code": {"codes": {"Y": "yes", "N": "no", "6550": "many", 0: "zero"}}},
]

legacy_values = st.one_of(
    st.none(),
    st.integers(-(10**9), 10**9),
    st.sampled_from([0, 99999999, 20240229, 20230229, 19991231, True, False]),
    st.decimals(allow_nan=False, allow_infinity=False, places=3, min_value=-(10**6), max_value=10**6),
    st.sampled_from(["Y", "N", " Y", "y", "", "        ", "00000000", "20240101", "2024-01-02 03:04:05.123456"]),
    st.sampled_from(["2024-01-02T03:04:05 ", "garbage", "6550", " 12.5 "]),
    st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2100, 1, 1)),
)


def _plain(converter: Converter, value):
    """What the base class's reader makes of ``value`` (NULL and sentinels, then to_canonical)."""
    try:
        return ("ok", Converter.reader(converter)(value))
    except Exception as error:  # noqa: BLE001 - the fast path must fail alike
        return ("error", type(error))


def _fast(read, value):
    try:
        return ("ok", read(value))
    except Exception as error:  # noqa: BLE001
        return ("error", type(error))


@given(st.lists(legacy_values, min_size=1, max_size=20))
def test_each_fast_reader_reads_like_the_plain_conversion(values):
    for spec in SPECS:
        converter = build(spec)
        read = converter.reader()
        for value in values * 2:  # twice: a memo must answer like the first conversion
            assert _fast(read, value) == _plain(converter, value), (spec, value)


@given(legacy_values)
def test_a_generated_row_reader_gives_each_field_its_conversion(value):
    fields = {f"f{i}": FieldMap(f"f{i}", f"c{i}", build(spec)) for i, spec in enumerate(SPECS)}
    mapping = Mapping(fields, key=["f0"])
    names = list(fields)[::-1]  # any order of fields, any column positions
    positions = [len(SPECS) - 1 - i for i in range(len(SPECS))][::-1]
    row = tuple(value for _ in SPECS)
    expected = {}
    for name, pos in zip(names, positions):
        result = _plain(fields[name].converter, row[pos])
        if result[0] == "error":
            expected = None
            break
        expected[name] = result[1]
    columns = [""] * len(SPECS)  # the query's columns: each field's at its position
    for name, pos in zip(names, positions):
        columns[pos] = fields[name].column
    read = mapping.row_reader(names, columns)
    if expected is None:
        try:
            read(row)
        except Exception:  # noqa: BLE001 - an error reading a field is one reading the row
            return
        raise AssertionError("the row reader read a value the conversion refuses")
    assert read(row) == expected
    assert list(read(row)) == names


def test_field_names_reach_the_generated_reader_as_data_not_code():
    name = "x'}; import os; {'"
    mapping = Mapping({name: FieldMap(name, "c", build("trim"))}, key=[name])
    assert mapping.row_reader([name], ["c"])(("a  ",)) == {name: "a"}


def test_decimals_keep_their_scale_whatever_the_source_hands_over():
    read = build({"decimal": {"scale": 2}}).reader()
    assert str(read(Decimal("6550"))) == "6550.00"
    assert str(read("6550")) == "6550.00"
    assert str(read(6550)) == "6550.00"


def test_a_kept_row_reader_serves_only_its_own_shape_of_query():
    fields = {"a": FieldMap("a", "ca", build("trim")), "b": FieldMap("b", "cb", build("int"))}
    mapping = Mapping(fields, key=["a"])
    first = mapping.row_reader(["a", "b"], ["ca", "cb"])
    assert mapping.row_reader(["a", "b"], ["ca", "cb"]) is first  # the next page's query: kept
    assert mapping.row_reader(["a", "b"], ["cb", "ca"])((7, "x ")) == {"a": "x", "b": 7}
    assert mapping.row_reader(["b"], ["ca", "cb"])(("x ", 7)) == {"b": 7}
    assert first(("x ", 7)) == {"a": "x", "b": 7}
