"""GET /v1/<resource>/<key>: single and composite keys, 404 and 400 problems, ETag and 304."""

from __future__ import annotations

import pytest

from helpers.backends import customer_record, customer_row

NOT_FOUND = "urn:legacy-bridge:problem:not-found"


def test_get_by_key_returns_the_record(client):
    response = client.get("/v1/customers/42")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.get_json() == customer_record(42)


def test_get_with_fields_returns_only_those(client):
    assert client.get("/v1/customers/10?fields=name,opened_on").get_json() == {
        "name": "CUSTOMER 0010",
        "opened_on": None,
    }


def test_get_by_composite_key(client):
    response = client.get("/v1/order-lines/3/2")
    assert response.status_code == 200
    assert response.get_json() == {"order_no": 3, "line_no": 2, "item": "ITEM-006", "quantity": 4}


def test_get_from_a_view(client):
    active = next(n for n in range(1, 20) if customer_row(n)[5] == "Y")
    assert client.get(f"/v1/active-customers/{active}").get_json() == {
        "id": active,
        "name": customer_record(active)["name"],
        "state": customer_record(active)["state"],
    }


@pytest.mark.parametrize(
    "path", ["/v1/customers/9999", "/v1/order-lines/3/9", "/v1/order-lines/41/1", "/v1/active-customers/3"]
)
def test_missing_key_is_a_404_problem(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["type"] == NOT_FOUND and body["status"] == 404 and body["title"] == "Not found"
    assert body["detail"] and body["instance"] == path


@pytest.mark.parametrize(
    "path, given", [("/v1/order-lines/3", 1), ("/v1/order-lines/3/2/1", 3), ("/v1/customers/1/2", 2)]
)
def test_wrong_number_of_key_parts_is_a_400(client, path, given):
    response = client.get(path)
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["type"] == "urn:legacy-bridge:problem:invalid-parameter"
    assert body["parameter"] == "key" and body["status"] == 400
    assert f"got {given}" in body["detail"]


def test_etag_is_a_stable_quoted_validator(client):
    first = client.get("/v1/customers/42")
    etag = first.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"') and len(etag) > 2
    assert client.get("/v1/customers/42").headers["ETag"] == etag
    assert client.get("/v1/customers/43").headers["ETag"] != etag
    assert client.get("/v1/customers/42?fields=id").headers["ETag"] != etag


@pytest.mark.parametrize("header", ["{etag}", "W/{etag}", '"other", {etag}', "*"])
def test_if_none_match_with_the_current_etag_is_a_304_without_body(client, header):
    etag = client.get("/v1/order-lines/3/2").headers["ETag"]
    response = client.get("/v1/order-lines/3/2", headers={"If-None-Match": header.format(etag=etag)})
    assert response.status_code == 304
    assert response.get_data() == b""
    assert response.headers["ETag"] == etag


def test_if_none_match_with_another_etag_is_a_200_with_the_record(client):
    other = client.get("/v1/customers/43").headers["ETag"]
    response = client.get("/v1/customers/42", headers={"If-None-Match": other})
    assert response.status_code == 200
    assert response.get_json() == customer_record(42)
    assert response.headers["ETag"] != other
