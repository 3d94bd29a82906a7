"""Shared fixtures: a real legacy database per ODBC backend, and an app over it.

What the fixtures are built from lives in the importable ``helpers`` package
(``tests/helpers``): tests import from there, never from this file.
"""

from __future__ import annotations

import pytest
import spyne.const

from helpers.backends import (
    BACKENDS,
    Backend,
    backend_named,
    create_legacy_tables,
    crm_config,
    make_app,
    reachable_backend,
    run_databases,
)

# spyne runs a full gc.collect() after a request when a second has passed since its last one: in
# this process (every test's objects, 700 MB) that is most of a SOAP call's time, and the
# schemathesis module's every-check run went from 2 to 10 minutes in the whole suite.  The test
# servers leave collection to Python's own generational GC.
spyne.const.MIN_GC_INTERVAL = float("inf")


def pytest_configure(config) -> None:
    run_databases(create=True)


def pytest_unconfigure(config) -> None:
    run_databases(create=False)


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request, tmp_path_factory) -> Backend:
    """Each ODBC backend in turn, with the legacy CRM tables created afresh."""
    b = reachable_backend(request.param, tmp_path_factory)
    create_legacy_tables(b)
    return b


@pytest.fixture(scope="session")
def sqlite_only(tmp_path_factory) -> Backend:
    """SQLite alone, for what only SQLite does (the CRM tables are not created)."""
    return reachable_backend("sqlite", tmp_path_factory)


@pytest.fixture(scope="session")
def postgresql_only(tmp_path_factory) -> Backend:
    return reachable_backend("postgresql", tmp_path_factory)


@pytest.fixture(scope="session")
def mariadb_only(tmp_path_factory) -> Backend:
    return reachable_backend("mariadb", tmp_path_factory)


@pytest.fixture(scope="session")
def sqlite_backend(tmp_path_factory) -> Backend:
    b = backend_named("sqlite", tmp_path_factory.mktemp("sqlite-only"))
    create_legacy_tables(b)
    return b


@pytest.fixture(scope="session")
def app(backend):
    app = make_app(crm_config(backend.connection))
    yield app
    app.extensions["legacy_bridge"].close()


@pytest.fixture
def client(app):
    return app.test_client()
