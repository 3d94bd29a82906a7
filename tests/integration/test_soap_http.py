"""The SOAP driver's own HTTP (drivers/soap_http.py): calls go over the source's
urllib3 pool without requests in the way, yet a proxy named by the environment is
still used, as plain zeep would use it, and HTTPS is verified against the same CA
bundle as requests would use."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import threading
import urllib.request
from contextlib import contextmanager

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from werkzeug.serving import make_server

from helpers.backends import make_app
from helpers.servers import HOST, serve_app
from legacy_bridge.demo.tms_config import tms_config
from legacy_bridge.demo.tms_simulator import TmsSimulator, serve


@pytest.fixture(scope="module")
def tms():
    with serve(TmsSimulator()) as url:
        yield url


@pytest.fixture
def no_proxy_settings(monkeypatch):
    """No proxy and no CA bundle from the machine's environment; tests set their own."""
    for name in (
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
    ):
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


def test_a_service_that_moved_is_followed_as_zeep_would(tms, no_proxy_settings):
    def moved(environ, start_response):
        start_response("307 Temporary Redirect", [("Location", f"{tms}{environ['PATH_INFO']}")])
        return [b""]

    with serve_app(moved, ready_path="/") as server:
        response = _app(tms_config(tms, address=f"{server.url}/soap11")).test_client().get("/v1/shipments/TMS000003")
    assert response.status_code == 200 and response.get_json()["shipment_no"] == "TMS000003"


def test_a_proxy_named_by_the_environment_carries_the_calls(tms, no_proxy_settings, tmp_path):
    seen = []

    def proxy(environ, start_response):
        seen.append((environ["REQUEST_METHOD"], environ.get("REQUEST_URI")))
        start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
        return [b"proxy says no"]

    wsdl = tmp_path / "tms.wsdl"  # a file: the WSDL itself is not fetched through the proxy
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


def _certificate(name: str, key, issuer_name: x509.Name, issuer_key, ca: bool) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST))]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


@contextmanager
def https_tms(tmp_path):
    """The TMS simulator over HTTPS with a certificate from a test CA; yields (URL, CA file)."""
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "legacy-bridge test CA")])
    ca = _certificate("legacy-bridge test CA", ca_key, ca_name, ca_key, ca=True)
    leaf = _certificate(HOST, key, ca_name, ca_key, ca=False)
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "tms.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "tms.key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "tms.pem", tmp_path / "tms.key")
    httpd = make_server(HOST, 0, TmsSimulator().wsgi(), threaded=True, ssl_context=context)
    thread = threading.Thread(target=httpd.serve_forever, name="tms-https", daemon=True)
    thread.start()
    try:
        yield f"https://{HOST}:{httpd.server_port}", tmp_path / "ca.pem"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)


def test_https_calls_trust_the_ca_bundle_of_the_environment_and_nothing_else(tmp_path, no_proxy_settings):
    with https_tms(tmp_path) as (url, ca):
        wsdl = tmp_path / "tms.wsdl"  # a file: only the calls go over HTTPS
        wsdl.write_bytes(
            urllib.request.urlopen(
                f"{url}/soap11?wsdl", timeout=5, context=ssl.create_default_context(cafile=ca)
            ).read()
        )
        config = tms_config(url)
        config["sources"]["tms"]["wsdl"] = str(wsdl)
        untrusted = _app(config).test_client().get("/v1/shipments/TMS000001")
        no_proxy_settings.setenv("REQUESTS_CA_BUNDLE", str(ca))
        app = _app(config)
        trusted = app.test_client().get("/v1/shipments/TMS000001")
    assert untrusted.status_code == 503  # certifi does not know the test CA
    assert trusted.status_code == 200 and trusted.get_json()["shipment_no"] == "TMS000001"
    transport = app.extensions["legacy_bridge"].drivers["tms"].driver.transport
    assert transport._pools.connection_from_url(f"{url}/soap11").num_requests == 1
