"""Nested fields in the mapping and the contract: what a driver delivers for an object or an
array column becomes canonical values through each inner field's converter; a canonical body
goes back the same way; filters on inner fields match any element; rules hold in the contract."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from marshmallow import ValidationError

from legacy_bridge.config import validate
from legacy_bridge.contracts.mapping import WriteError
from legacy_bridge.contracts.schema import build_contract
from legacy_bridge.drivers import Driver
from legacy_bridge.errors import InvalidInput
from legacy_bridge.query.filtering import predicate
from legacy_bridge.query.legacy import Condition, Inner, Query
from legacy_bridge.query.model import Filter, ListQuery
from legacy_bridge.query.planner import Planner


class Declared(Driver):
    kind = "declared"

    def fetch(self, target: dict[str, Any], query: Query):
        raise AssertionError("the planner never reads")


CONFIG = {
    "service": {"secret": "s"},
    "sources": {"erp": {"kind": "odbc", "connection": "DSN=never"}},
    "resources": {
        "invoices": {
            "source": "erp",
            "table": "INV",
            "key": "number",
            "fields": {
                "number": {"column": "INV-NO", "converter": "int"},
                "issued_on": {"column": "INV-DT", "converter": "yyyymmdd"},
                "lines": {
                    "type": "array",
                    "column": "LINES",
                    "fields": {
                        "sku": {
                            "column": "ITEM-SKU",
                            "converter": "trim",
                            "filter": True,
                            "pattern": "^[A-Z]{2}[0-9]{2}$",
                        },
                        "qty": {"column": "ITEM-QTY", "converter": "int", "filter": True, "minimum": 1},
                        "price": {"column": "ITEM-PRICE", "converter": {"decimal": {"implied": 2}}},
                    },
                },
                "codes": {"type": "array", "column": "CODES", "converter": "trim", "filter": True},
                "bill_to": {
                    "type": "object",
                    "column": "BILL-TO",
                    "fields": {
                        "name": {"column": "NAME", "converter": "trim"},
                        "city": {"column": "CITY", "filter": True},
                    },
                },
            },
        }
    },
}

ROW = (
    1001,
    20240131,
    [{"ITEM-SKU": "AB12", "ITEM-QTY": 3, "ITEM-PRICE": 1250}, {"ITEM-SKU": "CD34", "ITEM-QTY": 1, "ITEM-PRICE": 99}],
    ["X1 ", "Y2 "],
    {"NAME": "ACME CORP   ", "CITY": "BOSTON"},
)
RECORD = {
    "number": 1001,
    "issued_on": dt.date(2024, 1, 31),
    "lines": [
        {"sku": "AB12", "qty": 3, "price": Decimal("12.50")},
        {"sku": "CD34", "qty": 1, "price": Decimal("0.99")},
    ],
    "codes": ["X1", "Y2"],
    "bill_to": {"name": "ACME CORP", "city": "BOSTON"},
}


@pytest.fixture(scope="module")
def spec():
    return validate(CONFIG).resources["invoices"]


@pytest.fixture(scope="module")
def planner(spec):
    return Planner(spec, Declared("erp", {"kind": "declared"}))


def _query(*filters: Filter) -> ListQuery:
    names = ["number", "issued_on", "lines", "codes", "bill_to"]
    return ListQuery(fields=names, filters=list(filters), sort=[], limit=10)


def test_a_row_with_nested_columns_reads_as_nested_canonical_values(planner):
    plan = planner.read(_query())
    assert plan.query.columns[:5] == ["INV-NO", "INV-DT", "LINES", "CODES", "BILL-TO"]
    assert plan.reader(ROW) == RECORD


def test_absent_nested_values_read_as_null_and_empty_arrays_stay_empty(planner):
    plan = planner.read(_query())
    record = plan.reader((1, None, [], None, None))
    assert record["lines"] == [] and record["codes"] is None and record["bill_to"] is None


def test_a_filter_on_an_inner_field_is_a_condition_on_the_inner_column(planner):
    plan = planner.read(_query(Filter("lines.sku", "eq", "CD34", "lines.sku", "CD34")))
    assert plan.query.where == []  # the driver declares no inner pushdown: applied here
    assert plan.keep is not None and plan.keep(ROW)
    other = planner.read(_query(Filter("lines.sku", "eq", "ZZ99", "lines.sku", "ZZ99")))
    assert not other.keep(ROW)


def test_any_element_matching_holds_for_arrays_of_scalars_and_objects():
    columns = ["LINES", "CODES", "BILL-TO"]
    assert predicate([Condition(Inner("LINES", "ITEM-QTY"), "gte", 3)], columns)(ROW[2:])
    assert not predicate([Condition(Inner("LINES", "ITEM-QTY"), "gt", 3)], columns)(ROW[2:])
    assert predicate([Condition(Inner("CODES"), "eq", "Y2 ")], columns)(ROW[2:])
    assert predicate([Condition(Inner("BILL-TO", "CITY"), "startswith", "BOS")], columns)(ROW[2:])
    assert not predicate([Condition(Inner("LINES", "ITEM-QTY"), "eq", 3)], columns)((None, None, None))


def test_a_canonical_body_goes_back_as_nested_legacy_values(spec, planner):
    plan = planner.write(RECORD)
    assert plan.values["LINES"] == [
        {"ITEM-SKU": "AB12", "ITEM-QTY": 3, "ITEM-PRICE": 1250},
        {"ITEM-SKU": "CD34", "ITEM-QTY": 1, "ITEM-PRICE": 99},
    ]
    assert plan.values["CODES"] == ["X1", "Y2"]
    assert plan.values["BILL-TO"] == {"NAME": "ACME CORP", "CITY": "BOSTON"}


def test_a_value_without_a_legacy_form_names_its_path(spec):
    body = {"lines": [{"sku": "AB12", "price": Decimal("1.5")}, {"sku": "CD34", "price": Decimal("0.001")}]}
    with pytest.raises(WriteError) as failed:
        spec.mapping.legacy_values(body)
    assert failed.value.field == "lines[1].price"


def test_the_planner_refuses_such_a_body_as_invalid_input_naming_the_path(planner):
    with pytest.raises(InvalidInput) as refused:
        planner.write({"lines": [{"price": Decimal("0.001")}]})
    assert refused.value.extra["parameter"] == "lines[0].price"


def test_the_contract_nests_schemas_and_holds_inner_rules(spec):
    contract = build_contract("invoices", spec.mapping)()
    assert contract.dump(RECORD)["lines"][0] == {"sku": "AB12", "qty": 3, "price": "12.50"}
    with pytest.raises(ValidationError) as refused:
        contract.load({"lines": [{"sku": "AB12", "qty": 1}, {"sku": "bad", "qty": 0}]})
    assert set(refused.value.messages["lines"][1]) == {"sku", "qty"}
    assert contract.load({"codes": ["A", "B"]}) == {"codes": ["A", "B"]}
