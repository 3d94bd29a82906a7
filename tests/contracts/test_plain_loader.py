"""The plain-body loader of a built contract gives exactly what the contract's ``load`` gives,
or None (then the contract loads the body and words its errors): never another value."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from legacy_bridge.contracts.converters import build
from legacy_bridge.contracts.mapping import FieldMap, Mapping, Rules
from legacy_bridge.contracts.schema import build_contract, plain_loader

FIELDS = {
    "code": FieldMap("code", "CD", build("trim")),
    "count": FieldMap("count", "CNT", build("int"), nullable=False),
    "amount": FieldMap("amount", "AMT", build("decimal")),
    "ratio": FieldMap("ratio", "RT", build("float")),
    "short": FieldMap("short", "SH", build("trim"), rules=Rules(max_length=3)),
}
CONTRACT = build_contract("things", Mapping(fields=FIELDS, key=["code"]))

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=6),
    st.sampled_from(["1.50", " 2", "NaN", "-Infinity", "1e3", "x", "-0", "12345678901234567890.123"]),
    st.decimals(allow_nan=False).map(str),
)
bodies = st.dictionaries(st.sampled_from([*FIELDS, "other"]), values, max_size=6)


@settings(max_examples=600)
@given(bodies)
def test_a_plain_body_loads_as_the_contract_loads_it_or_falls_back(body):
    got = plain_loader(CONTRACT)(body)
    try:
        expected = CONTRACT().load(body)
    except ValidationError:
        assert got is None
        return
    if got is not None:
        assert got == expected and [type(v) for v in got.values()] == [type(v) for v in expected.values()]


def test_the_common_body_takes_the_plain_path():
    body = {"code": "A1", "count": 3, "amount": "12.50", "short": "abc"}
    assert plain_loader(CONTRACT)({k: body[k] for k in ("code", "count", "amount")}) == {
        "code": "A1",
        "count": 3,
        "amount": Decimal("12.50"),
    }
    assert plain_loader(CONTRACT)(body) is None  # a field with a rule goes through the contract
