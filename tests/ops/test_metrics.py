"""Prometheus metrics after a known sequence of requests, read from ``/metrics``.

Metrics live for the whole process (as in a worker), so each test compares a scrape
taken after its requests with one taken before them.
"""

from __future__ import annotations

import pytest

from helpers.backends import crm_config, make_app
from helpers.metrics import scrape, value
from helpers.servers import free_port


@pytest.fixture(scope="module")
def app(sqlite_backend):
    app = make_app(crm_config(sqlite_backend.connection))
    yield app
    app.extensions["legacy_bridge"].close()


def test_requests_are_counted_by_route_method_and_status(app):
    client = app.test_client()
    before = scrape(client)
    for _ in range(3):
        assert client.get("/v1/customers?limit=2").status_code == 200
    assert client.get("/v1/customers/1").status_code == 200
    assert client.get("/v1/customers/99999").status_code == 404
    assert client.get("/v1/customers?sort=nope").status_code == 400
    assert client.get("/no/such/route").status_code == 404
    after = scrape(client)
    delta = lambda name, **labels: value(after, name, **labels) - value(before, name, **labels)  # noqa: E731
    total = "legacy_bridge_http_requests_total"
    assert delta(total, route="/v1/customers", method="GET", status="200") == 3
    assert delta(total, route="/v1/customers", method="GET", status="400") == 1
    assert delta(total, route="/v1/customers/<path:key>", method="GET", status="200") == 1
    assert delta(total, route="/v1/customers/<path:key>", method="GET", status="404") == 1
    assert delta(total, route="<unmatched>", method="GET", status="404") == 1  # no label per bad URL
    assert delta(total, route="/metrics", method="GET", status="200") == 1  # the first scrape
    seconds = "legacy_bridge_http_request_duration_seconds"
    assert delta(seconds + "_count", route="/v1/customers", method="GET") == 4
    assert delta(seconds + "_bucket", route="/v1/customers", method="GET", le="+Inf") == 4
    assert delta(seconds + "_sum", route="/v1/customers", method="GET") > 0


def test_source_calls_are_timed_by_operation_and_pool_usage_is_reported(app):
    client = app.test_client()
    before = scrape(client)
    client.get("/v1/customers?limit=2")
    client.get("/v1/order-lines?limit=2")
    client.get("/v1/customers/3")
    client.get("/readyz")
    after = scrape(client)
    delta = lambda name, **labels: value(after, name, **labels) - value(before, name, **labels)  # noqa: E731
    calls = "legacy_bridge_source_call_duration_seconds_count"
    assert delta(calls, source="crm", operation="fetch") == 2
    assert delta(calls, source="crm", operation="get") == 1
    assert delta(calls, source="crm", operation="probe") == 1
    assert value(after, "legacy_bridge_pool_size", source="crm") == 5
    assert value(after, "legacy_bridge_pool_connections_in_use", source="crm") == 0  # all returned
    assert value(after, "legacy_bridge_breaker_state", source="crm") == 0


def test_a_failing_source_shows_errors_retries_an_open_breaker_and_refusals():
    dead = f"Driver={{PostgreSQL Unicode}};Server=127.0.0.1;Port={free_port()};Database=test;Uid=postgres"
    config = crm_config(dead, retries={"attempts": 2, "backoff": "10ms"}, breaker={"failures": 2, "cooldown": "30s"})
    config["sources"]["metrics_dead"] = config["sources"].pop("crm")  # a source name no other test uses
    for resource in config["resources"].values():
        resource["source"] = "metrics_dead"
    app = make_app(config)
    client = app.test_client()
    try:
        before = scrape(client)
        statuses = [client.get("/v1/customers").status_code for _ in range(4)]
        after = scrape(client)
    finally:
        app.extensions["legacy_bridge"].close()
    assert statuses == [503] * 4
    delta = lambda name, **labels: value(after, name, **labels) - value(before, name, **labels)  # noqa: E731
    # two calls fail (each tried twice), then the breaker is open and refuses two
    assert (
        delta("legacy_bridge_source_errors_total", source="metrics_dead", operation="fetch", error="source-unavailable")
        == 2
    )
    assert delta("legacy_bridge_source_retries_total", source="metrics_dead") == 2
    assert delta("legacy_bridge_source_rejected_total", source="metrics_dead") == 2
    assert value(after, "legacy_bridge_breaker_state", source="metrics_dead") == 2
    assert delta("legacy_bridge_http_requests_total", route="/v1/customers", method="GET", status="503") == 4


def test_with_metrics_off_nothing_is_served_or_counted(app, sqlite_backend):
    config = crm_config(sqlite_backend.connection)
    config["service"]["metrics"] = False
    config["sources"]["metrics_off"] = config["sources"].pop("crm")
    for resource in config["resources"].values():
        resource["source"] = "metrics_off"
    quiet = make_app(config)
    before = scrape(app.test_client())
    try:
        assert quiet.test_client().get("/v1/customers?limit=1").status_code == 200
        assert quiet.test_client().get("/metrics").status_code == 404
    finally:
        quiet.extensions["legacy_bridge"].close()
    after = scrape(app.test_client())
    total = ("legacy_bridge_http_requests_total", (("method", "GET"), ("route", "/v1/customers"), ("status", "200")))
    assert after.get(total, 0) == before.get(total, 0)
    assert not [k for k in after if ("source", "metrics_off") in k[1]]
