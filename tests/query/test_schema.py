"""The list query grammar, parsed by the schema generated from a resource's contract into a
canonical ListQuery, and what the planner makes of its values in legacy terms (no database
needed: a Resource is built from the config; its driver never connects)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from helpers.backends import crm_config
from legacy_bridge.config import validate
from legacy_bridge.errors import ConfigError, InvalidInput
from legacy_bridge.problems import body_of, status_of
from legacy_bridge.query.legacy import OPERATORS, Condition
from legacy_bridge.query.parameter_fields import MAX_IN_VALUES
from legacy_bridge.query.schema import parse_key, parse_list
from legacy_bridge.resources import Bridge

DATE_NULLS = (0, 99999999)


@pytest.fixture(scope="module")
def bridge():
    config = crm_config("DSN=never-connected")
    config["resources"]["ledger"] = {
        "source": "crm",
        "table": "LEDGER",
        "key": "id",
        "fields": {
            "id": {"column": "ID", "converter": "int"},
            "amount": {"column": "AMT", "converter": {"decimal": {"implied": 2}}, "filter": True},
        },
    }
    bridge = Bridge(validate(config), "secret")
    yield bridge
    bridge.close()


@pytest.fixture(scope="module")
def customers(bridge):
    return bridge.resources["customers"]


def parse(resource, **args):
    return parse_list(resource, {k: v if isinstance(v, list) else [v] for k, v in args.items()})


def planned(resource, args: dict):
    """The query of ``args``, planned (the planner refuses values the source cannot hold)."""
    query = parse_list(resource, {k: v if isinstance(v, list) else [v] for k, v in args.items()})
    resource.planner.read(query)
    return query


def one(resource, parameter: str, value: str) -> Condition:
    """The legacy condition the planner makes of one filter."""
    [canonical] = parse_list(resource, {parameter: [value]}).filters
    return resource.planner.condition(canonical)


def legacy_key(resource, segments: list[str]) -> list:
    return list(resource.planner.by_key(parse_key(resource, segments)).key.values())


def refused(resource, args: dict) -> InvalidInput:
    with pytest.raises(InvalidInput) as exc:
        planned(resource, args)
    assert status_of(exc.value) == 400
    return exc.value


# -- what parses, and what it becomes -------------------------------------------------


def test_no_parameters_means_every_field_default_limit_no_filter(customers):
    req = parse(customers)
    assert req.fields == list(customers.mapping.fields)
    assert (req.filters, req.sort, req.limit, req.cursor, req.since) == ([], [], 100, None, None)


def test_filters_are_canonical_names_and_values(customers):
    req = parse(customers, **{"opened_on[gte]": "2020-01-01", "status[in]": "active,on_hold"})
    assert [(f.field, f.op, f.value) for f in req.filters] == [
        ("opened_on", "gte", dt.date(2020, 1, 1)),
        ("status", "in", ("active", "on_hold")),
    ]


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
    assert [f.field for f in req.filters] == ["state", "active", "opened_on"]


def test_parse_key_converts_each_segment(bridge):
    assert legacy_key(bridge.resources["ledger"], ["42"]) == [42]
    assert legacy_key(bridge.resources["order-lines"], ["7", "2"]) == [7, 2]


# -- what is refused, and how it says so ----------------------------------------------


@pytest.mark.parametrize(
    "args, parameter, slug, words",
    [
        ({"nope": "1"}, "nope", "unknown-field", "unknown field 'nope'; fields: id, name, state"),
        ({"nope[gt]": "1"}, "nope[gt]", "unknown-field", "unknown field 'nope'"),
        ({"Name": "x"}, "Name", "unknown-field", "unknown parameter 'Name'; filters read field=value"),
        ({"name[eq": "x"}, "name[eq", "unknown-field", "unknown parameter"),
        ({"name[EQ]": "x"}, "name[EQ]", "unknown-field", "unknown parameter"),
        (
            {"opened_at[gt]": "10:00:00"},
            "opened_at[gt]",
            "field-not-filterable",
            "'opened_at' cannot be filtered; filterable fields: "
            "id, name, state, opened_on, active, status, credit_limit",
        ),
        (
            {"name[like]": "x"},
            "name[like]",
            "unknown-operator",
            "unknown operator 'like'; operators: " + ", ".join(OPERATORS),
        ),
        ({"opened_on[isnull]": "yes"}, "opened_on[isnull]", "invalid-parameter", "expected true or false, got 'yes'"),
        (
            {"opened_on[startswith]": "2020"},
            "opened_on[startswith]",
            "unknown-operator",
            "startswith applies to text fields only; 'opened_on' is date",
        ),
        ({"status[startswith]": "act"}, "status[startswith]", "unknown-operator", "text fields only"),
        ({"name[contains]": ""}, "name[contains]", "invalid-parameter", "an empty value matches everything"),
        ({"opened_on": "2020-13-01"}, "opened_on", "invalid-parameter", "'2020-13-01' is not valid"),
        ({"credit_limit[gt]": "lots"}, "credit_limit[gt]", "invalid-parameter", "'lots' is not valid"),
        ({"status": "open"}, "status", "invalid-parameter", "'open' is not valid"),
        ({"active": "maybe"}, "active", "invalid-parameter", "'maybe' is not valid"),
        ({"id": ["1", "2"]}, "id", "invalid-parameter", "'id' is given 2 times; give it once"),
        ({"sort": "nope"}, "sort", "unknown-field", "unknown field 'nope'"),
        (
            {"sort": "-opened_at"},
            "sort",
            "field-not-sortable",
            "'opened_at' cannot be sorted on; sortable fields: id, name, state, opened_on, credit_limit, updated_at",
        ),
        ({"fields": ","}, "fields", "invalid-parameter", "fields: name at least one field"),
        ({"fields": "id,CUST_NM"}, "fields", "unknown-field", "unknown field 'CUST_NM'"),
        ({"limit": "0"}, "limit", "limit-out-of-range", "limit must be an integer from 1 to 500, got '0'"),
        ({"limit": "501"}, "limit", "limit-out-of-range", "got '501'"),
        ({"limit": "-1"}, "limit", "limit-out-of-range", "got '-1'"),
        ({"limit": "ten"}, "limit", "limit-out-of-range", "got 'ten'"),
        ({"limit": ""}, "limit", "limit-out-of-range", "got ''"),
    ],
)
def test_grammar_errors_name_the_parameter(customers, args, parameter, slug, words):
    error = refused(customers, args)
    assert error.extra["parameter"] == parameter
    assert body_of(error)["type"] == "urn:legacy-bridge:problem:" + slug
    assert words in error.detail


def test_a_field_named_again_in_sort_is_ordered_by_its_first_mention(customers):
    assert parse(customers, sort="name,-state,-name").sort == [("name", False), ("state", True)]


INT64 = 1 << 63


@pytest.mark.parametrize(
    "parameter, value",
    [("id", str(INT64)), ("id[gt]", str(-INT64 - 1)), ("id[in]", f"1,{INT64},3"), ("id[lte]", "9" * 40)],
)
def test_an_integer_past_64_bits_is_refused_while_parsing_naming_its_parameter(customers, parameter, value):
    error = refused(customers, {parameter: value})
    assert error.extra["parameter"] == parameter
    assert body_of(error)["type"] == "urn:legacy-bridge:problem:invalid-parameter"
    assert f"is out of range: column CUST_NO holds integers from {-INT64} to {INT64 - 1}" in error.detail
    assert one(customers, parameter.replace("[in]", "[gt]"), str(INT64 - 1)).value == INT64 - 1


def test_an_updated_since_past_64_bits_is_refused_naming_it():
    config = crm_config("DSN=never-connected")
    config["resources"]["order-lines"]["watermark"] = "quantity"
    lines = Bridge(validate(config), "secret").resources["order-lines"]
    error = refused(lines, {"updated_since": str(INT64)})
    assert error.extra["parameter"] == "updated_since" and "out of range" in error.detail
    assert parse(lines, updated_since=str(INT64 - 1)).since.values == (INT64 - 1,)


def test_a_key_past_64_bits_is_refused_naming_the_key_field(bridge):
    with pytest.raises(InvalidInput) as exc:
        legacy_key(bridge.resources["order-lines"], ["7", str(INT64)])
    assert exc.value.extra["parameter"] == "line_no" and "out of range" in exc.value.detail


@pytest.mark.parametrize(
    "parameter", ["id[in]", "name[in]", "state[in]", "opened_on[in]", "status[in]", "active[in]", "credit_limit[in]"]
)
def test_an_empty_in_list_is_the_same_400_for_every_type(customers, parameter):
    error = refused(customers, {parameter: ""})
    assert error.extra["parameter"] == parameter
    assert error.detail == f"{parameter}: an empty list; give 1 to {MAX_IN_VALUES} comma-separated values"


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
    with pytest.raises(InvalidInput) as exc:
        parse_key(bridge.resources["order-lines"], ["7"])
    assert exc.value.extra["parameter"] == "key"
    assert "the key of 'order-lines' has 2 part(s) (order_no/line_no), got 1" in exc.value.detail


def test_a_key_segment_of_the_wrong_type(bridge):
    with pytest.raises(InvalidInput) as exc:
        parse_key(bridge.resources["ledger"], ["two"])
    assert exc.value.extra["parameter"] == "id"
    assert "id: 'two' is not valid" in exc.value.detail


@pytest.mark.parametrize(
    "args, parameter, words",
    [
        ({"id": "abc"}, "id", "id: 'abc' is not valid"),
        ({"id[in]": "1,x"}, "id[in]", "id[in]: 'x' is not valid"),
        ({"id[contains]": "4"}, "id[contains]", "text fields only; 'id' is integer"),
        ({"amount[startswith]": "1"}, "amount[startswith]", "text fields only; 'amount' is decimal"),
    ],
)
def test_typed_fields_refuse_values_and_operators_of_another_type(bridge, args, parameter, words):
    error = refused(bridge.resources["ledger"], args)
    assert error.extra["parameter"] == parameter and words in error.detail


def test_text_operators_refused_on_untyped_and_numeric_fields(bridge):
    # an integer column compared with LIKE is an error on PostgreSQL: refuse it up front
    with pytest.raises(InvalidInput) as info:
        parse_list(bridge.resources["order-lines"], {"quantity[contains]": ["4"]})
    assert info.value.extra["parameter"] == "quantity[contains]"


# -- time zones: an offset is never dropped --------------------------------------------


def _zoned(timezone: str | None):
    config = crm_config("DSN=never-connected", **({"timezone": timezone} if timezone else {}))
    config["resources"]["events"] = {
        "source": "crm",
        "table": "EVT",
        "key": "id",
        "watermark": ["day", "at"],
        "fields": {
            "id": {"column": "ID", "converter": "int"},
            "stamp": {"column": "TS", "converter": "timestamp", "filter": True},
            "text_stamp": {"column": "TS_TX", "converter": {"timestamp": {"format": "%Y%m%d%H%M%S"}}, "filter": True},
            "day": {"column": "DT", "converter": "yyyymmdd", "filter": True},
            "at": {"column": "TM", "converter": "hhmmss", "filter": True},
        },
    }
    return Bridge(validate(config), "secret").resources["events"]


def test_an_offset_without_a_declared_time_zone_is_refused_naming_the_option():
    events = _zoned(None)
    for parameter in ("stamp[lt]", "text_stamp"):
        error = refused(events, {parameter: "2024-07-06T12:00:00+02:00"})
        assert error.extra["parameter"] == parameter
        assert "has a UTC offset, but source 'crm' declares no time zone" in error.detail
        assert "sources.crm.timezone" in error.detail
    assert one(events, "stamp[lt]", "2024-07-06T12:00:00").value == dt.datetime(2024, 7, 6, 12)


@pytest.mark.parametrize(
    "given, local",
    [
        ("2024-07-06T12:00:00+02:00", dt.datetime(2024, 7, 6, 12)),  # CEST: the same wall time
        ("2024-07-06T10:00:00Z", dt.datetime(2024, 7, 6, 12)),
        ("2024-01-06T10:00:00+00:00", dt.datetime(2024, 1, 6, 11)),  # CET
        ("2024-07-06T12:00:00", dt.datetime(2024, 7, 6, 12)),  # naive: the source's own time
        ("2024-03-31T02:30:00", dt.datetime(2024, 3, 31, 2, 30)),  # in the spring gap: as given
        ("2024-10-27T00:30:00Z", dt.datetime(2024, 10, 27, 2, 30)),  # the fold: two instants...
        ("2024-10-27T01:30:00Z", dt.datetime(2024, 10, 27, 2, 30)),  # ...one wall time
    ],
)
def test_an_offset_is_converted_to_the_sources_time_zone_before_it_is_bound(given, local):
    events = _zoned("Europe/Berlin")
    assert one(events, "stamp[gte]", given).value == local
    assert one(events, "text_stamp", given).value == local.strftime("%Y%m%d%H%M%S")


def test_a_time_of_day_with_an_offset_is_refused_even_with_a_time_zone():
    error = refused(_zoned("Europe/Berlin"), {"at": "10:00:00+02:00"})
    assert error.extra["parameter"] == "at" and "time of day with a UTC offset" in error.detail


def test_updated_since_of_a_date_and_time_pair_is_split_in_the_sources_time_zone():
    berlin = _zoned("Europe/Berlin")
    assert berlin.planner.since(parse(berlin, updated_since="2024-07-06T22:30:00Z").since) == (20240707, 3000)
    error = refused(_zoned(None), {"updated_since": "2024-07-06T22:30:00Z"})
    assert error.extra["parameter"] == "updated_since"


def test_an_unknown_time_zone_is_a_config_error():
    with pytest.raises(ConfigError) as exc:
        validate(crm_config("DSN=x", timezone="Europe/Atlantis"))
    assert exc.value.problems == [
        ("sources.crm.timezone", "unknown time zone 'Europe/Atlantis'; an IANA name such as Europe/Berlin or UTC")
    ]


def test_a_text_the_sources_code_page_cannot_hold_is_refused_while_parsing():
    config = crm_config("DSN=never-connected", encoding="cp1252")
    customers = Bridge(validate(config), "secret").resources["customers"]
    error = refused(customers, {"name[startswith]": "Ωmega"})  # startswith: the value goes out as is
    assert error.extra["parameter"] == "name[startswith]"
    assert "characters the code page of source 'crm' (cp1252) cannot hold" in error.detail
    assert one(customers, "state", "Café").value == "Café"
