"""The SOAP driver's own HTTP (drivers/soap_http.py): calls go over the source's
urllib3 pool without requests in the way, yet a proxy named by the environment is
still used, as plain zeep would use it."""
from __future__ import annotations

import urllib.request

import pytest

from conftest import make_app
from helpers_server import serve_app
from legacy_bridge.tms_simulator import TmsSimulator, serve, tms_config


@pytest.fixture(scope="module")
def tms():
    with serve(TmsSimulator()) as url:
        yield url


@pytest.fixture
def no_proxy_settings(monkeypatch):
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy",
                 "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _app(config: dict):
    return make_app({"service": {"secret": "s"}, **config})


def test_calls_go_through_the_sources_own_pool_not_requests(tms, no_proxy_settings):
    app = _app(tms_config(tms))
    client = app.test_client()
    for number in range(1, 6):
        assert client.get(f"/v1/shipments/TMS00000{number}").status_code == 200
    transport = app.extensions["legacy_bridge"].drivers["tms"].driver.transport
    pool = transport._pools.connection_from_url(f"{tms}/soap11")
    assert pool.num_requests == 5


def test_a_proxy_named_by_the_environment_carries_the_calls(tms, no_proxy_settings, tmp_path):
    seen = []

    def proxy(environ, start_response):
        seen.append((environ["REQUEST_METHOD"], environ.get("REQUEST_URI")))
        start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
        return [b"proxy says no"]

    wsdl = tmp_path / "tms.wsdl"            # a file: the WSDL itself is not fetched through the proxy
    wsdl.write_bytes(urllib.request.urlopen(f"{tms}/soap11?wsdl", timeout=5).read())
    config = tms_config(tms)
    config["sources"]["tms"]["wsdl"] = str(wsdl)
    with serve_app(proxy, ready_path="/") as server:
        no_proxy_settings.setenv("HTTP_PROXY", server.url)
        no_proxy_settings.setenv("http_proxy", server.url)
        seen.clear()
        response = _app(config).test_client().get("/v1/shipments/TMS000001")
    assert response.status_code == 503 and response.get_json()["legacy_code"] == "HTTP 503"
    # the absolute URI a proxy is sent (a read is retried once, so maybe twice)
    assert seen and set(seen) == {("POST", f"{tms}/soap11")}
