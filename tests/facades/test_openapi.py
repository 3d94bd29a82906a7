"""/openapi.json: a valid OpenAPI 3 document generated from the configured contracts."""

from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate

from helpers.backends import crm_config, make_app

OPERATORS = ("eq", "ne", "lt", "lte", "gt", "gte", "in", "startswith", "contains", "isnull")
COMPARISONS = ("eq", "ne", "lt", "lte", "gt", "gte", "in", "isnull")


@pytest.fixture(scope="module")
def spec(sqlite_backend) -> dict:
    app = make_app(crm_config(sqlite_backend.connection))
    response = app.test_client().get("/openapi.json")
    app.extensions["legacy_bridge"].close()
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def _params(spec: dict, path: str) -> dict[str, dict]:
    return {p["name"]: p for p in spec["paths"][path]["get"]["parameters"]}


def _schema(spec: dict, name: str) -> dict:
    return spec["components"]["schemas"][name]["properties"]


def _filter_name(field: str, op: str) -> str:
    return field if op == "eq" else f"{field}[{op}]"


def test_the_document_is_valid_openapi_3(spec):
    validate(spec)  # raises on any schema violation
    assert spec["openapi"].startswith("3.")


def test_the_document_is_served_the_same_on_every_ask(sqlite_backend):
    app = make_app(crm_config(sqlite_backend.connection))
    client = app.test_client()
    assert client.get("/openapi.json").data == client.get("/openapi.json").data
    app.extensions["legacy_bridge"].close()


@pytest.mark.parametrize(
    "resource, key_path", [("customers", "{id}"), ("order-lines", "{order_no}/{line_no}"), ("active-customers", "{id}")]
)
def test_every_resource_has_its_list_and_get_paths(spec, resource, key_path):
    assert "get" in spec["paths"][f"/v1/{resource}"]
    get = spec["paths"][f"/v1/{resource}/{key_path}"]["get"]
    path_params = [p["name"] for p in get["parameters"] if p["in"] == "path"]
    assert path_params == key_path.replace("{", "").replace("}", "").split("/")
    assert all(p["required"] for p in get["parameters"] if p["in"] == "path")
    assert set(get["responses"]) >= {"200", "304", "404"}
    assert "ETag" in get["responses"]["200"]["headers"]


