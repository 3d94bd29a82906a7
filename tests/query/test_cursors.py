"""Keyset cursors: every legacy value type survives the trip; anything not ours is a 400."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from itsdangerous import URLSafeSerializer

from legacy_bridge.errors import InvalidInput
from legacy_bridge.problems import body_of, status_of
from legacy_bridge.query.cursors import CursorCodec, fingerprint

QUERY = fingerprint("customers", [], [("id", False)])
VALUES = (
    42,
    "CUSTOMER 0042   ",
    Decimal("1234.50"),
    dt.date(2020, 1, 31),
    dt.datetime(2020, 1, 31, 23, 59, 58, 123456),
    dt.time(9, 30, 5),
    b"\x00\xff raw",
    None,
    True,
    False,
    2.5,
    -0.0,
    "",
    Decimal("-0.001"),
    dt.datetime(2020, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
)


@pytest.fixture
def codec() -> CursorCodec:
    return CursorCodec("test-secret")


def test_every_value_type_round_trips_with_its_type(codec):
    token = codec.dump(QUERY, VALUES)
    back = codec.load(token, QUERY, len(VALUES))
    assert back == VALUES
    assert [type(v) for v in back] == [type(v) for v in VALUES]
    assert str(back[2]) == "1234.50" and back[-1].utcoffset() == dt.timedelta(hours=-5)


def test_the_token_is_url_safe_and_opaque(codec):
    token = codec.dump(QUERY, ("CUSTOMER 0042",))
    assert token.replace("-", "").replace("_", "").replace(".", "").isalnum()


@given(
    st.lists(
        st.one_of(
            st.none(),
            st.booleans(),
            st.integers(),
            st.text(),
            st.binary(),
            st.dates(),
            st.times(),
            st.datetimes(),
            st.floats(allow_nan=False),
            st.decimals(allow_nan=False, allow_infinity=False),
        ),
        max_size=4,
    )
)
def test_generated_values_round_trip(values):
    codec = CursorCodec("s")
    assert codec.load(codec.dump("q", tuple(values)), "q", len(values)) == tuple(values)


def test_a_value_of_another_type_cannot_be_put_in_a_cursor(codec):
    with pytest.raises(TypeError, match="cannot put a list in a cursor"):
        codec.dump(QUERY, ([1],))


def refused(codec: CursorCodec, token: str, query: str = QUERY, width: int = 2) -> InvalidInput:
    with pytest.raises(InvalidInput) as exc:
        codec.load(token, query, width)
    error = exc.value
    assert error.extra["parameter"] == "cursor"
    assert status_of(error) == 400 and body_of(error)["type"].endswith(":invalid-cursor")
    return error


def test_a_tampered_cursor_is_refused(codec):
    token = codec.dump(QUERY, (7, "x"))
    payload, _, signature = token.rpartition(".")
    forged = URLSafeSerializer("guess").dumps([QUERY, [["i", 8], ["s", "x"]]]).rpartition(".")[0]
    for bad in (forged + "." + signature, payload[:-1] + ("A" if payload[-1] != "A" else "B") + "." + signature):
        assert "tampered" in refused(codec, bad).detail


def test_a_truncated_cursor_is_refused(codec):
    token = codec.dump(QUERY, (7, "x"))
    for bad in (token[:-1], token[: len(token) // 2], token.split(".")[0], "", "."):
        refused(codec, bad)


def test_garbage_is_refused(codec):
    for bad in ("not-a-cursor", "%%%", "a.b.c", "\u00e9t\u00e9"):
        refused(codec, bad)


def test_a_cursor_signed_with_another_secret_is_refused(codec):
    foreign = CursorCodec("another-deployment").dump(QUERY, (7, "x"))
    assert "tampered" in refused(codec, foreign).detail


def test_a_cursor_of_another_query_is_refused(codec):
    other = fingerprint("customers", [], [("name", False), ("id", False)])
    token = codec.dump(other, (7, "x"))
    assert "another resource or to other filters or sort" in refused(codec, token).detail


def test_a_cursor_with_the_wrong_number_of_values_is_refused(codec):
    refused(codec, codec.dump(QUERY, (7,)), width=2)


@pytest.mark.parametrize(
    "payload",
    [
        "not a pair",
        [QUERY],
        [QUERY, 5],
        [QUERY, [["z", 1]]],
        [QUERY, [["d", "2020-13-01"]]],
        [QUERY, [["d", 5]]],
        [QUERY, [["n", "abc"]]],
        [QUERY, [["i", "seven"]]],
        [QUERY, [["x", "abc"]]],
        [QUERY, [["s"]]],
        [QUERY, [["s", "a", "b"]]],
    ],
)
def test_a_signed_but_malformed_cursor_is_a_400_not_a_500(codec, payload):
    # only someone holding the secret can sign these; they must still not crash a request
    token = codec._signer.dumps(payload)
    refused(codec, token, width=1)


def test_fingerprints_tell_queries_apart():
    assert fingerprint("a", [], [("id", False)]) != fingerprint("a", [], [("id", True)])
    assert fingerprint("a", [], [("id", False)]) != fingerprint("b", [], [("id", False)])
    assert fingerprint("a", [], [("id", False)]) == fingerprint("a", [], [("id", False)])
