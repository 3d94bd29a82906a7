"""Nested SOAP answers as nested fields, through a YAML config alone, against the spyne manifest
service (tests/helpers/manifest_service.py) on a free loopback port: a manifest's header fields
at the top and its wrapped lines as a ``lines`` array of objects (inner element names, inner
converters) on get, list (a date range, page tokens) and create (a document with several lines,
answered by its new key only, read back).  Every value is compared with a direct zeep call."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import yaml
from zeep import Client
from zeep.helpers import serialize_object

from helpers.backends import make_app
from helpers.manifest_service import CONFIG, serve_manifests, walk, zeep_manifests

LINES = """
type: array
column: Lines.ManifestLine
fields:
  line_no: {column: LineNo, converter: int}
  sku: {column: Sku, filter: true, pattern: "^[A-Z0-9]{3,10}$"}
  qty: {column: Qty, converter: int}
  weight_kg: {column: WeightKg, converter: {decimal: {scale: 2}}}
  hazmat: {column: Hazmat, converter: flag}
"""
TAGS = "{type: array, column: Tags.string, converter: trim}"
DOCUMENTS = """
source: wms
key: [manifest_no]
get: {operation: GetManifestDocument, params: {ManifestNo: "{key}"}}
fields:
  manifest_no: Header.ManifestNo
  header:
    type: object
    column: Header
    fields: {carrier: Carrier, shipped_on: {column: ShipDate, converter: {yyyymmdd: {as: str}}}}
  lines:
    type: array
    column: Lines.ManifestLine
    fields: {sku: Sku, qty: {column: Qty, converter: int}}
"""


@pytest.fixture(scope="module")
def service():
    with serve_manifests() as svc:
        yield svc


@pytest.fixture(scope="module")
def client(service):
    config = yaml.safe_load(CONFIG.replace("URL", service.url))
    config["resources"]["manifests"]["fields"]["lines"] = yaml.safe_load(LINES)
    config["resources"]["manifests"]["fields"]["tags"] = yaml.safe_load(TAGS)
    config["resources"]["manifest-documents"] = yaml.safe_load(DOCUMENTS)
    app = make_app(config)
    yield app.test_client()
    app.extensions["legacy_bridge"].close()


@pytest.fixture(scope="module")
def zeep_service(service):
    return Client(f"{service.url}/manifests?wsdl").service


def _line(line: dict) -> dict:
    weight = line["WeightKg"]
    return {
        "line_no": line["LineNo"],
        "sku": line["Sku"],
        "qty": line["Qty"],
        "weight_kg": None if weight is None else str(Decimal(weight).quantize(Decimal("0.01"))),
        "hazmat": {"Y": True, "N": False}[line["Hazmat"]],
    }


def _manifest(answer: dict) -> dict:
    """A manifest as zeep reads it, in the resource's terms."""
    day = answer["ShipDate"]
    return {
        "manifest_no": answer["ManifestNo"],
        "reference": answer["Reference"],
        "carrier": answer["Carrier"],
        "shipped_on": dt.date(int(day[:4]), int(day[4:6]), int(day[6:])).isoformat(),
        "lines": [_line(line) for line in (answer["Lines"] or {}).get("ManifestLine") or []],
        "tags": (answer["Tags"] or {}).get("string") or [],
    }


def _zeep_get(zeep_service, number: str) -> dict:
    return serialize_object(zeep_service.GetManifest(number), target_cls=dict)


def test_a_get_answers_the_header_fields_and_the_lines_as_an_array_of_objects(client, zeep_service):
    body = client.get("/v1/manifests/M00003").get_json()
    assert body == _manifest(_zeep_get(zeep_service, "M00003"))
    assert [line["line_no"] for line in body["lines"]] == [1, 2, 3]
    assert body["lines"][1] == {"line_no": 2, "sku": "SKU023", "qty": 5, "weight_kg": "12.25", "hazmat": True}


def test_a_manifest_without_lines_has_an_empty_array(client, zeep_service):
    answer = _zeep_get(zeep_service, "M00004")
    assert answer["Lines"] is None
    assert client.get("/v1/manifests/M00004").get_json()["lines"] == []


def test_a_header_element_beside_the_lines_maps_to_top_level_fields(client, zeep_service):
    answer = serialize_object(zeep_service.GetManifestDocument("M00006"), target_cls=dict)
    body = client.get("/v1/manifest-documents/M00006").get_json()
    header = answer["Header"]
    assert body == {
        "manifest_no": header["ManifestNo"],
        "header": {"carrier": header["Carrier"], "shipped_on": "2024-03-11"},
        "lines": [{"sku": line["Sku"], "qty": line["Qty"]} for line in answer["Lines"]["ManifestLine"]],
    }
    assert header["ShipDate"] == "20240311"
    assert len(body["lines"]) == 2


def test_a_repeated_simple_element_is_an_array_of_scalars(client, zeep_service):
    assert _zeep_get(zeep_service, "M00015")["Tags"] == {"string": ["FRAGILE", "COLD"]}
    assert client.get("/v1/manifests/M00015").get_json()["tags"] == ["FRAGILE", "COLD"]
    assert client.get("/v1/manifests/M00001").get_json()["tags"] == []


