"""SOAP resources against a real spyne server (the legacy TMS simulator) on a free
loopback port, over SOAP 1.1 and SOAP 1.2: reads, filters, pages, create, faults."""

from __future__ import annotations

from decimal import Decimal

import pytest

from helpers.backends import make_app
from legacy_bridge.demo.tms_config import tms_config
from legacy_bridge.demo.tms_simulator import TmsSimulator, sample_shipments, serve

SHIPMENTS = sample_shipments()
STATUS = {"BK": "booked", "IT": "in_transit", "DL": "delivered", "EX": "exception"}


@pytest.fixture(scope="module", params=["1.1", "1.2"])
def tms(request):
    with serve(TmsSimulator()) as url:
        yield url, request.param


@pytest.fixture(scope="module")
def client(tms):
    url, version = tms
    app = make_app({"service": {"secret": "s", "max_limit": 200}, **tms_config(url, version)})
    yield app.test_client()
    app.extensions["legacy_bridge"].close()


def _expected(no: str) -> dict:
    d = SHIPMENTS[no]
    day = d["ShipDate"]
    return {
        "shipment_no": no,
        "carrier": d["Carrier"],
        "status": STATUS[d["Status"]],
        "shipped_on": None if day == "00000000" else f"{day[:4]}-{day[4:6]}-{day[6:]}",
        "weight_kg": str(d["WeightKg"].quantize(Decimal("0.01"))),
        "pieces": d["Pieces"],
        "shipper_name": d["Shipper"]["Name"],
        "consignee_name": d["Consignee"]["Name"],
        "consignee_city": d["Consignee"]["City"],
        "consignee_country": d["Consignee"]["Country"],
    }


def _walk(client, url: str) -> list[str]:
    seen, page = [], client.get(url).get_json()
    while True:
        seen += [r["shipment_no"] for r in page["data"]]
        if not page["next"]:
            return seen
        page = client.get(f"{url}&cursor={page['next']}").get_json()


def test_get_maps_the_operation_result_through_the_fields(client):
    response = client.get("/v1/shipments/TMS000009")
    assert response.status_code == 200
    assert response.get_json() == _expected("TMS000009")
    assert response.headers["ETag"]


def test_unknown_key_is_a_404_carrying_the_fault(client):
    body = client.get("/v1/shipments/TMS999999").get_json()
    assert body["status"] == 404
    assert body["type"].endswith(":not-found")
    assert body["fault_code"] == "Client.ShipmentNotFound"
    assert "TMS999999" in body["fault_string"]


def test_list_pushes_operation_filters_and_applies_the_rest_after_the_call(client):
    response = client.get("/v1/shipments?carrier=UPSN&status=booked&consignee_country=US&limit=200")
    got = [r["shipment_no"] for r in response.get_json()["data"]]
    expected = [
        no
        for no, d in sorted(SHIPMENTS.items())
        if d["Carrier"] == "UPSN" and d["Status"] == "BK" and d["Consignee"]["Country"] == "US" and no <= "TMS000120"
    ]
    assert got == expected and got


def test_pages_follow_the_services_page_tokens_and_visit_each_match_once(client):
    everything = _walk(client, "/v1/shipments?limit=7&shipment_no[lte]=TMS000120")
    assert everything == sorted(n for n in SHIPMENTS)
    filtered = _walk(client, "/v1/shipments?limit=4&weight_kg[gt]=250&shipment_no[lte]=TMS000120")
    assert filtered == [n for n, d in sorted(SHIPMENTS.items()) if d["WeightKg"] > 250]


def test_sorting_a_soap_resource_is_refused(client):
    body = client.get("/v1/shipments?sort=carrier").get_json()
    assert body["status"] == 400 and body["parameter"] == "sort"


def test_a_list_only_resource_gets_by_composite_key_through_its_list(client):
    events = client.get("/v1/tracking-events?shipment_no=TMS000003").get_json()["data"]
    assert [e["seq"] for e in events] == [1, 2, 3, 4]
    one = client.get("/v1/tracking-events/TMS000003/2").get_json()
    assert one == events[1]
    assert client.get("/v1/tracking-events/TMS000003/9").status_code == 404


def test_a_not_found_fault_on_a_list_is_an_empty_list(client):
    assert client.get("/v1/tracking-events?shipment_no=NOPE").get_json() == {"data": [], "next": None}


def test_an_invalid_input_fault_is_a_400_carrying_the_fault(client):
    body = client.get("/v1/rate-quotes?origin=Boston").get_json()
    assert body["status"] == 400 and body["fault_code"] == "Client.MissingParameter"
    quotes = client.get("/v1/rate-quotes?origin=Boston&destination=Austin&weight_kg=10").get_json()["data"]
    assert [q["carrier"] for q in quotes] == ["UPSN", "FDEG", "DHLX", "ODFL"]


def test_create_calls_the_operation_and_returns_201_with_location(client):
    response = client.post(
        "/v1/shipments",
        json={
            "carrier": "DHLX",
            "weight_kg": "12.50",
            "pieces": 3,
            "consignee_name": "ACME",
            "consignee_city": "Boston",
        },
    )
    assert response.status_code == 201
    created = response.get_json()
    assert created["status"] == "booked" and created["weight_kg"] == "12.50"
    assert response.headers["Location"].endswith(f"/v1/shipments/{created['shipment_no']}")
    assert client.get(f"/v1/shipments/{created['shipment_no']}").get_json()["consignee_city"] == "Boston"


def test_create_refused_by_the_service_is_a_400_with_the_fault(client):
    body = client.post("/v1/shipments", json={"carrier": "NOPE", "weight_kg": "1"}).get_json()
    assert body["status"] == 400 and body["fault_code"] == "Client.InvalidShipment"


def test_create_body_is_validated_by_the_contract_before_the_call(client):
    body = client.post("/v1/shipments", json={"carrier": "UPSN", "weight_kg": "heavy"}).get_json()
    assert body["status"] == 400 and body["parameter"] == "weight_kg"
    assert client.post("/v1/shipments", json={"colour": "red"}).status_code == 400
    assert client.post("/v1/shipments", data="not json").status_code == 400


def test_resources_without_create_have_no_post(client):
    assert client.post("/v1/tracking-events", json={}).status_code == 405


def test_openapi_says_which_filters_reach_the_operation(client):
    document = client.get("/openapi.json").get_json()
    params = {p["name"]: p for p in document["paths"]["/v1/shipments"]["get"]["parameters"]}
    assert params["carrier"]["x-pushdown"] is True
    assert params["consignee_city"]["x-pushdown"] is False
    assert "after reading" in params["consignee_city"]["description"]
    assert "post" in document["paths"]["/v1/shipments"]
    assert "post" not in document["paths"]["/v1/tracking-events"]
