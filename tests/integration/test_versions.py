"""Versioned contracts through real ODBC (SQLite): the same legacy table served as /v1/customers
and /v2/customers with different contracts, side by side; v1 deprecated (RFC 9745 / 8594
headers on every response); each version's own OpenAPI document; calls counted per version
and key id."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from openapi_spec_validator import validate

from helpers.backends import ROWS, customer_record, make_app
from helpers.metrics import scrape, value
from helpers.versions import LINK, versioned_config
from legacy_bridge.errors import ConfigError
from legacy_bridge.security.scopes import hash_key

KEY = "lb_test_version_key_0123456789abcdef"
EPOCH = int(dt.datetime(2026, 6, 30, tzinfo=dt.UTC).timestamp())


@pytest.fixture(scope="module")
def app(sqlite_backend):
    config = versioned_config(sqlite_backend.connection)
    config["auth"] = {"keys": [{"id": "etl-job", "hash": hash_key(KEY), "scopes": ["*:read"]}]}
    app = make_app(config)
    yield app
    app.extensions["legacy_bridge"].close()


@pytest.fixture
def client(app):
    client = app.test_client()
    client.environ_base["HTTP_X_API_KEY"] = KEY
    return client


def v2_of(record: dict) -> dict:
    """A v1 customer as the v2 contract shows it."""
    opened = record["opened_on"]
    return {
        "customer_id": record["id"],
        "name": record["name"],
        "region": record["state"],
        "opened": int(opened.replace("-", "")) if opened else 0,
        "is_active": record["active"],
        "credit_limit": record["credit_limit"],
    }


def test_the_same_rows_are_served_by_both_versions_each_in_its_contract(client):
    v1 = client.get("/v1/customers?limit=20").get_json()["data"]
    v2 = client.get("/v2/customers?limit=20").get_json()["data"]
    assert v1 == [customer_record(n) for n in range(1, 21)]
    assert v2 == [v2_of(customer_record(n)) for n in range(1, 21)]


def test_a_record_by_key_in_each_version(client):
    assert client.get("/v1/customers/7").get_json() == customer_record(7)
    assert client.get("/v2/customers/7").get_json() == v2_of(customer_record(7))
    assert client.get("/v2/customers/99999").status_code == 404


def test_filters_and_sort_use_each_versions_names_and_values(client):
    v1 = client.get("/v1/customers?state=MA&opened_on[gte]=2000-01-01&sort=-opened_on&limit=500").get_json()
    v2 = client.get("/v2/customers?region=MA&opened[gte]=20000101&sort=-opened&limit=500").get_json()
    assert [r["id"] for r in v1["data"]] == [r["customer_id"] for r in v2["data"]]
    assert v2["data"] and all(r["region"] == "MA" and r["opened"] >= 20000101 for r in v2["data"])


@pytest.mark.parametrize(
    "query, parameter",
    [
        ("state=MA", "state"),
        ("opened_on[gte]=2000-01-01", "opened_on"),
        ("fields=status", "fields"),
        ("fields=customer_id,opened_at", "fields"),
        ("sort=updated_at", "sort"),
    ],
)
def test_a_v1_name_or_a_dropped_field_is_refused_by_v2_naming_it(client, query, parameter):
    response = client.get(f"/v2/customers?{query}")
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    assert response.get_json()["parameter"].startswith(parameter)


def test_v2_pages_through_every_row_with_its_cursor(client):
    seen, url = [], "/v2/customers?limit=40&fields=customer_id"
    while url:
        page = client.get(url).get_json()
        seen += [r["customer_id"] for r in page["data"]]
        url = page["next"] and f"/v2/customers?limit=40&fields=customer_id&cursor={page['next']}"
    assert seen == list(range(1, ROWS + 1))


def test_v2_exports_in_its_contract(client):
    response = client.get("/v2/customers/export?format=ndjson&region=TX")
    lines = [json.loads(line) for line in response.get_data(as_text=True).splitlines()]
    assert lines == [v2_of(customer_record(n)) for n in range(1, ROWS + 1) if n % 4 == 2]


@pytest.mark.parametrize(
    "path",
    [
        "/v1/customers?limit=2",
        "/v1/customers/3",
        "/v1/customers/99999",
        "/v1/customers/export?format=csv",
        "/v1/order-lines?limit=1",
        "/v1/nope",
        "/v1/openapi.json",
        "/v1/docs",
    ],
)
def test_every_response_of_the_deprecated_version_says_so(client, path):
    response = client.get(path)
    assert response.headers["Deprecation"] == f"@{EPOCH}"
    assert response.headers["Sunset"] == "Fri, 01 Jan 2027 00:00:00 GMT"
    assert f'<{LINK}>; rel="deprecation"' in response.headers["Link"]


def test_a_page_of_the_deprecated_version_links_its_next_page_too(client):
    link = client.get("/v1/customers?limit=2").headers["Link"]
    assert 'rel="next"' in link and link.endswith(f'<{LINK}>; rel="deprecation"')


@pytest.mark.parametrize(
    "path", ["/v2/customers?limit=2", "/v2/customers/3", "/v2/openapi.json", "/healthz", "/openapi.json"]
)
def test_other_responses_carry_no_deprecation(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert "Deprecation" not in response.headers and "Sunset" not in response.headers
    assert 'rel="deprecation"' not in response.headers.get("Link", "")


def test_calls_are_counted_per_version_and_key_id(app, client):
    name = "legacy_bridge_api_version_requests_total"
    before = scrape(app.test_client())
    for _ in range(3):
        client.get("/v1/customers/1")
    client.get("/v2/customers/1")
    app.test_client().get("/v1/customers/1")  # no key: a 401, still a call of v1
    after = scrape(app.test_client())
    for labels, calls in [
        ({"version": "v1", "key_id": "etl-job"}, 3),
        ({"version": "v2", "key_id": "etl-job"}, 1),
        ({"version": "v1", "key_id": "anonymous"}, 1),
    ]:
        assert value(after, name, **labels) - value(before, name, **labels) == calls


def test_each_version_has_its_own_openapi_document(client):
    v1, v2, every = (client.get(p).get_json() for p in ("/v1/openapi.json", "/v2/openapi.json", "/openapi.json"))
    for document in (v1, v2, every):
        validate(document)
    assert all(p.startswith("/v1/") for p in v1["paths"]) and all(p.startswith("/v2/") for p in v2["paths"])
    assert sorted(v2["paths"]) == [
        "/v2/customers",
        "/v2/customers/export",
        "/v2/customers/partitions",
        "/v2/customers/{customer_id}",
    ]
    assert set(v1["paths"]) | set(v2["paths"]) <= set(every["paths"])
    assert set(v2["components"]["schemas"]["CustomersV2"]["properties"]) == set(
        ["customer_id", "name", "region", "opened", "is_active", "credit_limit"]
    )
    assert all(op["deprecated"] for path in v1["paths"].values() for op in path.values() if isinstance(op, dict))
    assert not any(
        op.get("deprecated") for path in v2["paths"].values() for op in path.values() if isinstance(op, dict)
    )
    assert "Deprecation" in v1["paths"]["/v1/customers"]["get"]["responses"]["200"]["headers"]


def test_each_version_has_its_docs_page(client):
    for version in ("v1", "v2"):
        page = client.get(f"/{version}/docs")
        assert page.status_code == 200 and f'url: "/{version}/openapi.json"' in page.get_data(as_text=True)


@pytest.mark.parametrize(
    "change, path",
    [
        (
            lambda c: c["resources"]["customers"]["versions"]["v2"].update(key=["id"]),
            "resources.customers.versions.v2.key",
        ),
        (
            lambda c: c["resources"]["customers"]["versions"]["v2"].update(table="X"),
            "resources.customers.versions.v2.table",
        ),
        (lambda c: c["resources"]["customers"]["versions"].update(v1={}), "resources.customers.versions.v1"),
        (lambda c: c["versions"]["v1"].update(sunset="2026-01-01"), "versions.v1.sunset"),
        (lambda c: c["versions"]["v1"].update(deprecated="soon"), "versions.v1.deprecated"),
        (lambda c: c["versions"].update(v3={}), "versions.v3"),
    ],
)
def test_a_wrong_version_declaration_is_refused_naming_its_path(sqlite_backend, change, path):
    config = versioned_config(sqlite_backend.connection)
    change(config)
    with pytest.raises(ConfigError) as info:
        make_app(config)
    assert path in [p for p, _ in info.value.problems]


def test_a_resource_named_docs_is_refused_its_path_is_the_docs_page(sqlite_backend):
    config = versioned_config(sqlite_backend.connection)
    config["resources"]["docs"] = config["resources"].pop("active-customers")
    with pytest.raises(ConfigError) as info:
        make_app(config)
    assert "resources.docs" in [p for p, _ in info.value.problems]


def test_without_a_version_prefix_the_service_still_serves_its_one_version(sqlite_backend):
    config = versioned_config(sqlite_backend.connection)
    del config["resources"]["customers"]["versions"], config["versions"]
    config["service"]["base_path"] = "/"
    app = make_app(config)
    client = app.test_client()
    assert client.get("/customers/3").get_json()["id"] == 3
    assert client.get("/openapi.json").status_code == client.get("/docs").status_code == 200
    assert "Deprecation" not in client.get("/customers/3").headers
    app.extensions["legacy_bridge"].close()
