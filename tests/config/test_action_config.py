"""The ``actions:`` section: each mistake reported with its key path, all at once."""

from __future__ import annotations

import copy

import pytest

from legacy_bridge.config import validate
from legacy_bridge.errors import ConfigError

BASE = {
    "sources": {
        "erp": {"kind": "odbc", "connection": "DSN=erp", "read_only": False},
        "ro": {"kind": "odbc", "connection": "DSN=ro"},
        "tms": {"kind": "soap", "wsdl": "http://tms.invalid/Freight?wsdl"},
    },
    "resources": {"orders": {"source": "erp", "table": "ORD", "key": ["id"], "fields": {"id": {"column": "ORD_NO"}}}},
}
GOOD = {
    "source": "erp",
    "procedure": "ALLOC_ORD",
    "params": {
        "customer_id": {"param": "P_CUST", "converter": "int"},
        "order_no": {"param": "P_ORD", "converter": "int", "mode": "out"},
        "lines_cursor": {"param": "R_LINES", "mode": "inout", "required": False},
    },
    "result_sets": [{"name": "lines", "cursor": "lines_cursor", "fields": {"sku": {"column": "SKU"}}}],
}


def problems(**action) -> dict[str, str]:
    raw = copy.deepcopy(BASE)
    raw["actions"] = {"allocate-order": {**copy.deepcopy(GOOD), **action}}
    try:
        validate(raw)
    except ConfigError as error:
        return dict(error.problems)
    return {}


def test_a_good_action_is_read_with_its_params_in_order():
    raw = copy.deepcopy(BASE)
    raw["actions"] = {"allocate-order": copy.deepcopy(GOOD)}
    spec = validate(raw).actions["allocate-order"]
    assert list(spec.params) == ["customer_id", "order_no", "lines_cursor"]
    assert spec.modes == {"customer_id": "in", "order_no": "out", "lines_cursor": "inout"}
    assert list(spec.given()) == ["customer_id"] and list(spec.answered()) == ["order_no"]
    assert spec.required == ("customer_id",) and spec.kind == "procedure"


@pytest.mark.parametrize(
    ("action", "path", "words"),
    [
        ({"source": "nowhere"}, "actions.allocate-order.source", "unknown source"),
        ({"source": "tms"}, "actions.allocate-order.source", "no stored procedures"),
        ({"source": "ro"}, "actions.allocate-order", "source is read-only"),
        ({"function": "F"}, "actions.allocate-order", "exactly one of procedure or function"),
        ({"returns": {"converter": "int"}}, "actions.allocate-order.returns", "a procedure returns no value"),
        ({"params": {"x": {"param": "P", "mode": "both"}}}, "actions.allocate-order.params.x.mode", "in, out, inout"),
        ({"params": {"x": {"converter": "int"}}}, "actions.allocate-order.params.x.param", "required"),
        ({"params": {"x": {"param": "P", "converter": "nope"}}}, "actions.allocate-order.params.x.converter", "nope"),
        (
            {"params": {"x": {"param": "P", "mode": "out", "required": True}}},
            "actions.allocate-order.params.x.required",
            "never given",
        ),
        (
            {"result_sets": [{"name": "lines", "cursor": "customer_id", "fields": {"a": {"column": "A"}}}]},
            "actions.allocate-order.result_sets[0].cursor",
            "not an OUT or INOUT parameter",
        ),
        ({"result_sets": [{"name": "lines"}]}, "actions.allocate-order.result_sets[0].fields", "at least one field"),
        ({"timeout": "5s"}, "actions.allocate-order.timeout", "unknown key"),
    ],
)
def test_a_mistake_is_reported_at_its_key(action, path, words):
    found = problems(**action)
    assert path in found, found
    assert words in found[path]


def test_an_action_named_as_a_resource_is_refused():
    raw = copy.deepcopy(BASE)
    raw["actions"] = {"orders": copy.deepcopy(GOOD)}
    with pytest.raises(ConfigError) as raised:
        validate(raw)
    assert "names a resource already" in dict(raised.value.problems)["actions.orders"]


def test_a_read_only_action_may_use_a_read_only_source_and_takes_no_idempotency():
    assert problems(source="ro", read_only=True) == {}
    found = problems(read_only=True, idempotency={"required": True})
    assert "only for a POST" in found["actions.allocate-order.idempotency"]
