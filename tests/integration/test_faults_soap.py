"""A SOAP source that hangs or fails: 504 within its timeout + 1 s, then an open
breaker answers 503 at once, while another source keeps serving; reads are retried
and writes are not (counted at the server); the caller's trace reaches the server."""

from __future__ import annotations

import io
import threading
import time
from contextlib import contextmanager

import pytest
from werkzeug.serving import make_server

from helpers.backends import crm_config, make_app
from helpers.servers import HOST, hanging_server
from legacy_bridge.demo.tms_config import tms_config
from legacy_bridge.demo.tms_simulator import TmsSimulator

TIMEOUT = 2.0  # generous: a loaded CI machine must not turn the WSDL load into a timeout
SHIPMENT = {"carrier": "DHLX", "weight_kg": "12.50", "pieces": 3, "consignee_name": "ACME"}


class Recorder:
    """WSGI middleware before the simulator: counts SOAP calls by operation, keeps
    their ``traceparent`` headers, and answers 503 to every call while ``failing``."""

    def __init__(self, app) -> None:
        self.app = app
        self.calls: list[tuple[str, str | None]] = []
        self.failing = False

    def __call__(self, environ, start_response):
        if environ["REQUEST_METHOD"] == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length)
            operation = next(
                (
                    op
                    for op in ("GetShipment", "ListShipments", "CreateShipment")
                    if f":{op}".encode() in body or f"<{op}".encode() in body
                ),
                "?",
            )
            self.calls.append((operation, environ.get("HTTP_TRACEPARENT")))
            if self.failing:
                start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
                return [b"down for maintenance"]
            environ["wsgi.input"] = io.BytesIO(body)
        return self.app(environ, start_response)

    def count(self, operation: str) -> int:
        return sum(1 for op, _ in self.calls if op == operation)


@contextmanager
def serve_wsgi(app):
    server = make_server(HOST, 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.fixture(scope="module")
def recorder():
    rec = Recorder(TmsSimulator().wsgi())
    with serve_wsgi(rec) as url:
        rec.url = url
        yield rec


def _app(sqlite_connection: str, tms_url: str, **source):
    config = crm_config(sqlite_connection)
    extra = tms_config(tms_url, **source)
    config["sources"].update(extra["sources"])
    config["resources"].update(extra["resources"])
    return make_app(config)


def test_a_hanging_soap_server_is_a_504_in_time_then_its_breaker_answers_503_at_once(recorder, sqlite_backend):
    with hanging_server() as address:
        app = _app(
            sqlite_backend.connection,
            recorder.url,
            address=address,
            timeout=TIMEOUT,
            breaker={"failures": 2, "cooldown": "10s"},
        )
        other, stop = [], threading.Event()

        def keep_reading_crm():
            client = app.test_client()
            while not stop.is_set():
                started = time.monotonic()
                status = client.get("/v1/customers?limit=3").status_code
                other.append((status, time.monotonic() - started))

        thread = threading.Thread(target=keep_reading_crm)
        thread.start()
        try:
            client = app.test_client()
            for path in ("/v1/shipments/TMS000001", "/v1/shipments?limit=5"):
                started = time.monotonic()
                response = client.get(path)
                took = time.monotonic() - started
                assert response.status_code == 504 and response.get_json()["source"] == "tms"
                assert took < TIMEOUT + 1, f"{path} took {took:.2f}s"  # a timeout is not retried
            started = time.monotonic()
            response = client.get("/v1/shipments/TMS000002")
            took = time.monotonic() - started
            ready = client.get("/readyz").get_json()
        finally:
            stop.set()
            thread.join(10)
            app.extensions["legacy_bridge"].close()
    assert response.status_code == 503 and took < TIMEOUT / 2  # refused at once, not tried
    assert response.mimetype == "application/problem+json" and response.get_json()["breaker"] == "open"
    assert 8 <= int(response.headers["Retry-After"]) <= 10
    assert ready["sources"]["tms"]["breaker"] == "open" and ready["sources"]["crm"]["status"] == "ok"
    # the SQLite source answered throughout, never waiting on the hung one
    assert len(other) > 10 and all(status == 200 for status, _ in other)
    assert max(took for _, took in other) < TIMEOUT


def test_reads_are_retried_while_the_source_is_down_and_a_create_is_not(recorder, sqlite_backend):
    app = _app(
        sqlite_backend.connection, recorder.url, retries={"attempts": 3, "backoff": "10ms"}, breaker={"failures": 50}
    )
    client = app.test_client()
    try:
        assert client.get("/v1/shipments/TMS000001").status_code == 200  # WSDL loaded, service up
        recorder.calls.clear()
        recorder.failing = True
        got = client.get("/v1/shipments/TMS000001")
        listed = client.get("/v1/shipments?limit=5")
        created = client.post("/v1/shipments", json=SHIPMENT)
    finally:
        recorder.failing = False
        app.extensions["legacy_bridge"].close()
    assert (got.status_code, listed.status_code, created.status_code) == (503, 503, 503)
    assert recorder.count("GetShipment") == 3
    assert recorder.count("ListShipments") == 3
    assert recorder.count("CreateShipment") == 1


def test_a_read_succeeds_when_the_source_comes_back_between_attempts(recorder, sqlite_backend):
    app = _app(sqlite_backend.connection, recorder.url, retries={"attempts": 3, "backoff": "300ms"})
    client = app.test_client()
    try:
        client.get("/v1/shipments/TMS000001")
        recorder.calls.clear()
        recorder.failing = True
        threading.Timer(0.15, lambda: setattr(recorder, "failing", False)).start()
        response = client.get("/v1/shipments/TMS000003")
    finally:
        recorder.failing = False
        app.extensions["legacy_bridge"].close()
    assert response.status_code == 200 and response.get_json()["shipment_no"] == "TMS000003"
    assert recorder.count("GetShipment") == 2


def test_the_callers_trace_reaches_the_soap_server_with_this_service_as_parent(recorder, sqlite_backend):
    app = _app(sqlite_backend.connection, recorder.url)
    client = app.test_client()
    trace, parent = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
    try:
        recorder.calls.clear()
        response = client.get("/v1/shipments/TMS000001", headers={"traceparent": f"00-{trace}-{parent}-01"})
        ((_, sent),) = recorder.calls
        recorder.calls.clear()
        fresh = client.get("/v1/shipments/TMS000002", headers={"traceparent": "not-a-trace"})
        ((_, sent_fresh),) = recorder.calls
    finally:
        app.extensions["legacy_bridge"].close()
    echoed = response.headers["traceparent"]
    assert sent == echoed  # the span the server saw is ours
    version, trace_id, span, flags = sent.split("-")
    assert (version, trace_id, flags) == ("00", trace, "01") and span != parent and len(span) == 16
    # an invalid traceparent starts a new trace, passed on all the same
    assert sent_fresh == fresh.headers["traceparent"] and trace not in sent_fresh
    assert len(sent_fresh.split("-")[1]) == 32
