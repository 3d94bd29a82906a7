"""The list query grammar, parsed against a resource's contract (no database needed:
a Resource is built from the config; its driver never connects)."""
from __future__ import annotations

from decimal import Decimal

import pytest

from conftest import crm_config
from legacy_bridge.config import validate
from legacy_bridge.errors import BadRequest
from legacy_bridge.facades.params import MAX_IN_VALUES, parse_key, parse_list
from legacy_bridge.query import OPERATORS, Condition
from legacy_bridge.resources import Bridge

DATE_NULLS = (0, 99999999)


@pytest.fixture(scope="module")
def bridge():
    config = crm_config("DSN=never-connected")
    config["resources"]["ledger"] = {
        "source": "crm", "table": "LEDGER", "key": "id",
        "fields": {"id": {"column": "ID", "converter": "int"},
                   "amount": {"column": "AMT", "converter": {"decimal": {"implied": 2}}, "filter": True}}}
    bridge = Bridge(validate(config), "secret")
    yield bridge
    bridge.close()


@pytest.fixture(scope="module")
def customers(bridge):
    return bridge.resources["customers"]


def parse(resource, **args):
    return parse_list(resource, {k: v if isinstance(v, list) else [v] for k, v in args.items()})


def one(resource, parameter: str, value: str) -> Condition:
    [condition] = parse_list(resource, {parameter: [value]}).where
    return condition


def refused(resource, args: dict) -> BadRequest:
    with pytest.raises(BadRequest) as exc:
        parse_list(resource, {k: v if isinstance(v, list) else [v] for k, v in args.items()})
    assert exc.value.status == 400
    return exc.value


# -- what parses, and what it becomes -------------------------------------------------

def test_no_parameters_means_every_field_default_limit_no_filter(customers):
    req = parse(customers)
    assert req.fields == list(customers.mapping.fields)
    assert (req.where, req.sort, req.limit, req.cursor) == ([], [], 100, None)


def test_a_bare_field_is_an_equality_in_legacy_terms(bridge, customers):
    assert one(customers, "name", "ACME") == Condition("CUST_NM", "eq", "ACME".ljust(40))
    assert one(bridge.resources["ledger"], "id", "42") == Condition("ID", "eq", 42)


def test_dates_are_pushed_down_as_yyyymmdd_with_their_sentinels(customers):
    assert one(customers, "opened_on[gte]", "2020-01-01") == Condition("OPEN_DT", "gte", 20200101, DATE_NULLS)


@pytest.mark.parametrize("op", ["eq", "ne", "lt", "lte", "gt", "gte"])
def test_every_comparison_operator(customers, op):
    assert one(customers, f"credit_limit[{op}]", "10.5") == Condition("CRDT_LMT", op, Decimal("10.5"))


def test_in_splits_on_commas_and_converts_each_value(customers):
    assert one(customers, "status[in]", "active,on_hold") == Condition("STAT_CD", "in", ("A", "H"))
    assert one(customers, "state[in]", "MA") == Condition("ST_CD", "in", ("MA",))


def test_flags_and_code_tables(customers):
    assert one(customers, "active", "true") == Condition("ACTV_FLG", "eq", "Y")
    assert one(customers, "active", "false") == Condition("ACTV_FLG", "eq", "N")
    assert one(customers, "status[ne]", "closed") == Condition("STAT_CD", "ne", "C")


def test_isnull(customers):
    assert one(customers, "opened_on[isnull]", "true") == Condition("OPEN_DT", "isnull", True, DATE_NULLS)
    assert one(customers, "name[isnull]", "false") == Condition("CUST_NM", "isnull", False)


def test_startswith_and_contains_keep_the_text_unpadded(customers):
    assert one(customers, "name[startswith]", "CUST") == Condition("CUST_NM", "startswith", "CUST")
    assert one(customers, "name[contains]", "50%") == Condition("CUST_NM", "contains", "50%")


def test_sort_fields_limit_cursor(customers):
    req = parse(customers, sort="-opened_on,name", fields="id,name", limit="500", cursor="abc")
    assert req.sort == [("opened_on", True), ("name", False)]
    assert (req.fields, req.limit, req.cursor) == (["id", "name"], 500, "abc")


def test_several_filters_are_all_kept(customers):
    req = parse(customers, state="MA", active="true", **{"opened_on[lt]": "2000-01-01"})
    assert [c.column for c in req.where] == ["ST_CD", "ACTV_FLG", "OPEN_DT"]


def test_parse_key_converts_each_segment(bridge):
    assert parse_key(bridge.resources["ledger"], ["42"]) == [42]
    assert parse_key(bridge.resources["order-lines"], ["7", "2"]) == [7, 2]


# -- what is refused, and how it says so ----------------------------------------------

