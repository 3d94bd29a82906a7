"""Round trips of every built-in converter: to_canonical(to_legacy(x)) == x, for any x hypothesis
finds."""

from __future__ import annotations

import datetime as dt

import yaml
from hypothesis import given
from hypothesis import strategies as st

from legacy_bridge.contracts.converters import build


def round_trip(spec, value):
    conv = build(spec)
    return conv.reader()(conv.to_legacy(value))


@given(st.dates())
def test_yyyymmdd_int_round_trip(day):
    assert round_trip("yyyymmdd", day) == day


@given(st.dates())
def test_yyyymmdd_str_round_trip(day):
    assert round_trip({"yyyymmdd": {"as": "str"}}, day) == day


@given(st.times().map(lambda t: t.replace(microsecond=0)), st.sampled_from(["int", "str"]))
def test_hhmmss_round_trip(moment, as_):
    assert round_trip({"hhmmss": {"as": as_}}, moment) == moment


@given(st.decimals(places=2, min_value=-(10**9), max_value=10**9, allow_nan=False, allow_infinity=False))
def test_decimal_round_trips(amount):
    assert round_trip({"decimal": {"scale": 2}}, amount) == amount
    implied = round_trip({"decimal": {"implied": 2, "scale": 2}}, amount)
    assert implied == amount and implied.as_tuple().exponent == -2


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_int_round_trip(number):
    assert round_trip("int", number) == number


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_float_round_trip(number):
    assert round_trip("float", number) == number


@given(
    st.booleans(),
    st.sampled_from(
        [
            "flag",
            {"flag": {"true": "J", "false": "N"}},
            {"flag": {"true": [1, 2], "false": [0]}},
            yaml.safe_load("{flag: {true: T, false: F}}"),
        ]
    ),
)
def test_flag_round_trip(value, spec):
    assert round_trip(spec, value) is value


CODES = {"A": "active", "C": "closed", "H": "on_hold", "9": "archived"}


@given(st.sampled_from(sorted(CODES.values())))
def test_code_round_trip_alone_and_in_a_chain(name):
    assert round_trip({"code": {"codes": CODES}}, name) == name
    assert round_trip(["trim", {"code": {"codes": CODES}}], name) == name


@given(st.text(max_size=12).filter(lambda s: s == s.rstrip()))
def test_trim_width_round_trip(text):
    assert round_trip({"trim": {"width": 12}}, text) == text
    assert len(build({"trim": {"width": 12}}).to_legacy(text)) == 12


@given(st.datetimes(min_value=dt.datetime(1000, 1, 1)).map(lambda d: d.replace(microsecond=0)))
def test_timestamp_with_format_round_trip(stamp):
    assert round_trip({"timestamp": {"format": "%Y-%m-%d %H:%M:%S"}}, stamp) == stamp


@given(st.datetimes())
def test_timestamp_native_round_trip(stamp):
    assert round_trip("timestamp", stamp) == stamp


@given(st.dates())
def test_date_round_trip(day):
    assert round_trip("date", day) == day
