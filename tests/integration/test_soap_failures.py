"""A SOAP source failing every way it can, each degrading only its own resources:
a server that hangs (504), one that is down (503), a WSDL that will not load, an
unmapped fault (502); and the credentials the server must receive."""

from __future__ import annotations

import time

import pytest
import yaml
from click.testing import CliRunner

from helpers.backends import make_app
from helpers.servers import HOST, free_port, hanging_server
from legacy_bridge.cli import main
from legacy_bridge.demo.tms_config import tms_config
from legacy_bridge.demo.tms_simulator import TmsSimulator, serve

TIMEOUT = 2.0  # generous: a loaded CI machine must not turn the WSDL load into a timeout


@pytest.fixture(scope="module")
def tms():
    with serve(TmsSimulator()) as url:
        yield url


def _app(url: str, **source):
    return make_app({"service": {"secret": "s", "readiness_timeout": 1}, **tms_config(url, **source)})


def test_a_server_that_hangs_is_a_504_within_the_timeout_plus_one_second(tms):
    with hanging_server() as address:
        app = _app(tms, address=address, timeout=TIMEOUT)
        started = time.monotonic()
        body = app.test_client().get("/v1/shipments/TMS000001").get_json()
        took = time.monotonic() - started
    assert body["status"] == 504 and body["source"] == "tms"
    assert took < TIMEOUT + 1


def test_a_server_that_is_down_is_a_503_with_retry_after(tms):
    app = _app(tms, address=f"http://{HOST}:{free_port()}/soap11")
    response = app.test_client().get("/v1/shipments/TMS000001")
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    ready = app.test_client().get("/readyz").get_json()
    assert ready["sources"]["tms"]["status"] == "failing"


def test_a_wsdl_that_fails_to_load_disables_only_its_own_resources(tms, tmp_path):
    config = {"service": {"secret": "s", "readiness_timeout": 1}, **tms_config(tms)}
    broken = tms_config(f"http://{HOST}:{free_port()}")
    config["sources"]["old"] = broken["sources"]["tms"]
    config["resources"]["old-shipments"] = {**broken["resources"]["shipments"], "source": "old"}
    client = make_app(config).test_client()
    response = client.get("/v1/old-shipments/TMS000001")
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert "WSDL" in response.get_json()["detail"]
    assert client.get("/v1/shipments/TMS000001").status_code == 200
    ready = client.get("/readyz").get_json()
    assert ready["sources"]["old"] == {"status": "failing", "error": "source-unavailable", "legacy_code": "wsdl"}
    assert ready["sources"]["tms"]["status"] == "ok"
    assert "/v1/old-shipments/{shipment_no}" in client.get("/openapi.json").get_json()["paths"]
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    result = CliRunner().invoke(main, ["check", "--config", str(path)])
    assert result.exit_code == 1
    assert "old" in result.output and "WSDL" in result.output
    assert "shipments" in result.output


def test_ws_security_username_token_and_timestamp_reach_the_server():
    simulator = TmsSimulator(username="tms-user", password="s3cret")
    with serve(simulator) as url:
        good = _app(url, wsse={"username": "tms-user", "password": "s3cret", "timestamp": 60})
        assert good.test_client().get("/v1/shipments/TMS000002").status_code == 200
        received = simulator.received[-1]
        assert (received["username"], received["password"]) == ("tms-user", "s3cret")
        assert received["created"] and received["expires"] > received["created"]
        bad = _app(url, wsse={"username": "tms-user", "password": "wrong"})
        body = bad.test_client().get("/v1/shipments/TMS000002").get_json()
    assert body["status"] == 502  # a fault no resource maps: 502
    assert body["fault_code"] == "Client.Authentication"
    assert "wrong" not in str(body)


def test_http_basic_auth_is_sent_for_the_wsdl_and_the_calls():
    with serve(TmsSimulator(basic=("integrator", "pw"))) as url:
        good = _app(url, basic_auth={"username": "integrator", "password": "pw"})
        assert good.test_client().get("/v1/shipments/TMS000002").status_code == 200
        # the WSDL is parsed once per process, so without credentials it is the call that fails
        body = _app(url).test_client().get("/v1/shipments/TMS000002").get_json()
    assert body["status"] == 502 and body["legacy_code"] == "HTTP 401"
