"""The OpenAPI document lists exactly the routes the app serves: every rule of the URL map
(but the document itself and its docs page) is in it, and nothing the app does not serve.
Checked on the configs that change which routes exist: the demo (ODBC, a flat file with its
quarantine, SOAP with create), a change feed (and so webhooks), metrics off, auth and limits,
API versions side by side."""

from __future__ import annotations

import re

import pytest
import yaml
from openapi_spec_validator import validate

from helpers.backends import crm_config, make_app
from helpers.versions import versioned_config
from legacy_bridge.demo import crm as demo_module
from legacy_bridge.demo.tms_config import add_to_config
from legacy_bridge.demo.tms_simulator import TmsSimulator, serve

METHODS = {"get", "post", "put", "patch", "delete"}
#: served, but not API operations: the documents themselves (each version's too) and the pages that show them
META = {"docs.openapi_json", "docs.docs", "docs.asset", "static"}
META_PREFIX = "version_docs."


def _template(path: str) -> str:
    """A path with every parameter as ``{}``; consecutive ones (a composite key, which one
    ``<path:key>`` rule serves) as one."""
    path = re.sub(r"<[^>]+>|\{[^}]+\}", "{}", path)
    return re.sub(r"\{\}(?:/\{\})+", "{}", path)


def served(app) -> set[tuple[str, str]]:
    return {
        (_template(rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in META and not rule.endpoint.startswith(META_PREFIX)
        for method in rule.methods
        if method.lower() in METHODS
    }


def documented(document: dict) -> set[tuple[str, str]]:
    return {
        (_template(path), method)
        for path, operations in document["paths"].items()
        for method in operations
        if method in METHODS
    }


def assert_document_matches_url_map(app) -> None:
    document = app.test_client().get("/openapi.json").get_json()
    validate(document)
    assert sorted(served(app) - documented(document)) == [], "served but not documented"
    assert sorted(documented(document) - served(app)) == [], "documented but not served"


@pytest.fixture(scope="module")
def demo_config(tmp_path_factory):
    built = demo_module.build(tmp_path_factory.mktemp("demo"))
    with serve(TmsSimulator()) as tms_url:
        add_to_config(built.config, tms_url)
        yield yaml.safe_load(built.config.read_text())


def test_the_demo_documents_every_route_it_serves_and_no_other(demo_config):
    app = make_app(demo_config)
    assert ("/v1/invoices/quarantine", "get") in served(app)
    assert ("/v1/webhooks", "post") in served(app)  # customers has a change feed
    assert_document_matches_url_map(app)
    app.extensions["legacy_bridge"].close()


@pytest.mark.parametrize("change", ["changes", "no-metrics", "auth-and-limits", "versions"])
def test_each_config_documents_every_route_it_serves_and_no_other(sqlite_backend, tmp_path, change):
    config = (versioned_config if change == "versions" else crm_config)(sqlite_backend.connection)
    config["service"]["state"] = f"sqlite:///{tmp_path / 'state.db'}"
    if change == "changes":
        config["resources"]["customers"]["changes"] = True
    elif change == "no-metrics":
        config["service"]["metrics"] = False
    else:
        config["auth"] = {"keys": [{"id": "k", "hash": "sha256:" + "0" * 64, "scopes": ["*:*"]}]}
        config["rate_limits"] = {"default": "100/second"}
    app = make_app(config)
    routes = {path for path, _ in served(app)}
    assert ("/v1/customers/changes" in routes) == ("/v1/webhooks" in routes) == (change == "changes")
    assert ("/metrics" in routes) == (change != "no-metrics")
    assert ("/v2/customers" in routes) == (change == "versions")
    assert_document_matches_url_map(app)
    app.extensions["legacy_bridge"].close()