def test_a_list_with_a_date_range_pages_nested_records(client, zeep_service):
    got = walk(client, "/v1/manifests?shipped_on[gte]=2024-03-03&shipped_on[lte]=2024-04-12&limit=3")
    assert got == [_manifest(m) for m in zeep_manifests(zeep_service, "20240303", "20240412")]
    assert sum(len(m["lines"]) for m in got) > 20


def test_a_filter_on_an_inner_field_keeps_manifests_with_any_matching_line(client, zeep_service):
    got = walk(client, "/v1/manifests?lines.sku=SKU022&limit=50")
    expected = [
        _manifest(m)
        for m in zeep_manifests(zeep_service, None, None)
        if any(line["Sku"] == "SKU022" for line in (m["Lines"] or {}).get("ManifestLine") or [])
    ]
    assert got == expected and got


def test_openapi_describes_lines_as_an_array_of_objects(client):
    document = client.get("/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    record = next(
        s for name, s in schemas.items() if "lines" in s.get("properties", {}) and "reference" in s["properties"]
    )
    lines = record["properties"]["lines"]
    assert lines["type"] == "array"
    item = lines["items"]
    if "$ref" in item:
        item = schemas[item["$ref"].rsplit("/", 1)[-1]]
    assert set(item["properties"]) == {"line_no", "sku", "qty", "weight_kg", "hazmat"}


def test_create_sends_a_document_with_several_lines_and_answers_it_as_read_back(service, client, zeep_service):
    body = {
        "reference": "REF-NESTED-1",
        "carrier": "DHLX",
        "shipped_on": "2024-07-01",
        "lines": [
            {"sku": "AB12", "qty": 3, "weight_kg": "1.50", "hazmat": False},
            {"sku": "CD34", "qty": 1, "weight_kg": "20.25", "hazmat": True},
            {"sku": "EF56", "qty": 7, "weight_kg": None, "hazmat": False},
        ],
        "tags": ["COLD", "FRAGILE"],
    }
    response = client.post("/v1/manifests", json=body)
    assert response.status_code == 201, response.get_json()
    record = response.get_json()
    number = record["manifest_no"]
    assert response.headers["Location"].endswith(f"/v1/manifests/{number}")
    assert record == _manifest(_zeep_get(zeep_service, number))
    lines = [{**line, "line_no": i} for i, line in enumerate(body["lines"], 1)]
    assert record == {**body, "manifest_no": number, "lines": lines}
    sent = [arguments for name, arguments in service.calls if name == "CreateManifest"][-1]["Manifest"]
    assert [line.Sku for line in sent.Lines] == ["AB12", "CD34", "EF56"]


def test_a_line_the_services_rules_refuse_is_a_422_carrying_the_fault(client):
    body = {"reference": "REF-NESTED-2", "carrier": "UPSN", "lines": [{"sku": "AB12", "qty": 5000}]}
    response = client.post("/v1/manifests", json=body)
    problem = response.get_json()
    assert response.status_code == 422 and problem["type"].endswith(":unprocessable")
    assert problem["fault_code"] == "Client.RuleViolation" and "999" in problem["fault_string"]


def test_an_inner_field_rule_is_a_400_naming_the_line_before_the_service_is_called(service, client):
    service.calls.clear()
    body = {"reference": "REF-NESTED-3", "carrier": "UPSN", "lines": [{"sku": "AB12", "qty": 1}, {"sku": "a b"}]}
    response = client.post("/v1/manifests", json=body)
    assert response.status_code == 400
    assert "lines" in response.get_data(as_text=True) and "sku" in response.get_data(as_text=True)
    assert not [name for name, _ in service.calls if name == "CreateManifest"]


def test_body_placeholders_place_a_nested_field_where_the_operation_takes_it(service):
    config = yaml.safe_load(CONFIG.replace("URL", service.url))
    resource = config["resources"]["manifests"]
    resource["fields"]["lines"] = yaml.safe_load(LINES)
    resource["create"]["params"] = {
        "Manifest.Reference": "{body.reference}",
        "Manifest.Carrier": "{body.carrier}",
        "Manifest.Lines.ManifestLine": "{body.lines}",
    }
    app = make_app(config)
    body = {
        "reference": "REF-NESTED-4",
        "carrier": "FDEG",
        "lines": [{"sku": "GH78", "qty": 9}, {"sku": "IJ90", "qty": 1}],
    }
    response = app.test_client().post("/v1/manifests", json=body)
    app.extensions["legacy_bridge"].close()
    assert response.status_code == 201, response.get_json()
    stored = service.manifests[response.get_json()["manifest_no"]]
    assert [(line["Sku"], line["Qty"]) for line in stored["Lines"]] == [("GH78", 9), ("IJ90", 1)]
    assert stored["Carrier"] == "FDEG"


def test_a_complex_element_mapped_as_a_scalar_is_refused_not_served_as_text(service):
    config = yaml.safe_load(CONFIG.replace("URL", service.url))
    config["resources"]["manifests"]["fields"]["lines"] = "Lines"
    app = make_app(config)
    response = app.test_client().get("/v1/manifests/M00003")
    app.extensions["legacy_bridge"].close()
    problem = response.get_json()
    assert response.status_code == 500 and problem["type"].endswith(":mapping-mismatch")
    assert problem["column"] == "Lines" and "type: array" in problem["detail"]
