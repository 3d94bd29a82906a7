"""``introspect --wsdl --operation`` drafts that work as printed: pasted into a config
unchanged, each serves the operation's records through the real spyne TMS simulator.
zeep unwraps lone wrappers of an answer, so the draft's record path must match what
zeep returns, not the WSDL's nesting."""

from __future__ import annotations

import pytest
import yaml
from click.testing import CliRunner
from zeep import Client
from zeep.helpers import serialize_object

from helpers.backends import make_app
from helpers.manifest_service import serve_manifests, walk, zeep_manifests
from legacy_bridge.cli import main
from legacy_bridge.demo.tms_simulator import TmsSimulator, sample_shipments, serve

SHIPMENTS = sample_shipments()


@pytest.fixture(scope="module")
def tms():
    with serve(TmsSimulator()) as url:
        yield url


def _draft(wsdl: str, operation: str, name: str) -> tuple[dict, str]:
    result = CliRunner().invoke(main, ["introspect", "--wsdl", wsdl, "--operation", operation, "--name", name])
    assert result.exit_code == 0, result.output
    config = yaml.safe_load(result.stdout)
    resource = config["resources"][name]
    kind = next(k for k in resource if k in ("get", "list", "create"))  # the drafted one comes first
    return {"service": {"secret": "s"}, **config}, kind


def test_a_get_draft_reads_one_record(tms):
    config, kind = _draft(f"{tms}/soap11?wsdl", "GetShipment", "shipments")
    assert kind == "get"
    key = next(iter(SHIPMENTS))
    body = make_app(config).test_client().get(f"/v1/shipments/{key}").get_json()
    assert body["shipment_no"].strip() == key and body["carrier"].strip() == SHIPMENTS[key]["Carrier"].strip()


def test_a_paged_list_draft_follows_the_page_token_to_every_record(tms):
    config, kind = _draft(f"{tms}/soap11?wsdl", "ListShipments", "shipments")
    binding = config["resources"]["shipments"]["list"]
    assert kind == "list" and binding["records"] == "Shipments.Shipment" and binding["next"] == "NextPageToken"
    assert binding["params"]["PageToken"] == "{page}" and binding["params"]["PageSize"] == "{limit}"
    client, seen = make_app(config).test_client(), []
    body = client.get("/v1/shipments?limit=7").get_json()
    while True:
        seen += [item["shipment_no"].strip() for item in body["data"]]
        if not body["next"]:
            break
        body = client.get(f"/v1/shipments?limit=7&cursor={body['next']}").get_json()
    assert sorted(seen) == sorted(SHIPMENTS)


def test_a_list_draft_whose_answer_is_a_lone_array_reads_it(tms):
    config, kind = _draft(f"{tms}/soap11?wsdl", "GetTrackingEvents", "events")
    assert kind == "list" and "records" not in config["resources"]["events"]["list"]
    key = next(iter(SHIPMENTS))
    body = make_app(config).test_client().get(f"/v1/events?shipment_no={key}").get_json()
    assert body["data"] and {item["shipment_no"].strip() for item in body["data"]} == {key}


def test_a_create_draft_sends_the_body_as_the_record(tms):
    config, kind = _draft(f"{tms}/soap11?wsdl", "CreateShipment", "shipments")
    assert kind == "create" and config["resources"]["shipments"]["create"]["params"] == {"Shipment": "{body}"}
    get, _ = _draft(f"{tms}/soap11?wsdl", "GetShipment", "shipments")
    config["resources"]["shipments"]["get"] = get["resources"]["shipments"]["get"]
    client = make_app(config).test_client()
    record = dict(client.get(f"/v1/shipments/{next(iter(SHIPMENTS))}").get_json(), consignee_name="DRAFTED")
    response = client.post("/v1/shipments", json=record)
    assert response.status_code == 201, response.get_json()
    number = response.get_json()["shipment_no"]  # the TMS numbers new shipments itself
    assert number not in SHIPMENTS
    assert client.get(f"/v1/shipments/{number}").get_json()["consignee_name"].strip() == "DRAFTED"


