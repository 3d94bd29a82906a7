"""The planner: a canonical ListQuery (or key, or body) + the mapping + what the driver declares
-> the legacy query pushed down, the residual filter, the reader and the cursor positions.
No Flask, no database: drivers here declare capabilities and are never asked for a row."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, ClassVar

import pytest

from helpers.backends import crm_config
from legacy_bridge.config import validate
from legacy_bridge.drivers import Driver
from legacy_bridge.errors import InvalidInput
from legacy_bridge.problems import body_of
from legacy_bridge.query.legacy import ColumnValue, Condition, Query, SortKey
from legacy_bridge.query.model import Filter, ListQuery, Watermark
from legacy_bridge.query.planner import Planner


class Declared(Driver):
    """A driver that only declares what it can do; reading from it is a test failure."""

    kind = "declared"
    int_range = (-(1 << 63), (1 << 63) - 1)

    def fetch(self, target: dict[str, Any], query: Query) -> Iterator[tuple]:
        raise AssertionError("the planner never reads")


class EqOnState(Declared):
    """Like a SOAP list operation: eq on one column, in its own order, no key lookup."""

    pushdown_operators: ClassVar[frozenset[str]] = frozenset({"eq"})
    supports_sort = False
    natural_order = ("__page__", "__row__")

    def filter_columns(self, target: dict[str, Any]) -> frozenset[str]:
        return frozenset({"ST_CD"})

    def key_lookup(self, target: dict[str, Any]) -> bool:
        return False


class NoPushdown(Declared):
    supports_pushdown = False
    supports_sort = False
    natural_order = ("__file__", "__record__")


@pytest.fixture(scope="module")
def config():
    config = crm_config("DSN=never-connected")
    config["resources"]["customers"]["watermark"] = "updated_at"
    config["resources"]["ledger"] = {
        "source": "crm",
        "table": "LEDGER",
        "key": "id",
        "fields": {
            "id": {"column": "ID", "converter": "int"},
            "amount": {"column": "AMT", "converter": {"decimal": {"implied": 2}}},
        },
    }
    return validate(config)


def planner(config, driver_class: type[Driver] = Declared, resource: str = "customers") -> Planner:
    return Planner(config.resources[resource], driver_class("crm", {}))


def f(field: str, op: str, value: Any, text: str = "") -> Filter:
    return Filter(field, op, value, field if op == "eq" else f"{field}[{op}]", text or str(value))


def test_a_source_that_applies_every_filter_gets_them_all_in_legacy_terms(config):
    query = ListQuery(
        fields=["id", "name"],
        limit=10,
        filters=[
            f("opened_on", "gte", dt.date(2020, 1, 1), "2020-01-01"),
            f("status", "in", ("active", "on_hold"), "active,on_hold"),
        ],
    )
    plan = planner(config).read(query)
    assert plan.query.where == [
        Condition("OPEN_DT", "gte", 20200101, (0, 99999999)),
        Condition("STAT_CD", "in", ("A", "H")),
    ]
    assert plan.keep is None and plan.query.limit == 11  # one more row: is there a next page?
    assert plan.query.order == [SortKey("CUST_NO", False, False)]  # the key makes the order total
    assert plan.query.columns == ["CUST_NO", "CUST_NM"]


def test_filters_the_source_cannot_apply_are_kept_for_the_rows_it_streams(config):
    query = ListQuery(fields=["id"], limit=5, filters=[f("state", "eq", "MA"), f("name", "startswith", "AC")])
    plan = planner(config, EqOnState).read(query)
    assert plan.query.where == [Condition("ST_CD", "eq", "MA")]
    assert plan.query.limit is None  # the residual filter decides how many rows make a page
    assert plan.query.columns == ["CUST_NO", "__page__", "__row__", "CUST_NM"]
    assert plan.order_positions == [1, 2]
    rows = [(1, "p", 0, "ACME"), (2, "p", 1, "BOLT"), (3, "p", 2, "ACE")]
    assert [plan.reader(r) for r in plan.rows(rows)] == [{"id": 1}, {"id": 3}]


def test_a_source_without_pushdown_reads_in_its_own_order_and_refuses_sort(config):
    plan = planner(config, NoPushdown).read(ListQuery(fields=["id"], filters=[f("state", "eq", "MA")]))
    assert plan.query.where == [] and plan.keep is not None
    assert [k.column for k in plan.query.order] == ["__file__", "__record__"]
    with pytest.raises(InvalidInput) as info:
        planner(config, NoPushdown).read(ListQuery(fields=["id"], sort=[("name", False)]))
    assert info.value.extra["parameter"] == "sort"


def test_sort_is_completed_by_the_key(config):
    plan = planner(config).read(ListQuery(fields=["name"], sort=[("opened_on", True)]))
    assert plan.query.order == [SortKey("OPEN_DT", True, True), SortKey("CUST_NO", False, False)]
    assert plan.reader(("ACME", 20200101, 7)) == {"name": "ACME"}


def test_updated_since_reads_after_the_watermark_in_watermark_order(config):
    since = Watermark((dt.datetime(2024, 1, 2, 3, 4, 5),), "2024-01-02T03:04:05")
    plan = planner(config).read(ListQuery(fields=["id"], since=since))
    assert plan.query.order == [SortKey("LAST_UPD_TS", False, False), SortKey("CUST_NO", False, False)]
    assert plan.query.after == (ColumnValue(dt.datetime(2024, 1, 2, 3, 4, 5)), None)
    assert plan.watermark_positions == [plan.query.columns.index("LAST_UPD_TS")]


def test_a_cursor_belongs_to_its_filters_and_order(config):
    plans = planner(config)
    one = plans.read(ListQuery(fields=["id"], filters=[f("state", "eq", "MA")]))
    other = plans.read(ListQuery(fields=["id"], filters=[f("state", "eq", "NY")]))
    assert one.query_id != other.query_id
    assert one.resumed((42,)).query.after == (42,) and one.query.after is None


def test_a_value_the_source_cannot_hold_is_refused_naming_its_parameter(config):
    with pytest.raises(InvalidInput) as info:
        planner(config).read(ListQuery(fields=["id"], filters=[f("id", "gt", 1 << 63)]))
    assert info.value.extra["parameter"] == "id[gt]" and "out of range" in info.value.detail


def test_a_key_is_looked_up_or_read_from_the_list_as_the_driver_declares(config):
    key = [f("id", "eq", 7)]
    lookup = planner(config).by_key(key, ["name"])
    assert (lookup.key, lookup.columns, lookup.read) == ({"CUST_NO": 7}, ["CUST_NM"], None)
    listed = planner(config, EqOnState).by_key(key, ["name"])
    assert listed.read is not None and listed.read.query.where == []  # CUST_NO is not a filter column
    assert listed.read.keep is not None and listed.read.keep(("ACME", 7)) and not listed.read.keep(("X", 8))


def test_a_canonical_body_is_written_as_legacy_values_by_column(config):
    plan = planner(config).write({"name": "ACME", "active": True, "credit_limit": Decimal("10.50"), "opened_on": None})
    # a null is written as the converter's legacy "no value": a YYYYMMDD column's 0
    assert plan.values == {"CUST_NM": "ACME".ljust(40), "ACTV_FLG": "Y", "CRDT_LMT": Decimal("10.50"), "OPEN_DT": 0}
    with pytest.raises(InvalidInput) as info:
        planner(config, resource="ledger").write({"amount": Decimal("1.005")})
    assert info.value.extra["parameter"] == "amount" and body_of(info.value)["type"].endswith("invalid-body")
