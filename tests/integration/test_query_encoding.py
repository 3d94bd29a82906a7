"""A query value that is not UTF-8 once percent-decoded is a 400 ``invalid-query-encoding``
naming its parameter: on the development server (werkzeug) and under gunicorn with the
repository's gunicorn.conf.py alike.  Raw bytes above 0x7F in the request line never reach
the app under gunicorn: gunicorn refuses the request line itself (its own HTML 400).
"""

from __future__ import annotations

import json
import socket
import sys

import pytest
import yaml

from helpers.backends import ROOT, crm_config, make_app
from helpers.servers import HOST, free_port, serve_app, serve_process

PROBLEM = "urn:legacy-bridge:problem:invalid-query-encoding"
# (raw query string, the parameter the problem must name)
UNDECODABLE = [
    (b"name=%FF%FE%C0", "name"),  # the finding: no text, not a silent empty list
    (b"limit=5&state[in]=MA,%E9", "state[in]"),  # latin-1, not UTF-8
    (b"name[startswith]=%C3%28", "name[startswith]"),  # a broken two-byte sequence
    (b"%FF=1", "\\xff"),  # the name itself
    (b"name=caf%C3%A9+%ED%A0%80", "name"),  # an encoded surrogate is not UTF-8 either
]


def _raw_get(url: str, target: bytes) -> tuple[int, str, bytes]:
    """Send ``GET <target>`` byte for byte (no client re-encoding); (status, content type, body)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    if headers.get("Transfer-Encoding") == "chunked":
        body, out = body, b""
        while True:
            size, _, rest = body.partition(b"\r\n")
            if int(size, 16) == 0:
                break
            out, body = out + rest[: int(size, 16)], rest[int(size, 16) + 2 :]
        body = out
    return int(lines[0].split()[1]), headers.get("Content-Type", ""), body


def _assert_names(
    status: int, content_type: str, body: bytes, parameter: str, why: str = "not UTF-8 once percent-decoded"
) -> None:
    assert status == 400, body
    assert content_type == "application/problem+json"
    problem = json.loads(body)
    assert problem["type"] == PROBLEM and problem["parameter"] == parameter
    assert problem["detail"].startswith(f"{parameter}: {why}")


@pytest.fixture(scope="module")
def config(sqlite_backend) -> dict:
    return crm_config(sqlite_backend.connection)


@pytest.mark.parametrize("query, parameter", UNDECODABLE, ids=[q.decode() for q, _ in UNDECODABLE])
def test_the_test_client_names_the_parameter(config, query, parameter):
    app = make_app(config)
    try:
        response = app.test_client().get("/v1/customers", environ_overrides={"QUERY_STRING": query.decode()})
    finally:
        app.extensions["legacy_bridge"].close()
    _assert_names(response.status_code, response.mimetype, response.data, parameter)


def test_utf8_values_still_filter(config):
    app = make_app(config)
    try:
        response = app.test_client().get("/v1/customers?name[contains]=%C3%A9&limit=1")
    finally:
        app.extensions["legacy_bridge"].close()
    assert response.status_code == 200 and response.get_json()["data"] == []


@pytest.fixture(scope="module")
def dev_server(config):
    app = make_app(config)
    with serve_app(app) as server:
        yield server
    app.extensions["legacy_bridge"].close()


@pytest.mark.parametrize("query, parameter", UNDECODABLE, ids=[q.decode() for q, _ in UNDECODABLE])
def test_the_development_server_names_the_parameter(dev_server, query, parameter):
    _assert_names(*_raw_get(dev_server.url, b"/v1/customers?" + query), parameter)


@pytest.mark.parametrize(
    "target, parameter", [(b"/v1/customers?name=\xff\xfe", "name"), (b"/v1/customers?limit=1&name=caf\xc3\xa9", "name")]
)
def test_raw_high_bytes_reach_the_development_server_and_are_refused_too(dev_server, target, parameter):
    # werkzeug would pass them on re-encoded as latin-1 text ("cafÃ©"): refused, named
    _assert_names(*_raw_get(dev_server.url, target), parameter, "bytes above 0x7F must be percent-encoded")


@pytest.fixture(scope="module")
def gunicorn(config, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gunicorn-encoding")
    path = tmp / "legacy-bridge.yaml"
    path.write_text(yaml.safe_dump(config))
    port = free_port()
    argv = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "wsgi:app"]
    env = {
        "LEGACY_BRIDGE_CONFIG": str(path),
        "GUNICORN_BIND": f"{HOST}:{port}",
        "WEB_CONCURRENCY": "1",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp / "metrics"),
    }
    with serve_process(argv, port, tmp / "gunicorn.log", cwd=ROOT, env=env) as server:
        yield server


@pytest.mark.parametrize("query, parameter", UNDECODABLE, ids=[q.decode() for q, _ in UNDECODABLE])
def test_gunicorn_names_the_parameter_in_a_json_problem(gunicorn, query, parameter):
    _assert_names(*_raw_get(gunicorn.url, b"/v1/customers?" + query), parameter)


@pytest.mark.parametrize("target", [b"/v1/customers?name=\xff\xfe", b"/v1/customers?name=caf\xc3\xa9"])
def test_gunicorn_refuses_raw_high_bytes_in_the_request_line_before_the_app(gunicorn, target):
    status, content_type, body = _raw_get(gunicorn.url, target)
    # RFC 3986 has no raw byte above 0x7F in a URI: gunicorn refuses the request line with its
    # own page, and the app (its access log included) never sees the request
    assert (status, content_type) == (400, "text/html")
    assert b"Invalid HTTP request line" in body
    assert "/v1/customers?name=" not in gunicorn.log().split("Invalid HTTP request line")[0][-2000:]
