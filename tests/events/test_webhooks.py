"""Webhooks without a worker: target guard, signatures, backoff, config, the subscription API."""

from __future__ import annotations

import datetime as dt

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from helpers.backends import crm_config, make_app
from legacy_bridge.config import validate
from legacy_bridge.errors import ConfigError
from legacy_bridge.events import outbox
from legacy_bridge.events.state import NewEvent
from legacy_bridge.events.targets import TargetPolicy, TargetRefused, post
from legacy_bridge.events.webhooks import Settings, backoff, new_secret, signed_headers, wants
from legacy_bridge.facades.webhooks import store_of

DEFAULT = TargetPolicy()


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/",
        "http://metadata.google.internal/",
        "http://[::ffff:169.254.169.254]/",
        "http://169.254.1.1:8080/",
        "http://[fe80::1]/",
        "http://127.0.0.1:9/",
        "http://[::1]/",
        "http://0.0.0.0/",
        "http://100.100.100.200/",
        "http://224.0.0.1/",
    ],
)
def test_the_guard_refuses_link_local_metadata_and_loopback_targets(url):
    with pytest.raises(TargetRefused):
        DEFAULT.resolve(url)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/",
        "file:///etc/passwd",
        "gopher://x/",
        "http:///nohost",
        "http://user:pw@10.0.0.1/",
        "javascript:alert(1)",
    ],
)
def test_the_guard_refuses_what_is_not_an_http_url(url):
    with pytest.raises(TargetRefused):
        DEFAULT.check_url(url)


def test_private_networks_are_allowed_by_default():
    assert DEFAULT.check_url("https://10.1.2.3:8443/hook") == ("https", "10.1.2.3", 8443)


def test_allow_networks_lets_loopback_through_but_not_metadata():
    policy = TargetPolicy.from_config(allow_networks=["127.0.0.0/8"])
    assert policy.resolve("http://127.0.0.1:8080/x")[3] == "127.0.0.1"
    with pytest.raises(TargetRefused):
        policy.resolve("http://169.254.169.254/")


def test_allowed_hosts_restrict_the_targets():
    policy = TargetPolicy.from_config(allowed_hosts=["*.example.com", "10.0.0.5"])
    assert policy.check_url("https://hooks.example.com/a")[1] == "hooks.example.com"
    assert policy.check_url("http://10.0.0.5/a")[1] == "10.0.0.5"
    with pytest.raises(TargetRefused, match="allowed_hosts"):
        policy.check_url("https://example.org/a")


def test_a_refused_target_is_an_answer_without_a_status_not_a_request():
    answer = post("http://169.254.169.254/", b"{}", {}, DEFAULT, 1.0)
    assert answer.status is None and not answer.ok and "169.254.169.254" in answer.error


def test_headers_verify_with_the_standardwebhooks_package():
    secret = new_secret()
    body = b'{"type":"customers.updated","data":{"id":1}}'
    headers = signed_headers(secret, "evt_42", body)
    assert Webhook(secret).verify(body, headers) == {"type": "customers.updated", "data": {"id": 1}}
    assert headers["webhook-id"] == "evt_42"
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)


def test_the_signature_covers_the_timestamp_of_the_attempt():
    secret, body = new_secret(), b"{}"
    then = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
    with pytest.raises(Exception, match="too old"):
        Webhook(secret).verify(body, signed_headers(secret, "evt_1", body, then))


def test_backoff_doubles_with_jitter_up_to_the_ceiling():
    settings = Settings(TargetPolicy(), backoff=2.0, max_backoff=60.0)
    assert [backoff(n, settings, lambda: 1.0) for n in range(1, 7)] == [2, 4, 8, 16, 32, 60]
    assert [backoff(n, settings, lambda: 0.0) for n in (1, 2, 10)] == [1, 2, 30]
    assert backoff(500, settings, lambda: 1.0) == 60


def test_event_patterns_match_resource_and_kind():
    assert wants(["customers.updated"], "customers", "updated")
    assert not wants(["customers.updated"], "customers", "created")
    assert wants(["customers.*"], "customers", "deleted") and wants(["*.created"], "orders", "created")
    assert not wants(["orders.*"], "customers", "updated")


def test_webhooks_config_problems_are_reported_with_their_paths():
    with pytest.raises(ConfigError) as info:
        validate(
            {
                "webhooks": {
                    "max_attempts": 0,
                    "allow_networks": ["nope"],
                    "timeout": "30s",
                    "claim_ttl": "10s",
                    "retries": 3,
                }
            }
        )
    paths = {p for p, _ in info.value.problems}
    assert {"webhooks.max_attempts", "webhooks.allow_networks[0]", "webhooks.claim_ttl", "webhooks.retries"} <= paths


# -- the API, on an in-memory state store ------------------------------------------------