def test_list_paths_document_limit_with_its_max_cursor_sort_and_fields(spec):
    params = _params(spec, "/v1/customers")
    assert params["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 500, "default": 100}
    for name in ("cursor", "sort", "fields"):
        assert params[name]["in"] == "query"
    assert "opened_on" in params["sort"]["description"]
    assert "opened_at" not in params["sort"]["description"]  # not sortable
    assert "opened_at" in params["fields"]["description"]  # but selectable
    headers = spec["paths"]["/v1/customers"]["get"]["responses"]["200"]["headers"]
    assert "Link" in headers


@pytest.mark.parametrize("field", ["id", "state", "opened_on", "active", "status", "credit_limit"])
def test_a_filterable_field_has_one_parameter_per_comparison_operator(spec, field):
    params = _params(spec, "/v1/customers")
    for op in COMPARISONS:
        assert _filter_name(field, op) in params, _filter_name(field, op)
    # startswith/contains only on text that keeps its prefixes
    for op in ("startswith", "contains"):
        assert (_filter_name(field, op) in params) == (field == "state")


def test_text_fields_can_be_filtered_by_prefix_and_substring(spec):
    params = _params(spec, "/v1/customers")
    assert params["name[startswith]"]["schema"]["type"] == "string"
    assert "name[contains]" in params


def test_fields_that_are_not_filterable_have_no_filter_parameters(spec):
    names = set(_params(spec, "/v1/customers"))
    assert not {n for n in names if n.startswith(("opened_at", "updated_at"))}
    assert set(_params(spec, "/v1/order-lines")) >= {"order_no[gt]", "line_no[gt]", "item[startswith]"}


def test_filter_parameters_are_typed_from_the_contract(spec):
    params = _params(spec, "/v1/customers")
    assert params["opened_on[gte]"]["schema"] == {"type": "string", "format": "date"}
    decimal = params["credit_limit[lt]"]["schema"]
    assert (decimal["type"], decimal["format"]) == ("string", "decimal") and decimal["pattern"]
    assert params["active"]["schema"] == {"type": "boolean"}
    assert params["status"]["schema"]["enum"] == ["active", "closed", "on_hold"]
    assert params["status[isnull]"]["schema"] == {"type": "boolean"}
    # the key is an INTEGER column (SQLite: 64 bits), described at start-up
    assert params["id[gt]"]["schema"] == {"type": "integer", "minimum": -(1 << 63), "maximum": (1 << 63) - 1}


def test_an_in_list_is_one_to_a_hundred_values_and_an_empty_one_is_documented_as_a_400(spec):
    params = _params(spec, "/v1/customers")
    for name in ("state[in]", "id[in]", "opened_on[in]", "status[in]"):
        schema = params[name]["schema"]
        assert schema["type"] == "string" and schema["minLength"] == 1
        assert schema["pattern"].endswith("{0,99}$")
        assert "an empty list is a 400" in schema["description"]
    assert "(?:active|closed|on_hold)" in params["status[in]"]["schema"]["pattern"]


def test_text_operators_take_a_value_of_at_least_one_character(spec):
    params = _params(spec, "/v1/customers")
    assert params["state[startswith]"]["schema"] == {"type": "string", "minLength": 1}
    assert params["state[contains]"]["schema"] == {"type": "string", "minLength": 1}


def test_sort_and_fields_name_only_the_fields_they_take(spec):
    params = _params(spec, "/v1/customers")
    assert "opened_at" not in params["sort"]["schema"]["pattern"]
    assert "opened_at" in params["fields"]["schema"]["pattern"]
    assert params["sort"]["schema"]["pattern"].startswith("^(?:-?(?:")  # empty too: the key's order
    assert re.match(params["sort"]["schema"]["pattern"], "") and not re.match(params["fields"]["schema"]["pattern"], "")


def test_component_schemas_are_typed_from_the_contracts(spec):
    customer = _schema(spec, "Customers")
    assert set(customer) == {
        "id",
        "name",
        "state",
        "opened_on",
        "opened_at",
        "active",
        "status",
        "credit_limit",
        "updated_at",
    }
    assert (customer["opened_on"]["type"], customer["opened_on"]["format"]) == ("string", "date")
    # a local time (no UTC offset): RFC 3339 partial-time, not JSON Schema's offset-bearing "time"
    assert (customer["opened_at"]["type"], customer["opened_at"]["format"]) == ("string", "partial-time")
    # a legacy timestamp has no offset either: not JSON Schema's date-time, and it says so
    assert (customer["updated_at"]["type"], customer["updated_at"]["format"]) == ("string", "local-date-time")
    assert "without UTC offset" in customer["updated_at"]["description"]
    assert "not declared" in customer["updated_at"]["description"]
    # decimals travel as JSON strings ("31.25"), so the schema must say string, not number
    assert (customer["credit_limit"]["type"], customer["credit_limit"]["format"]) == ("string", "decimal")
    assert customer["active"]["type"] == "boolean"
    assert set(customer["status"]["enum"]) - {None} == {"active", "closed", "on_hold"}
    assert customer["id"]["type"] == "integer"


def test_a_field_without_converter_is_a_string_in_records_and_in_the_document(sqlite_backend):
    config = crm_config(sqlite_backend.connection)
    del config["resources"]["customers"]["fields"]["id"]["converter"]
    del config["resources"]["customers"]["fields"]["opened_on"]["converter"]
    app = make_app(config)
    client = app.test_client()
    document = client.get("/openapi.json").get_json()
    record = client.get("/v1/customers/3").get_json()
    app.extensions["legacy_bridge"].close()
    validate(document)
    # the INTEGER columns read as text, as the document says
    assert _schema(document, "Customers")["id"] == {"type": "string"}
    assert record["id"] == "3" and record["opened_on"] == "19930404"
    assert _params(document, "/v1/customers")["id[gt]"]["schema"] == {"type": "string"}
    assert "id[startswith]" not in _params(document, "/v1/customers")  # text operators need a text converter


def test_fields_declared_not_nullable_and_key_fields_are_required(sqlite_backend):
    config = crm_config(sqlite_backend.connection)
    config["resources"]["customers"]["fields"]["state"]["nullable"] = False
    app = make_app(config)
    document = app.test_client().get("/openapi.json").get_json()
    app.extensions["legacy_bridge"].close()
    schemas = document["components"]["schemas"]
    customer = schemas["Customers"]
    assert customer["required"] == ["id", "state"]
    assert "nullable" not in customer["properties"]["state"]
    assert customer["properties"]["name"]["nullable"] is True
    # a `fields` selection leaves fields out: a record is a whole one or a selection of one
    assert "required" not in schemas["CustomersSelection"]
    assert schemas["CustomersSelection"]["properties"] == customer["properties"]
    record = document["paths"]["/v1/customers/{id}"]["get"]["responses"]["200"]["content"]["application/json"]
    assert record["schema"]["anyOf"][0] == {"$ref": "#/components/schemas/Customers"}


def test_the_list_route_documents_json_pages_and_the_streamed_formats(spec):
    content = spec["paths"]["/v1/customers"]["get"]["responses"]["200"]["content"]
    assert set(content) == {"application/json", "application/x-ndjson", "text/csv"}


def test_component_schemas_match_what_the_api_returns(spec, sqlite_backend):
    app = make_app(crm_config(sqlite_backend.connection))
    record = app.test_client().get("/v1/customers/1").get_json()
    app.extensions["legacy_bridge"].close()
    python_types = {"string": str, "boolean": bool, "integer": int, "number": (int, float)}
    for name, prop in _schema(spec, "Customers").items():
        if record[name] is not None and "type" in prop:
            assert isinstance(record[name], python_types[prop["type"]]), name


def test_the_page_schema_carries_data_and_next(spec):
    page = spec["components"]["schemas"]["CustomersPage"]
    assert page["properties"]["data"]["items"] == {
        "anyOf": [{"$ref": "#/components/schemas/Customers"}, {"$ref": "#/components/schemas/CustomersSelection"}]
    }
    assert page["properties"]["next"]["nullable"] is True


@pytest.mark.parametrize("path", ["/v1/customers", "/v1/customers/{id}", "/v1/order-lines/{order_no}/{line_no}"])
def test_error_responses_are_problem_json(spec, path):
    responses = spec["paths"][path]["get"]["responses"]
    errors = {code: r for code, r in responses.items() if code[0] in "45"}
    assert {"400", "500", "502", "503", "504"} <= set(errors)
    for response in errors.values():
        assert response["content"] == {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def test_the_problem_schema_follows_rfc_9457(spec):
    problem = spec["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status"}
    assert {"detail", "instance", "parameter", "legacy_code"} <= set(problem["properties"])
    assert problem.get("additionalProperties", True) is not False  # extension members are allowed


def test_operations_endpoints_are_documented(spec):
    assert "200" in spec["paths"]["/healthz"]["get"]["responses"]
    assert set(spec["paths"]["/readyz"]["get"]["responses"]) == {"200", "503"}
