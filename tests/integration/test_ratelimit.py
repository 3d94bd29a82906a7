"""Rate limits per key and per resource, in memory and in Redis (127.0.0.1:6379): a 429
problem with Retry-After past the limit, other keys and resources unaffected, and Redis
counters shared by every app that points at it (several workers or hosts)."""

from __future__ import annotations

import uuid

import pytest
import redis

from helpers.backends import crm_config, make_app, unavailable
from legacy_bridge.security.scopes import hash_key, new_key

REDIS = "redis://127.0.0.1:6379/0"
ETL, OTHER = new_key(), new_key()
KEYS = [
    {"id": "etl", "hash": hash_key(ETL), "scopes": ["*:read"]},
    {"id": "other", "hash": hash_key(OTHER), "scopes": ["*:read"]},
]


def _redis_problem() -> str | None:
    try:
        redis.Redis.from_url(REDIS, socket_connect_timeout=1).ping()
        return None
    except redis.RedisError as exc:
        return f"Redis is not reachable at {REDIS}: {exc}"


@pytest.fixture(params=["memory://", REDIS])
def storage(request):
    if request.param == REDIS and (problem := _redis_problem()):
        unavailable(problem, "CI needs Redis")
    return request.param


def limited_app(connection: str, storage: str, prefix: str | None = None, auth: bool = True, **limits):
    config = crm_config(connection)
    if auth:
        config["auth"] = {"keys": KEYS}
    config["rate_limits"] = {"storage_uri": storage, "key_prefix": prefix or f"lb-test-{uuid.uuid4().hex}", **limits}
    return make_app(config)


def get(client, path: str, key: str = ETL):
    return client.get(path, headers={"X-API-Key": key})


def assert_limited(response) -> None:
    assert response.status_code == 429
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["type"] == "urn:legacy-bridge:problem:rate-limited"
    assert 1 <= int(response.headers["Retry-After"]) <= 61


def test_a_resource_limit_counts_per_key_and_per_resource(sqlite_backend, storage):
    client = limited_app(sqlite_backend.connection, storage, resources={"customers": "3/minute"}).test_client()
    assert [get(client, f"/v1/customers/{n}").status_code for n in (1, 2)] == [200, 200]
    assert get(client, "/v1/customers?limit=1").status_code == 200  # list and get share the count
    assert_limited(get(client, "/v1/customers/3"))
    assert get(client, "/v1/order-lines?limit=1").status_code == 200  # another resource
    assert get(client, "/v1/customers/1", OTHER).status_code == 200  # another key


def test_a_key_limit_counts_across_resources_and_may_be_set_per_key(sqlite_backend, storage):
    client = limited_app(
        sqlite_backend.connection, storage, default="2/minute", keys={"other": "4/minute"}
    ).test_client()
    assert get(client, "/v1/customers/1").status_code == 200
    assert get(client, "/v1/order-lines?limit=1").status_code == 200
    assert_limited(get(client, "/v1/active-customers?limit=1"))
    assert [get(client, "/v1/customers/1", OTHER).status_code for _ in range(5)] == [200] * 4 + [429]


def test_public_routes_are_not_limited(sqlite_backend, storage):
    client = limited_app(sqlite_backend.connection, storage, default="1/minute").test_client()
    assert {client.get("/healthz").status_code for _ in range(5)} == {200}
    assert {client.get("/openapi.json").status_code for _ in range(3)} == {200}


def test_without_auth_the_client_address_is_limited(sqlite_backend, storage):
    client = limited_app(sqlite_backend.connection, storage, auth=False, default="2/minute").test_client()
    assert [client.get("/v1/customers/1").status_code for _ in range(3)] == [200, 200, 429]
    other = client.get("/v1/customers/1", environ_base={"REMOTE_ADDR": "127.0.0.2"})
    assert other.status_code == 200


def test_redis_counters_are_shared_by_every_app_that_uses_them(sqlite_backend):
    if problem := _redis_problem():
        unavailable(problem)
    prefix = f"lb-test-{uuid.uuid4().hex}"
    first, second = (
        limited_app(sqlite_backend.connection, REDIS, prefix, resources={"customers": "3/minute"}).test_client()
        for _ in range(2)
    )
    assert [get(first, "/v1/customers/1").status_code for _ in range(2)] == [200, 200]
    assert get(second, "/v1/customers/1").status_code == 200
    assert_limited(get(second, "/v1/customers/1"))
    assert_limited(get(first, "/v1/customers/1"))


def test_the_openapi_document_declares_429_on_limited_operations(sqlite_backend):
    client = limited_app(sqlite_backend.connection, "memory://", default="100/second").test_client()
    document = client.get("/openapi.json").get_json()
    assert "429" in document["paths"]["/v1/customers"]["get"]["responses"]
    assert "429" not in document["paths"]["/healthz"]["get"]["responses"]
