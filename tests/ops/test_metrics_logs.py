"""The JSON access line ops read beside the metrics: route, source, key id, trace id;
and the W3C ``traceparent`` accepted, generated when absent or invalid, echoed."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest

from helpers.backends import crm_config, make_app
from legacy_bridge.demo.tms_config import tms_config
from legacy_bridge.demo.tms_simulator import TmsSimulator, serve
from legacy_bridge.ops import logs

TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")


@pytest.fixture(scope="module")
def client(sqlite_backend):
    app = make_app(crm_config(sqlite_backend.connection))
    yield app.test_client()
    app.extensions["legacy_bridge"].close()


@pytest.fixture
def access_lines():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    logs.access_log.addHandler(handler)
    level = logs.access_log.level
    logs.access_log.setLevel(logging.INFO)  # whatever LEGACY_BRIDGE_LOG_LEVEL says
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines() if line]
    finally:
        logs.access_log.setLevel(level)
        logs.access_log.removeHandler(handler)


def test_access_lines_name_the_route_the_source_and_the_trace(client, access_lines):
    listed = client.get("/v1/customers?limit=1")
    client.get("/v1/order-lines/1,1")
    client.get("/healthz")
    first, second, third = access_lines()
    assert (first["route"], first["source"]) == ("/v1/customers", "crm")
    assert (second["route"], second["source"]) == ("/v1/order-lines/<path:key>", "crm")
    assert (third["route"], third["source"]) == ("/healthz", None)
    assert first["trace_id"] == TRACEPARENT.fullmatch(listed.headers["traceparent"]).group(1)
    assert "key_id" in first and first["key_id"] is None  # no auth configured: no key


def test_a_valid_traceparent_keeps_its_trace_and_flags_and_gets_this_service_as_parent(client):
    trace, parent = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
    echoed = client.get("/healthz", headers={"traceparent": f"00-{trace}-{parent}-01"}).headers["traceparent"]
    match = TRACEPARENT.fullmatch(echoed)
    assert match and match.group(1) == trace and match.group(3) == "01" and match.group(2) != parent


@pytest.mark.parametrize(
    "given",
    [
        "",
        "garbage",
        "00-" + "0" * 32 + "-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-" + "0" * 16 + "-01",
        "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
    ],
    ids=["absent", "garbage", "zero-trace", "zero-parent", "version-ff", "upper-case", "v00-with-extra"],
)
def test_an_absent_or_invalid_traceparent_starts_a_new_trace(client, given):
    headers = {"traceparent": given} if given else {}
    match = TRACEPARENT.fullmatch(client.get("/healthz", headers=headers).headers["traceparent"])
    assert match and match.group(1) != "0af7651916cd43dd8448eb211c80319c" and match.group(1) != "0" * 32


def test_a_later_traceparent_version_is_read_by_its_first_four_fields(client):
    trace = "0af7651916cd43dd8448eb211c80319c"
    echoed = client.get("/healthz", headers={"traceparent": f"01-{trace}-b7ad6b7169203331-01-more"})
    assert TRACEPARENT.fullmatch(echoed.headers["traceparent"]).group(1) == trace


def test_a_body_over_service_max_body_is_a_413_problem_and_one_under_it_is_read():
    with serve(TmsSimulator()) as url:
        app = make_app({"service": {"secret": "s", "max_body": "1KiB"}, **tms_config(url)})
        client = app.test_client()
        try:
            shipment = {"carrier": "DHLX", "weight_kg": "1.00", "pieces": 1, "consignee_name": "ACME"}
            padded = json.dumps(shipment) + " " * 2048
            over = client.post("/v1/shipments", data=padded, content_type="application/json")
            under = client.post("/v1/shipments", json=shipment)
        finally:
            app.extensions["legacy_bridge"].close()
    assert over.status_code == 413 and over.mimetype == "application/problem+json"
    assert under.status_code == 201