@pytest.mark.parametrize("args, parameter, slug, words", [
    ({"nope": "1"}, "nope", "unknown-field", "unknown field 'nope'; fields: id, name, state"),
    ({"nope[gt]": "1"}, "nope[gt]", "unknown-field", "unknown field 'nope'"),
    ({"Name": "x"}, "Name", "unknown-field", "unknown parameter 'Name'; filters read field=value"),
    ({"name[eq": "x"}, "name[eq", "unknown-field", "unknown parameter"),
    ({"name[EQ]": "x"}, "name[EQ]", "unknown-field", "unknown parameter"),
    ({"opened_at[gt]": "10:00:00"}, "opened_at[gt]", "field-not-filterable",
     "'opened_at' cannot be filtered; filterable fields: id, name, state, opened_on, active, status, credit_limit"),
    ({"name[like]": "x"}, "name[like]", "unknown-operator", "unknown operator 'like'; operators: "
     + ", ".join(OPERATORS)),
    ({"opened_on[isnull]": "yes"}, "opened_on[isnull]", "invalid-parameter", "expected true or false, got 'yes'"),
    ({"opened_on[startswith]": "2020"}, "opened_on[startswith]", "unknown-operator",
     "startswith applies to text fields only; 'opened_on' is date"),
    ({"status[startswith]": "act"}, "status[startswith]", "unknown-operator", "text fields only"),
    ({"name[contains]": ""}, "name[contains]", "invalid-parameter", "an empty value matches everything"),
    ({"opened_on": "2020-13-01"}, "opened_on", "invalid-parameter", "'2020-13-01' is not valid"),
    ({"credit_limit[gt]": "lots"}, "credit_limit[gt]", "invalid-parameter", "'lots' is not valid"),
    ({"status": "open"}, "status", "invalid-parameter", "'open' is not valid"),
    ({"active": "maybe"}, "active", "invalid-parameter", "'maybe' is not valid"),
    ({"id": ["1", "2"]}, "id", "invalid-parameter", "'id' is given 2 times; give it once"),
    ({"sort": "nope"}, "sort", "unknown-field", "unknown field 'nope'"),
    ({"sort": "-opened_at"}, "sort", "field-not-sortable",
     "'opened_at' cannot be sorted on; sortable fields: id, name, state, opened_on, credit_limit, updated_at"),
    ({"sort": "name,-name"}, "sort", "invalid-parameter", "'name' appears twice in sort"),
    ({"fields": ","}, "fields", "invalid-parameter", "fields: name at least one field"),
    ({"fields": "id,CUST_NM"}, "fields", "unknown-field", "unknown field 'CUST_NM'"),
    ({"limit": "0"}, "limit", "limit-out-of-range", "limit must be an integer from 1 to 500, got '0'"),
    ({"limit": "501"}, "limit", "limit-out-of-range", "got '501'"),
    ({"limit": "-1"}, "limit", "limit-out-of-range", "got '-1'"),
    ({"limit": "ten"}, "limit", "limit-out-of-range", "got 'ten'"),
    ({"limit": ""}, "limit", "limit-out-of-range", "got ''"),
])
def test_grammar_errors_name_the_parameter(customers, args, parameter, slug, words):
    error = refused(customers, args)
    assert error.extra["parameter"] == parameter
    assert error.type == "urn:legacy-bridge:problem:" + slug
    assert words in error.detail


def test_in_takes_at_most_a_hundred_values(customers):
    assert len(one(customers, "id[in]", ",".join(map(str, range(MAX_IN_VALUES)))).value) == MAX_IN_VALUES
    error = refused(customers, {"id[in]": ",".join(map(str, range(MAX_IN_VALUES + 1)))})
    assert f"at most {MAX_IN_VALUES} values" in error.detail


def test_a_value_without_a_legacy_form_is_a_400(bridge):
    error = refused(bridge.resources["ledger"], {"amount[gte]": "1.005"})
    assert error.extra["parameter"] == "amount[gte]"
    assert "has no legacy form (at most 2 decimal places)" in error.detail
    assert one(bridge.resources["ledger"], "amount[gte]", "1.05") == Condition("AMT", "gte", 105)


def test_a_key_with_the_wrong_number_of_parts(bridge):
    with pytest.raises(BadRequest) as exc:
        parse_key(bridge.resources["order-lines"], ["7"])
    assert exc.value.extra["parameter"] == "key"
    assert "the key of 'order-lines' has 2 part(s) (order_no/line_no), got 1" in exc.value.detail


def test_a_key_segment_of_the_wrong_type(bridge):
    with pytest.raises(BadRequest) as exc:
        parse_key(bridge.resources["ledger"], ["two"])
    assert exc.value.extra["parameter"] == "id"
    assert "id: 'two' is not valid" in exc.value.detail


@pytest.mark.parametrize("args, parameter, words", [
    ({"id": "abc"}, "id", "id: 'abc' is not valid"),
    ({"id[in]": "1,x"}, "id[in]", "id[in]: 'x' is not valid"),
    ({"id[contains]": "4"}, "id[contains]", "text fields only; 'id' is integer"),
    ({"amount[startswith]": "1"}, "amount[startswith]", "text fields only; 'amount' is decimal"),
])
def test_typed_fields_refuse_values_and_operators_of_another_type(bridge, args, parameter, words):
    error = refused(bridge.resources["ledger"], args)
    assert error.extra["parameter"] == parameter and words in error.detail


def test_text_operators_refused_on_untyped_and_numeric_fields(bridge):
    # an integer column compared with LIKE is an error on PostgreSQL: refuse it up front
    with pytest.raises(BadRequest) as info:
        parse_list(bridge.resources["order-lines"], {"quantity[contains]": ["4"]})
    assert info.value.extra["parameter"] == "quantity[contains]"
