"""``introspect --wsdl --operation`` drafts that work as printed: pasted into a config
unchanged, each serves the operation's records through the real spyne TMS simulator.
zeep unwraps lone wrappers of an answer, so the draft's record path must match what
zeep returns, not the WSDL's nesting."""

from __future__ import annotations

import pytest
import yaml
from click.testing import CliRunner

from helpers.backends import make_app
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
    kind = next(k for k in ("get", "list", "create") if k in resource)
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
