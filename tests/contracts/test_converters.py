"""Converters: every built-in, read and written (round-trip properties: test_converter_round_trips.py;
build errors and the registry: test_converter_registry.py)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import yaml

from legacy_bridge.contracts.converters import Chain, ConversionError, build


def read(spec, value):
    """What a legacy value reads as, sentinels and NULL included (the path every row takes)."""
    return build(spec).reader()(value)


# -- trim -----------------------------------------------------------------------------


def test_trim_removes_char_padding_on_the_right_only():
    assert read("trim", "  ACME   ") == "  ACME"
    assert read("trim", None) is None


def test_trim_both_strips_the_left_too():
    assert read({"trim": {"both": True}}, "  ACME   ") == "ACME"


def test_trim_blank_is_null():
    assert read({"trim": {"blank_is_null": True}}, "     ") is None
    assert read({"trim": {"blank_is_null": True}}, " X ") == " X"
    assert read("trim", "     ") == ""


def test_trim_width_pads_filter_values_back():
    assert build({"trim": {"width": 8}}).to_legacy("ACME") == "ACME    "
    assert build("trim").to_legacy("ACME") == "ACME"


def test_trim_null_if():
    assert read({"trim": {"null_if": ["N/A"]}}, "N/A") is None


def test_text_converts_anything_to_str():
    assert read("text", 42) == "42"
    assert build("text").supports_like and build("trim").supports_like
    assert not build("int").supports_like


# -- numbers --------------------------------------------------------------------------


def test_int_and_float():
    assert read("int", "0042") == 42 and build("int").type == "integer"
    assert read("float", "2.5") == 2.5 and build("float").type == "number"
    assert build("int").to_legacy(7) == 7


def test_decimal_reads_decimal_columns_and_quantizes_to_scale():
    conv = build({"decimal": {"scale": 2}})
    assert conv.to_canonical(Decimal("12.5")) == Decimal("12.50")
    assert str(conv.to_canonical(Decimal("12.5"))) == "12.50"
    assert conv.to_canonical(0.1) == Decimal("0.10")  # floats via repr, not binary expansion
    assert conv.to_legacy(Decimal("12.50")) == Decimal("12.50")
    assert conv.type == "decimal"


def test_decimal_implied_point():
    conv = build({"decimal": {"implied": 2}})
    assert str(conv.to_canonical(12345)) == "123.45"
    assert conv.to_legacy(Decimal("123.45")) == 12345
    assert conv.to_legacy(Decimal("-0.07")) == -7
    assert str(build({"decimal": {"implied": 3, "scale": 2}}).to_canonical(12346)) == "12.35"


def test_decimal_implied_refuses_a_filter_value_finer_than_the_column():
    # truncating 1.005 to 100 would make amount>=1.005 match 1.00
    with pytest.raises(ConversionError, match="at most 2 decimal places"):
        build({"decimal": {"implied": 2}}).to_legacy(Decimal("1.005"))
    assert build({"decimal": {"implied": 2}}).to_legacy(Decimal("1.500")) == 150


# -- dates and times ------------------------------------------------------------------


def test_yyyymmdd_int():
    conv = build("yyyymmdd")
    assert conv.to_canonical(20200131) == dt.date(2020, 1, 31)
    assert conv.to_legacy(dt.date(2020, 1, 31)) == 20200131
    assert conv.to_legacy(dt.date(1, 1, 1)) == 10101 and conv.to_canonical(10101) == dt.date(1, 1, 1)
    assert conv.type == "date"


def test_yyyymmdd_int_sentinels_read_as_null():
    reader = build("yyyymmdd").reader()
    assert [reader(v) for v in (0, 99999999, None)] == [None, None, None]
    assert build("yyyymmdd").legacy_nulls == (0, 99999999)


def test_yyyymmdd_str_and_its_sentinels():
    conv = build({"yyyymmdd": {"as": "str"}})
    assert conv.to_canonical("20200131") == dt.date(2020, 1, 31)
    assert conv.to_legacy(dt.date(2020, 1, 31)) == "20200131"
    reader = conv.reader()
    assert [reader(v) for v in ("", "        ", "00000000", "99999999")] == [None] * 4
    assert 0 not in conv.legacy_nulls  # sentinels are typed like the column


def test_yyyymmdd_impossible_dates_read_as_null():
    assert read("yyyymmdd", 20200230) is None
    assert read({"yyyymmdd": {"as": "str"}}, "2020AB01") is None


def test_yyyymmdd_custom_sentinels_replace_the_defaults():
    conv = build({"yyyymmdd": {"null_if": [11111111]}})
    assert conv.legacy_nulls == (11111111,)
    assert conv.reader()(0) is None  # not a sentinel any more, but not a date either


def test_hhmmss_int_and_str():
    assert read("hhmmss", 93000) == dt.time(9, 30)
    assert build("hhmmss").to_legacy(dt.time(9, 30, 5)) == 93005
    assert read({"hhmmss": {"as": "str"}}, "235959") == dt.time(23, 59, 59)
    assert build({"hhmmss": {"as": "str"}}).to_legacy(dt.time(0, 0, 1)) == "000001"
    assert read("hhmmss", 250000) is None
    assert build("hhmmss").type == "time"


def test_hhmmss_refuses_fractions_of_a_second():
    with pytest.raises(ConversionError, match="whole seconds"):
        build("hhmmss").to_legacy(dt.time(9, 30, 5, 500000))


def test_timestamp_native_and_iso_text():
    conv = build("timestamp")
    stamp = dt.datetime(2020, 1, 2, 3, 4, 5, 600000)
    assert conv.to_canonical(stamp) is stamp
    assert conv.to_canonical("2020-01-02 03:04:05.600000") == stamp
    assert conv.to_canonical("  ") is None and conv.to_canonical("garbage") is None
    assert conv.to_legacy(stamp) is stamp
    assert conv.type == "datetime"


def test_timestamp_with_a_format():
    conv = build({"timestamp": {"format": "%Y%m%d%H%M%S"}})
    assert conv.to_canonical("20200102030405") == dt.datetime(2020, 1, 2, 3, 4, 5)
    assert conv.to_legacy(dt.datetime(2020, 1, 2, 3, 4, 5)) == "20200102030405"
    assert conv.to_canonical("2020-01-02") is None


def test_date_native_and_text():
    conv = build("date")
    assert conv.to_canonical(dt.datetime(2020, 1, 2, 3, 4)) == dt.date(2020, 1, 2)
    assert conv.to_canonical(dt.date(2020, 1, 2)) == dt.date(2020, 1, 2)
    assert conv.to_canonical("2020-01-02 00:00:00") == dt.date(2020, 1, 2)
    assert conv.to_canonical("n/a") is None
    assert conv.to_legacy(dt.date(2020, 1, 2)) == dt.date(2020, 1, 2)


# -- flags and codes ------------------------------------------------------------------


def test_flag_defaults_to_y_and_n():
    conv = build("flag")
    assert [conv.to_canonical(v) for v in ("Y", "N", "Y ", "?")] == [True, False, True, None]
    assert conv.to_legacy(True) == "Y" and conv.to_legacy(False) == "N"
    assert conv.type == "boolean"


def test_flag_custom_codes_and_lists():
    conv = build({"flag": {"true": ["1", "T"], "false": ["0", "F", " "]}})
    assert [conv.to_canonical(v) for v in ("1", "T", "0", "F")] == [True, True, False, False]
    assert conv.to_legacy(True) == "1" and conv.to_legacy(False) == "0"
    ints = build({"flag": {"true": 1, "false": 0}})
    assert ints.to_canonical(1) is True and ints.to_legacy(False) == 0


def test_flag_codes_written_in_yaml_with_true_and_false_keys():
    # YAML reads `true:` and `false:` as booleans; the design's own example is written so
    conv = build(yaml.safe_load('{flag: {true: "J", false: "N"}}'))
    assert conv.to_canonical("J") is True and conv.to_legacy(False) == "N"


def test_code_table():
    conv = build({"code": {"codes": {"A": "active", "C": "closed"}}})
    assert conv.to_canonical("A ") == "active" and conv.to_canonical("X") is None
    assert conv.to_legacy("closed") == "C"
    assert conv.enum == ("active", "closed")
    with pytest.raises(ConversionError, match="must be one of active, closed"):
        conv.to_legacy("open")


def test_code_table_with_numeric_codes():
    conv = build({"code": {"codes": {1: "one", 2: "two"}}})
    assert conv.to_canonical(1) == "one" and conv.to_legacy("two") == 2


def test_null_if_alone():
    conv = build({"null_if": [0, -1]})
    assert conv.reader()(0) is None and conv.reader()(-1) is None and conv.reader()(5) == 5


# -- chains ---------------------------------------------------------------------------


def test_a_chain_reads_in_order_and_writes_in_reverse():
    conv = build(["trim", {"code": {"codes": {"A": "active", "H": "on_hold"}}}])
    assert isinstance(conv, Chain)
    assert conv.reader()("H   ") == "on_hold"
    assert conv.to_legacy("on_hold") == "H"
    assert conv.type == "string" and conv.enum == ("active", "on_hold")
    assert not conv.supports_like  # a code table does not keep prefixes


def test_a_chain_takes_sentinels_from_its_first_part_and_nulls_from_later_parts():
    conv = build([{"trim": {"width": 8}}, {"yyyymmdd": {"as": "str"}}])
    reader = conv.reader()
    assert reader("20200101") == dt.date(2020, 1, 1)
    assert reader("        ") is None  # trimmed to "", a sentinel of the date part
    assert conv.to_legacy(dt.date(2020, 1, 1)) == "20200101"
    assert conv.type == "date"


def test_a_list_of_one_is_that_converter():
    assert type(build(["trim"])) is type(build("trim"))


# -- no converter, binary ---------------------------------------------------------------


@pytest.mark.parametrize(
    "value, text",
    [
        (5, "5"),
        (Decimal("1.50"), "1.50"),
        (2.5, "2.5"),
        (True, "true"),
        (False, "false"),
        (dt.date(2024, 2, 29), "2024-02-29"),
        (dt.time(9, 30, 5), "09:30:05"),
        (dt.datetime(2024, 2, 29, 9, 30), "2024-02-29T09:30:00"),
        (b"\x00\xff", "AP8="),
        ("as is ", "as is "),
    ],
)
def test_a_field_without_converter_reads_as_text_of_any_type(value, text):
    assert build(None).reader()(value) == text


def test_the_binary_converter_keeps_bytes_which_json_and_csv_write_in_base64():
    from legacy_bridge.formats.encoders import csv_cell
    from legacy_bridge.formats.jsonio import dumps

    binary = build("binary")
    value = binary.reader()(bytearray(b"\x00\xff\x10"))
    assert value == b"\x00\xff\x10" and binary.type == "binary"
    assert dumps({"b": value}) == b'{"b":"AP8Q"}' and csv_cell(value) == "AP8Q"
