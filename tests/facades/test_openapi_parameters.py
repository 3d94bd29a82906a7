"""The document's parameters come from the schema that parses them, and every route a resource
serves for its config is in it: the change feed, SOAP filters the operation needs marked required.
No server: the document is built from the config (drivers never connect)."""

from __future__ import annotations

import re
import sys

import pytest

from helpers.backends import crm_config
from legacy_bridge.config import validate
from legacy_bridge.demo.tms_config import tms_config
from legacy_bridge.errors import ConfigError, InvalidInput
from legacy_bridge.facades.openapi import build_spec
from legacy_bridge.query.schema import list_schema, parse_list
from legacy_bridge.resources import Bridge


@pytest.fixture(scope="module")
def served():
    config = crm_config("DSN=never-connected")
    config["resources"]["customers"]["changes"] = {"every": "30s"}
    config["sources"].update(tms_config("http://127.0.0.1:9")["sources"])
    config["resources"].update(tms_config("http://127.0.0.1:9")["resources"])
    config = validate(config)
    bridge = Bridge(config, "secret")
    yield bridge, build_spec(bridge.resources, config.service, config)
    bridge.close()


def _operation(spec: dict, path: str) -> dict:
    return spec["paths"][path]["get"]


def test_every_list_parameter_is_a_field_of_the_schema_that_parses_it(served):
    bridge, spec = served
    for name, resource in bridge.resources.items():
        if "list" not in resource.spec.operations:
            continue
        parsed = {f.data_key for f in list_schema(resource).fields.values()}
        documented = {p["name"] for p in _operation(spec, f"/v1/{name}")["parameters"]}
        assert documented <= parsed, name


def test_a_resource_with_changes_has_its_feed_documented(served):
    _, spec = served
    feed = _operation(spec, "/v1/customers/changes")
    assert [p["name"] for p in feed["parameters"]] == ["limit", "cursor"]
    assert feed["parameters"][0]["schema"]["maximum"] == 500
    assert "data" in feed["responses"]["200"]["content"]["application/json"]["schema"]["properties"]
    assert "/v1/order-lines/changes" not in spec["paths"]


def test_filters_a_soap_list_operation_requires_are_required(served):
    _, spec = served
    params = {p["name"]: p for p in _operation(spec, "/v1/rate-quotes")["parameters"]}
    assert all(params[n]["required"] for n in ("origin", "destination", "weight_kg"))
    assert not params["origin[ne]"]["required"]
    assert not any(p["required"] for p in _operation(spec, "/v1/shipments")["parameters"])


def test_a_required_filter_must_be_a_filter_parameter_of_the_operation():
    config = tms_config("http://127.0.0.1:9")
    config["resources"]["rate-quotes"]["list"]["required"] = ["currency"]
    with pytest.raises(ConfigError) as info:
        validate({"service": {"secret": "s"}, **config})
    assert any(
        path == "resources.rate-quotes.list.required" and "'currency'" in message
        for path, message in info.value.problems
    )


@pytest.mark.parametrize("parameter", ["fields", "id[in]"])
def test_empty_selections_are_outside_the_document_and_refused(served, parameter):
    bridge, spec = served
    documented = next(p for p in _operation(spec, "/v1/customers")["parameters"] if p["name"] == parameter)
    assert re.search(documented["schema"]["pattern"], "") is None  # the document forbids it
    with pytest.raises(InvalidInput) as info:
        parse_list(bridge.resources["customers"], {parameter: [""]})
    assert info.value.extra["parameter"] == parameter


def test_the_get_route_documents_fields_as_the_list_does(served):
    _, spec = served
    get = spec["paths"]["/v1/customers/{id}"]["get"]
    listed = next(p for p in _operation(spec, "/v1/customers")["parameters"] if p["name"] == "fields")
    assert next(p for p in get["parameters"] if p["name"] == "fields") == listed


def test_a_supplied_contract_validates_filter_values_too(tmp_path):
    module = tmp_path / "strict_contracts.py"
    module.write_text(
        "from marshmallow import Schema, fields, validate\n"
        "class Customer(Schema):\n"
        "    id = fields.Integer()\n"
        "    state = fields.String(validate=validate.Length(equal=2))\n"
    )
    config = crm_config("DSN=never-connected")
    config["resources"]["customers"]["contract"] = "strict_contracts:Customer"
    sys.path.insert(0, str(tmp_path))
    try:
        bridge = Bridge(validate(config), "secret")
        customers = bridge.resources["customers"]
        assert parse_list(customers, {"state": ["MA"]}).filters[0].value == "MA"
        with pytest.raises(InvalidInput) as info:
            parse_list(customers, {"state[in]": ["MA,NEW"]})
        assert info.value.extra["parameter"] == "state[in]" and "'NEW' is not valid" in info.value.detail
        bridge.close()
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("strict_contracts", None)


def test_a_soap_text_parameter_admits_what_xml_carries_past_u_ffff_and_nothing_xml_cannot(served):
    """The service sends a SOAP source any character XML carries, one past U+FFFF too: the
    document's pattern says the same (no narrower, no wider), counted in code points."""
    bridge, spec = served
    carrier = next(p for p in _operation(spec, "/v1/shipments")["parameters"] if p["name"] == "carrier")
    pattern = carrier["schema"]["pattern"]
    for taken in ("UPS\U0001f69a", "\U00010000\U0010fffd", "Zürich\ufffd"):
        assert re.fullmatch(pattern, taken), taken
        assert parse_list(bridge.resources["shipments"], {"carrier": [taken]}).filters[0].value == taken
    for refused in ("UPS\x00", "\x1b", "\ud800", "\ufffe"):
        assert re.fullmatch(pattern, refused) is None, repr(refused)