# -- nested answers and inputs (the manifest service) -----------------------------------------


@pytest.fixture(scope="module")
def manifests():
    with serve_manifests() as svc:
        svc.zeep = Client(f"{svc.url}/manifests?wsdl").service
        yield svc


def _lines(answer: dict) -> list[dict]:
    return [
        {"line_no": line["LineNo"], "sku": line["Sku"], "qty": line["Qty"], "hazmat": line["Hazmat"]}
        for line in (answer["Lines"] or {}).get("ManifestLine") or []
    ]


def _drafted_lines(record: dict) -> list[dict]:
    return [{k: line[k] for k in ("line_no", "sku", "qty", "hazmat")} for line in record["lines"]]


def test_a_get_draft_of_a_header_beside_its_lines_is_the_header_fields_and_a_lines_array(manifests):
    config, kind = _draft(f"{manifests.url}/manifests?wsdl", "GetManifestDocument", "manifests")
    resource = config["resources"]["manifests"]
    assert kind == "get" and resource["key"] == ["manifest_no"]
    assert resource["fields"]["manifest_no"]["column"] == "Header.ManifestNo"
    assert resource["fields"]["lines"]["type"] == "array" and resource["fields"]["lines"]["column"] == (
        "Lines.ManifestLine"
    )
    answer = serialize_object(manifests.zeep.GetManifestDocument("M00007"), target_cls=dict)
    record = make_app(config).test_client().get("/v1/manifests/M00007").get_json()
    assert record["manifest_no"] == answer["Header"]["ManifestNo"] and record["carrier"] == answer["Header"]["Carrier"]
    assert _drafted_lines(record) == _lines(answer) and len(record["lines"]) == 3


def test_a_list_draft_binds_from_and_to_parameters_as_a_range_and_keeps_the_lines(manifests):
    config, kind = _draft(f"{manifests.url}/manifests?wsdl", "ListManifests", "manifests")
    params = config["resources"]["manifests"]["list"]["params"]
    assert (
        kind == "list"
        and params["DateFrom"] == "{filter.ship_date.gte}"
        and params["DateTo"] == "{filter.ship_date.lte}"
    )
    client = make_app(config).test_client()
    got = walk(client, "/v1/manifests?ship_date[gte]=20240310&ship_date[lte]=20240401&limit=3")
    expected = zeep_manifests(manifests.zeep, "20240310", "20240401")
    assert [r["manifest_no"] for r in got] == [m["ManifestNo"] for m in expected] and got
    assert [_drafted_lines(r) for r in got] == [_lines(m) for m in expected]


def test_a_create_draft_with_a_nested_input_is_a_valid_config_that_creates_several_lines(manifests):
    config, kind = _draft(f"{manifests.url}/manifests?wsdl", "CreateManifest", "manifests")
    resource = config["resources"]["manifests"]
    assert kind == "create" and resource["create"]["returns"] == "key" and resource["get"]["operation"] == "GetManifest"
    client = make_app(config).test_client()
    body = {
        "reference": "REF-DRAFT-1",
        "carrier": "UPSN",
        "ship_date": "20240801",
        "lines": [{"sku": "AB12", "qty": 2, "hazmat": "N"}, {"sku": "CD34", "qty": 4, "hazmat": "Y"}],
    }
    response = client.post("/v1/manifests", json=body)
    assert response.status_code == 201, response.get_json()
    record = response.get_json()
    answer = serialize_object(manifests.zeep.GetManifest(record["manifest_no"]), target_cls=dict)
    assert (
        _drafted_lines(record)
        == _lines(answer)
        == [
            {"line_no": 1, "sku": "AB12", "qty": 2, "hazmat": "N"},
            {"line_no": 2, "sku": "CD34", "qty": 4, "hazmat": "Y"},
        ]
    )
    assert response.headers["Location"].endswith(f"/v1/manifests/{record['manifest_no']}")
