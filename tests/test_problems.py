"""Every error is application/problem+json (RFC 9457); nothing internal reaches a client."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pyodbc
import pytest

from helpers.backends import crm_config, make_app
from legacy_bridge import errors as errors_module
from legacy_bridge.drivers.odbc.driver import OdbcDriver
from legacy_bridge.errors import (
    ConfigError,
    InvalidInput,
    LegacyBridgeError,
    NotFound,
    SourceError,
    SourceTimeout,
    SourceUnavailable,
)
from legacy_bridge.problems import STATUS_AND_TITLE, body_of, status_of

PROBLEM = "urn:legacy-bridge:problem:"
SECRET = "PWD=hunter2"


@pytest.fixture(scope="module")
def app(sqlite_backend):
    app = make_app(crm_config(sqlite_backend.connection))
    yield app
    app.extensions["legacy_bridge"].close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def app_log(caplog):
    """The service's own log (its logger does not propagate to the root)."""
    logger = logging.getLogger("legacy_bridge")
    logger.addHandler(caplog.handler)
    yield caplog
    logger.removeHandler(caplog.handler)


def problem_of(response, status: int, slug: str) -> dict:
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    body = json.loads(response.get_data(as_text=True))
    assert body["type"] == PROBLEM + slug
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["instance"] == response.request.path
    return body


def test_a_bad_parameter_is_a_400_problem_naming_it(client):
    body = problem_of(client.get("/v1/customers?nope=1"), 400, "unknown-field")
    assert body["title"] == "Invalid parameter"
    assert body["parameter"] == "nope"
    assert "unknown field 'nope'" in body["detail"]


def test_an_unknown_route_is_a_404_problem(client):
    body = problem_of(client.get("/v1/no-such-resource"), 404, "not-found")
    assert body["title"] == "Not Found"


def test_an_unknown_record_is_a_404_problem_naming_the_resource(client):
    body = problem_of(client.get("/v1/customers/999999"), 404, "not-found")
    assert body["resource"] == "customers" and "999999" in body["detail"]


def test_a_wrong_method_is_a_405_problem_with_allow(client):
    response = client.post("/v1/customers", json={"id": 1})
    body = problem_of(response, 405, "method-not-allowed")
    assert body["title"] == "Method Not Allowed"
    assert "GET" in response.headers["Allow"]  # RFC 9110: a 405 lists the allowed methods


def test_an_unexpected_exception_is_a_500_without_internals(client, mocker, app_log):
    boom = RuntimeError(f"Driver={{X}};{SECRET} while running SELECT * FROM LGCY_CUST")
    fetch = mocker.patch.object(OdbcDriver, "fetch", side_effect=boom)
    response = client.get("/v1/customers")
    body = problem_of(response, 500, "internal-error")
    fetch.assert_called_once()
    text = response.get_data(as_text=True)
    for leak in ("hunter2", "Traceback", "RuntimeError", "SELECT", "LGCY_CUST", "Driver=", 'File "'):
        assert leak not in text
    assert body == {
        "type": PROBLEM + "internal-error",
        "title": "Internal error",
        "status": 500,
        "detail": "an unexpected error; the log has the details",
        "instance": "/v1/customers",
    }
    # ops still get the whole story, tied to the request
    [record] = [r for r in app_log.records if r.getMessage() == "unhandled error"]
    assert record.exc_info[1] is boom


def test_a_get_that_fails_unexpectedly_is_a_500_too(client, mocker):
    mocker.patch.object(OdbcDriver, "get", side_effect=KeyError(SECRET))
    response = client.get("/v1/customers/1")
    problem_of(response, 500, "internal-error")
    assert "hunter2" not in response.get_data(as_text=True)


def test_a_source_that_cannot_be_reached_is_a_503_with_retry_after(client, mocker):
    mocker.patch.object(
        OdbcDriver, "fetch", side_effect=SourceUnavailable("source 'crm' cannot be reached", "crm", "08001")
    )
    response = client.get("/v1/customers")
    body = problem_of(response, 503, "source-unavailable")
    assert response.headers["Retry-After"] == str(SourceUnavailable.retry_after)
    assert body["source"] == "crm" and body["legacy_code"] == "08001"


def test_a_pyodbc_error_at_connect_is_translated_and_keeps_its_sqlstate_only(app, mocker):
    driver = app.extensions["legacy_bridge"].drivers["crm"].driver
    driver.close()  # the next request needs a new connection
    mocker.patch.object(
        driver.pool, "_connect", side_effect=pyodbc.OperationalError("08001", f"could not connect with {SECRET}")
    )
    response = app.test_client().get("/v1/customers")
    mocker.stopall()
    body = problem_of(response, 503, "source-unavailable")
    assert body["legacy_code"] == "08001"
    assert "hunter2" not in response.get_data(as_text=True)
    assert app.test_client().get("/v1/customers?limit=1").status_code == 200  # recovers by itself


@pytest.mark.parametrize(
    "error, status, slug",
    [
        (InvalidInput("bad", parameter="x"), 400, "invalid-parameter"),
        (NotFound("gone"), 404, "not-found"),
        (SourceError("rejected", "crm", "42000"), 502, "source-error"),
        (SourceTimeout("slow", "crm", "HYT00"), 504, "source-timeout"),
    ],
)
def test_every_error_of_ours_becomes_its_problem(client, mocker, error, status, slug):
    mocker.patch.object(OdbcDriver, "fetch", side_effect=error)
    body = problem_of(client.get("/v1/customers"), status, slug)
    assert body["detail"] == error.detail
    assert {k: body[k] for k in error.extra} == error.extra


def test_problem_bodies_hold_the_rfc_9457_members_and_no_nulls():
    body = body_of(SourceError("rejected", "crm"))
    assert set(body) == {"type", "title", "status", "detail", "source"}  # legacy_code None is left out
    assert status_of(ConfigError([("a.b", "wrong")], "f.yaml")) == 500


# -- one place: domain errors know no HTTP, problems.py maps them ---------------------------


def _every_error_class() -> set[type]:
    import importlib
    import pkgutil

    import legacy_bridge

    for module in pkgutil.walk_packages(legacy_bridge.__path__, "legacy_bridge."):
        # not the demo, nor what runs on import (the CLI's __main__; the gunicorn config, which
        # points prometheus at a multiprocess directory)
        if not any(part in module.name for part in (".demo", "__main__", "gunicorn")):
            importlib.import_module(module.name)
    found, todo = set(), [LegacyBridgeError]
    while todo:
        cls = todo.pop()
        found.add(cls)
        todo += cls.__subclasses__()
    return found


def test_domain_errors_carry_no_http_status_and_each_maps_to_one():
    for cls in _every_error_class():
        assert not {"status", "title", "to_problem", "type"} & set(vars(cls)), cls
        assert status_of(cls.__new__(cls)) in range(400, 600)
    declared = {
        cls for cls in vars(errors_module).values() if isinstance(cls, type) and issubclass(cls, LegacyBridgeError)
    }
    assert declared - set(STATUS_AND_TITLE) == set()  # each one's status said in problems.py


def test_problem_types_and_media_type_are_written_in_problems_py_only():
    root = Path(errors_module.__file__).resolve().parent.parent
    sources = [
        p for folder in ("legacy_bridge", "drivers", "facades", "contracts") for p in (root / folder).rglob("*.py")
    ]
    assert (
        sorted(
            str(p.relative_to(root))
            for p in sources
            if p.name != "problems.py" and ("urn:legacy-bridge" in p.read_text() or 'problem+json"' in p.read_text())
        )
        == []
    )
