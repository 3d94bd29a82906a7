"""Nested contracts on a flat legacy table: an object grouping the row's own columns, filters
on its inner fields, CSV columns flattened, nested schemas in OpenAPI; and field rules
(pattern, lengths, range, enum) held on keys, filters and the document before the source is
asked.  On every ODBC backend."""

from __future__ import annotations

import copy
import csv
import io
import json

import pytest

from helpers.backends import ROWS, crm_config, customer_record, make_app


def _nested_config(connection: str) -> dict:
    config = crm_config(connection)
    fields = config["resources"]["customers"]["fields"]
    fields["id"] = {"column": "CUST_NO", "converter": "int", "minimum": 1, "maximum": 99999}
    fields["name"]["pattern"] = "^[A-Z0-9 ]+$"
    fields["name"]["max_length"] = 40
    # the opening date and time as one object, without a column: the row's own columns
    fields["opened"] = {
        "type": "object",
        "description": "when the account was opened",
        "fields": {
            "on": {"column": "OPEN_DT", "converter": "yyyymmdd", "filter": True},
            "at": {"column": "OPEN_TM", "converter": "hhmmss"},
        },
    }
    del fields["opened_on"], fields["opened_at"]
    fields["state"]["enum"] = ["MA", "NY", "CA", "TX"]
    return config


def _nested(record: dict) -> dict:
    out = dict(record)
    out["opened"] = {"on": out.pop("opened_on"), "at": out.pop("opened_at")}
    return out


@pytest.fixture(scope="module")
def nested_client(backend):
    app = make_app(_nested_config(backend.connection))
    yield app.test_client()
    app.extensions["legacy_bridge"].close()


def test_an_object_field_groups_the_rows_own_columns(nested_client):
    page = nested_client.get("/v1/customers?limit=3").get_json()
    assert page["data"] == [_nested(customer_record(n)) for n in (1, 2, 3)]
    one = nested_client.get("/v1/customers/7").get_json()
    assert one == _nested(customer_record(7))


def test_a_filter_on_an_inner_field_selects_by_its_column(nested_client):
    day = next(r["opened_on"] for r in map(customer_record, range(10, ROWS)) if r["opened_on"])
    wanted = [n for n in range(1, ROWS + 1) if customer_record(n)["opened_on"] == day]
    page = nested_client.get(f"/v1/customers?opened.on={day}&fields=id,opened&limit=500").get_json()
    assert [r["id"] for r in page["data"]] == wanted
    later = [n for n in range(1, ROWS + 1) if (customer_record(n)["opened_on"] or "") > day]
    after = nested_client.get(f"/v1/customers?opened.on[gt]={day}&fields=id&limit=500").get_json()
    assert [r["id"] for r in after["data"]] == later


def test_a_csv_export_flattens_an_object_into_dotted_columns(nested_client):
    text = nested_client.get("/v1/customers/export?format=csv&fields=id,opened").data.decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["id", "opened.on", "opened.at"]
    first = customer_record(1)
    assert rows[1] == [str(first["id"]), first["opened_on"] or "", first["opened_at"] or ""]
    assert len(rows) == ROWS + 1


def test_an_ndjson_export_keeps_objects_nested(nested_client):
    lines = nested_client.get("/v1/customers/export?format=ndjson&fields=id,opened").data.decode().splitlines()
    assert json.loads(lines[4]) == {"id": 5, "opened": _nested(customer_record(5))["opened"]}


def test_rules_refuse_a_key_or_filter_before_the_source_is_asked(nested_client):
    out_of_range = nested_client.get("/v1/customers/0")
    assert out_of_range.status_code == 400
    assert "greater than or equal to 1" in out_of_range.get_json()["detail"]
    assert nested_client.get("/v1/customers/100000").status_code == 400
    lower = nested_client.get("/v1/customers?name=customer")
    assert lower.status_code == 400
    assert lower.get_json()["parameter"] == "name"
    assert "pattern" in lower.get_json()["detail"]
    unknown_state = nested_client.get("/v1/customers?state=ZZ")
    assert unknown_state.status_code == 400
    assert unknown_state.get_json()["parameter"] == "state"


def test_the_document_has_the_nested_schema_and_the_rules(nested_client):
    document = nested_client.get("/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    record = schemas["Customers"]["properties"]
    assert record["id"]["minimum"] == 1 and record["id"]["maximum"] == 99999
    assert record["name"]["pattern"] == "^[A-Z0-9 ]+$" and record["name"]["maxLength"] == 40
    assert [s for s in record["state"]["enum"] if s is not None] == ["MA", "NY", "CA", "TX"]
    opened = record["opened"]
    assert opened["anyOf"][0] == {"$ref": "#/components/schemas/CustomersOpened"}
    inner = schemas["CustomersOpened"]["properties"]
    assert inner["on"]["format"] == "date"
    assert inner["at"]["format"] == "partial-time"
    names = {p["name"] for p in document["paths"]["/v1/customers"]["get"]["parameters"]}
    assert {"opened.on", "opened.on[gt]"} <= names


def test_the_config_refuses_nested_fields_that_cannot_work(sqlite_backend):
    from legacy_bridge.config import validate
    from legacy_bridge.errors import ConfigError

    config = _nested_config(sqlite_backend.connection)
    bad = copy.deepcopy(config)
    fields = bad["resources"]["customers"]["fields"]
    fields["opened"]["sort"] = True
    fields["lines"] = {"type": "array", "fields": {"sku": "SKU"}}
    fields["tags"] = {"type": "list", "column": "TAGS"}
    fields["name"]["minimum"] = 3
    fields["credit_limit"]["pattern"] = "("
    bad["resources"]["customers"]["key"] = ["opened"]
    with pytest.raises(ConfigError) as refused:
        validate(bad)
    text = str(refused.value)
    for expected in (
        "resources.customers.fields.opened.sort: a field of type object cannot be sorted on",
        "resources.customers.fields.lines.column: required",
        "resources.customers.fields.tags.type: expected object or array",
        "resources.customers.fields.name.minimum: a range applies to numbers",
        "resources.customers.fields.credit_limit.pattern: a pattern applies to text fields",
        "resources.customers.key: key field 'opened' is of type object",
    ):
        assert expected in text
