"""Auth through the app: every route the app serves (read from the app's URL map and from its
OpenAPI document, so routes added later are walked too) refuses a request without a key (401)
and one whose key lacks the scope (403); public routes stay open; keys files and JWTs work."""

from __future__ import annotations

import json
import re
import time

import jwt
import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric import rsa
from openapi_spec_validator import validate as validate_openapi

from helpers.auth import CUSTOMERS_READ, FULL, KEYS, METHODS, UNRELATED, walk_config
from helpers.backends import crm_config, make_app
from legacy_bridge.demo.tms_simulator import TmsSimulator, serve
from legacy_bridge.security.scopes import hash_key, new_key, resource_of, verb_of


@pytest.fixture(scope="module")
def tms_url():
    with serve(TmsSimulator()) as url:
        yield url


@pytest.fixture(scope="module")
def keys_file(tmp_path_factory):
    return tmp_path_factory.mktemp("keys") / "keys.yaml"


@pytest.fixture(scope="module")
def app(sqlite_backend, tms_url, tmp_path_factory, keys_file):
    csv = tmp_path_factory.mktemp("receipts") / "receipts.csv"
    csv.write_text("NO,MEMO\r\n1,first\r\n2,second\r\n")
    app = make_app(walk_config(sqlite_backend.connection, tms_url, str(csv), keys_file=str(keys_file)))
    yield app
    app.extensions["legacy_bridge"].close()


@pytest.fixture(scope="module")
def client(app):
    return app.test_client()


def concrete(template: str) -> str:
    """A path to request for a route template (Flask's <x> or OpenAPI's {x})."""
    return re.sub(r"<[^>]+>|\{[^}]+\}", "1", template)