@pytest.fixture
def api(sqlite_backend):
    config = crm_config(sqlite_backend.connection)
    config["webhooks"] = {"allow_networks": ["127.0.0.0/8"]}
    config["resources"]["customers"]["changes"] = True  # webhooks carry change events
    app = make_app(config)
    yield app, app.test_client()
    app.extensions["legacy_bridge"].close()


def test_a_subscription_shows_its_secret_once(api):
    app, client = api
    created = client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "events": ["customers.*"]})
    assert created.status_code == 201
    body = created.get_json()
    assert body["secret"].startswith("whsec_") and created.headers["Location"].endswith(body["id"])
    shown = client.get(f"/v1/webhooks/{body['id']}").get_json()
    assert "secret" not in shown and shown["events"] == ["customers.*"]
    listed = client.get("/v1/webhooks").get_json()["data"]
    assert [s["id"] for s in listed] == [body["id"]] and "secret" not in listed[0]


@pytest.mark.parametrize(
    "payload, parameter",
    [
        ({"url": "http://169.254.169.254/x", "events": ["customers.*"]}, "url"),
        ({"url": "http://metadata.google.internal/x", "events": ["customers.*"]}, "url"),
        ({"url": "ftp://127.0.0.1/x", "events": ["customers.*"]}, "url"),
        ({"url": "http://127.0.0.1:9/x", "events": ["nosuch.created"]}, "events"),
        ({"url": "http://127.0.0.1:9/x", "events": ["customers.renamed"]}, "events"),
        ({"url": "http://127.0.0.1:9/x", "events": []}, "events"),
        ({"url": "http://127.0.0.1:9/x", "events": ["customers.*"], "secret": "mine"}, "secret"),
    ],
)
def test_bad_subscriptions_are_400_problems_naming_the_member(api, payload, parameter):
    response = api[1].post("/v1/webhooks", json=payload)
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    assert response.get_json()["parameter"] == parameter


def test_unsubscribing_removes_it(api):
    client = api[1]
    sub = client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/h", "events": ["*.*"]}).get_json()
    assert client.delete(f"/v1/webhooks/{sub['id']}").status_code == 204
    assert client.get(f"/v1/webhooks/{sub['id']}").status_code == 404
    assert client.delete(f"/v1/webhooks/{sub['id']}").status_code == 404


def test_deliveries_list_and_a_pending_one_cannot_be_redelivered(api):
    app, client = api
    sub = client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/h", "events": ["customers.updated"]}).get_json()
    store = store_of(app)
    with store.begin() as conn:
        store.append_events(
            conn,
            [NewEvent("customers", "updated", {"id": n}, {"id": n}) for n in (1, 2)]
            + [NewEvent("customers", "created", {"id": 3}, {"id": 3})],
        )
    assert outbox.fan_out(store) == 2  # the created event is not subscribed
    rows = client.get(f"/v1/webhooks/{sub['id']}/deliveries").get_json()["data"]
    assert [r["status"] for r in rows] == ["pending", "pending"] and rows[0]["id"] > rows[1]["id"]
    page = client.get(f"/v1/webhooks/{sub['id']}/deliveries?limit=1").get_json()
    assert len(page["data"]) == 1 and page["next_before"] == rows[0]["id"]
    again = client.post(f"/v1/webhooks/{sub['id']}/deliveries/{rows[0]['id']}/redeliver")
    assert again.status_code == 409
    assert client.post(f"/v1/webhooks/{sub['id']}/deliveries/999999/redeliver").status_code == 404
    assert client.get(f"/v1/webhooks/{sub['id']}/deliveries?status=lost").status_code == 400


def test_the_openapi_document_describes_the_webhook_routes_and_stays_valid(api):
    from openapi_spec_validator import validate as validate_openapi

    document = api[1].get("/openapi.json").get_json()
    validate_openapi(document)
    paths = document["paths"]
    assert {"post", "get"} <= set(paths["/v1/webhooks"])
    assert "post" in paths["/v1/webhooks/{id}/deliveries/{delivery}/redeliver"]
    assert "secret" in document["components"]["schemas"]["WebhookSubscription"]["properties"]


@pytest.mark.parametrize("method, suffix", [("get", ""), ("post", "/redeliver")])
def test_a_delivery_id_past_64_bits_is_not_found_not_a_server_error(api, method, suffix):
    app, client = api
    sub = client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "events": ["customers.*"]}).get_json()
    for delivery in (1 << 63, 10**30):
        response = getattr(client, method)(f"/v1/webhooks/{sub['id']}/deliveries/{delivery}{suffix}")
        assert response.status_code == 404 and response.mimetype == "application/problem+json"


def test_before_past_64_bits_is_refused_naming_it(api):
    app, client = api
    sub = client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "events": ["customers.*"]}).get_json()
    response = client.get(f"/v1/webhooks/{sub['id']}/deliveries?before={1 << 63}")
    assert response.status_code == 400 and response.get_json()["parameter"] == "before"
    assert client.get(f"/v1/webhooks/{sub['id']}/deliveries?before={(1 << 63) - 1}").status_code == 200