def routes(app, client) -> set[tuple[str, str]]:
    """(METHOD, path) of every route: the URL map's and the OpenAPI document's."""
    found = {
        (method, concrete(rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    document = client.get("/openapi.json").get_json()
    found |= {
        (method.upper(), concrete(path))
        for path, ops in document["paths"].items()
        for method in ops
        if method in METHODS
    }
    return found


def protected(app, client) -> list[tuple[str, str]]:
    guard = app.extensions["legacy_bridge_auth"]
    return sorted(r for r in routes(app, client) if not guard.is_public(r[1]))


def test_the_walk_covers_every_kind_of_resource_and_the_create_route(app, client):
    walked = protected(app, client)
    for path in ("/v1/customers", "/v1/order-lines/1/1", "/v1/shipments", "/v1/receipts/1"):
        assert ("GET", path) in walked
    assert ("POST", "/v1/shipments") in walked
    assert len(walked) >= 12


def test_every_route_without_a_key_is_a_401_problem_with_a_challenge(app, client):
    wrong = []
    for method, path in protected(app, client):
        response = client.open(path, method=method)
        if (
            response.status_code != 401
            or response.mimetype != "application/problem+json"
            or not response.headers.get("WWW-Authenticate", "").startswith("Bearer")
        ):
            wrong.append((method, path, response.status_code))
    assert wrong == []


def test_every_route_with_an_unknown_key_is_a_401(app, client):
    wrong = [
        (m, p)
        for m, p in protected(app, client)
        for headers in ({"X-API-Key": FULL + "x"}, {"Authorization": "Bearer nope"})
        if client.open(p, method=m, headers=headers).status_code != 401
    ]
    assert wrong == []


def test_every_route_with_a_key_outside_its_scope_is_a_403_problem(app, client):
    wrong = []
    for method, path in protected(app, client):
        response = client.open(path, method=method, headers={"X-API-Key": UNRELATED})
        body = response.get_json(silent=True) or {}
        if response.status_code != 403 or body.get("type") != "urn:legacy-bridge:problem:forbidden":
            wrong.append((method, path, response.status_code))
    assert wrong == []


def test_a_key_with_the_other_verb_only_is_refused_too(app, client, keys_file):
    """A read scope does not write, a write scope does not read (keys added through the keys file)."""
    base = app.extensions["legacy_bridge"].config.service["base_path"]
    walked = [(m, p, resource_of(p, base), verb_of(m)) for m, p in protected(app, client)]
    other = {"read": "write", "write": "read"}
    keys = {(r, v): new_key() for _, _, r, v in walked}
    keys_file.write_text(
        yaml.safe_dump(
            {
                "keys": [
                    {"id": f"{r}-{other[v]}", "hash": hash_key(k), "scopes": [f"{r}:{other[v]}"]}
                    for (r, v), k in keys.items()
                ]
            }
        )
    )
    time.sleep(1.1)  # the service re-reads a changed keys file within a second
    wrong = [
        (m, p, s)
        for m, p, r, v in walked
        for s in [client.open(p, method=m, headers={"X-API-Key": keys[r, v]}).status_code]
        if s != 403
    ]
    assert wrong == []


def test_a_key_in_scope_passes_on_every_route(app, client):
    refused = [
        (m, p, s)
        for m, p in protected(app, client)
        for s in [client.open(p, method=m, headers={"Authorization": f"Bearer {FULL}"}).status_code]
        if s in (401, 403)
    ]
    assert refused == []


def test_a_scoped_key_reads_its_resource_only(client):
    headers = {"X-API-Key": CUSTOMERS_READ}
    assert client.get("/v1/customers?limit=2", headers=headers).status_code == 200
    assert client.get("/v1/customers/1", headers={"Authorization": f"Bearer {CUSTOMERS_READ}"}).status_code == 200
    refused = client.get("/v1/order-lines", headers=headers)
    assert refused.status_code == 403
    assert refused.get_json()["required_scope"] == "order-lines:read"
    assert client.post("/v1/shipments", json={}, headers=headers).status_code == 403


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/openapi.json", "/docs", "/docs/assets/swagger-ui.css"])
def test_public_routes_need_no_key(client, path):
    assert client.get(path).status_code in (200, 503)


def test_an_unknown_path_needs_a_key_before_it_is_a_404(client):
    assert client.get("/v1/no-such-thing").status_code == 401
    assert client.get("/v1/no-such-thing", headers={"X-API-Key": FULL}).status_code == 404


def test_the_openapi_document_declares_the_schemes_scopes_and_401_403(client):
    document = client.get("/openapi.json").get_json()
    validate_openapi(document)
    assert set(document["components"]["securitySchemes"]) == {"apiKey", "bearer"}
    assert document["components"]["securitySchemes"]["apiKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
    }
    list_customers = document["paths"]["/v1/customers"]["get"]
    assert list_customers["x-required-scope"] == "customers:read"
    assert {"401", "403"} <= set(list_customers["responses"])
    assert document["paths"]["/v1/shipments"]["post"]["x-required-scope"] == "shipments:write"
    assert document["paths"]["/healthz"]["get"]["security"] == []


def test_metrics_can_be_made_private(sqlite_backend):
    config = crm_config(sqlite_backend.connection)
    config["auth"] = {"keys": KEYS, "public_metrics": False}
    client = make_app(config).test_client()
    assert client.get("/metrics").status_code == 401
    config["auth"]["public_metrics"] = True
    assert make_app(config).test_client().get("/metrics").status_code != 401


def test_without_an_auth_section_every_route_is_open(sqlite_backend):
    client = make_app(crm_config(sqlite_backend.connection)).test_client()
    assert client.get("/v1/customers?limit=1").status_code == 200
    assert "securitySchemes" not in client.get("/openapi.json").get_json().get("components", {})


def test_a_key_revoked_in_the_keys_file_is_refused_without_a_restart(sqlite_backend, tmp_path):
    keys_file = tmp_path / "keys.yaml"
    key = new_key()
    keys_file.write_text(yaml.safe_dump({"keys": [{"id": "etl", "hash": hash_key(key), "scopes": ["*:read"]}]}))
    config = crm_config(sqlite_backend.connection)
    config["auth"] = {"keys_file": str(keys_file)}
    client = make_app(config).test_client()
    assert client.get("/v1/customers?limit=1", headers={"X-API-Key": key}).status_code == 200
    keys_file.write_text(yaml.safe_dump({"keys": []}))
    time.sleep(1.1)
    assert client.get("/v1/customers?limit=1", headers={"X-API-Key": key}).status_code == 401


def test_jwt_bearer_tokens_from_an_identity_provider(sqlite_backend, tmp_path):
    signing = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(signing.public_key()))
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [{**public, "kid": "idp-1"}]}))
    config = crm_config(sqlite_backend.connection)
    config["auth"] = {
        "keys": KEYS,
        "jwt": {"issuer": "https://idp.test", "audience": "lb", "jwks_file": str(tmp_path / "jwks.json")},
    }
    client = make_app(config).test_client()

    def bearer(**claims) -> dict:
        body = {
            "iss": "https://idp.test",
            "aud": "lb",
            "sub": "svc",
            "exp": int(time.time()) + 60,
            "scope": "customers:read",
            **claims,
        }
        return {"Authorization": "Bearer " + jwt.encode(body, signing, "RS256", headers={"kid": "idp-1"})}

    assert client.get("/v1/customers?limit=1", headers=bearer()).status_code == 200
    assert client.get("/v1/order-lines?limit=1", headers=bearer()).status_code == 403
    expired = client.get("/v1/customers", headers=bearer(exp=int(time.time()) - 120))
    assert expired.status_code == 401 and 'error="invalid_token"' in expired.headers["WWW-Authenticate"]
    assert client.get("/v1/customers", headers=bearer(aud="other")).status_code == 401
    assert client.get("/v1/customers?limit=1", headers={"X-API-Key": FULL}).status_code == 200
