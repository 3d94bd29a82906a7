"""Each API version's OpenAPI document against its golden file (tests/facades/golden/<v>.openapi.json),
generated from the versioned test config (tests/helpers/versions.py).

A breaking change inside a version (an operation, parameter, response, schema or field removed,
a type changed, a new required parameter, a field that may now be null) fails
``test_no_breaking_change_inside_a_version``: make it a new version instead.  Any other change
fails ``test_the_golden_files_are_current`` until the golden files are regenerated on purpose:

    LB_UPDATE_GOLDEN=1 .venv/bin/pytest -q tests/facades/test_golden_openapi.py

and the diff of tests/facades/golden/ is reviewed and committed with the change.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest

from helpers.backends import make_app
from helpers.versions import versioned_config

GOLDEN = Path(__file__).parent / "golden"
VERSIONS = ("v1", "v2")
METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


@pytest.fixture(scope="module")
def documents(sqlite_backend) -> dict[str, dict]:
    app = make_app(versioned_config(sqlite_backend.connection))
    client = app.test_client()
    documents = {v: client.get(f"/{v}/openapi.json").get_json() for v in VERSIONS}
    app.extensions["legacy_bridge"].close()
    if os.environ.get("LB_UPDATE_GOLDEN"):
        for version, document in documents.items():
            (GOLDEN / f"{version}.openapi.json").write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    return documents


def golden(version: str) -> dict:
    return json.loads((GOLDEN / f"{version}.openapi.json").read_text())


def _kind(schema: dict) -> tuple:
    return schema.get("type"), schema.get("format"), schema.get("$ref")


def _schema_changes(where: str, old: dict, new: dict) -> list[str]:
    found = []
    if _kind(old) != _kind(new):
        found.append(f"{where}: {_kind(old)} became {_kind(new)}")
    if new.get("nullable") and not old.get("nullable"):
        found.append(f"{where}: may now be null")
    if set(old.get("enum", [])) != set(new.get("enum", old.get("enum", []))):
        found.append(f"{where}: enum {old.get('enum')} became {new.get('enum')}")
    for name, prop in old.get("properties", {}).items():
        if name not in new.get("properties", {}):
            found.append(f"{where}.{name}: removed")
        else:
            found += _schema_changes(f"{where}.{name}", prop, new["properties"][name])
    for name in set(old.get("required", [])) - set(new.get("required", [])):
        found.append(f"{where}.{name}: no longer always present")
    return found


def breaking_changes(old: dict, new: dict) -> list[str]:
    """What a client written against ``old`` would trip over in ``new``."""
    found = []
    for path, operations in old["paths"].items():
        for method, op in operations.items():
            if method not in METHODS:
                continue
            now = new["paths"].get(path, {}).get(method)
            if now is None:
                found.append(f"{method.upper()} {path}: removed")
                continue
            where = f"{method.upper()} {path}"
            before = {(p["name"], p["in"]): p for p in op.get("parameters", [])}
            after = {(p["name"], p["in"]): p for p in now.get("parameters", [])}
            for key, param in before.items():
                if key not in after:
                    found.append(f"{where}: parameter {key[0]} removed")
                else:
                    found += _schema_changes(
                        f"{where}: parameter {key[0]}", param.get("schema", {}), after[key].get("schema", {})
                    )
            found += [
                f"{where}: parameter {k[0]} now required"
                for k, p in after.items()
                if p.get("required") and not before.get(k, {}).get("required")
            ]
            found += [
                f"{where}: response {s} removed"
                for s in op.get("responses", {})
                if s.startswith("2") and s not in now.get("responses", {})
            ]
    schemas = new.get("components", {}).get("schemas", {})
    for name, schema in old.get("components", {}).get("schemas", {}).items():
        if name not in schemas:
            found.append(f"schema {name}: removed")
        else:
            found += _schema_changes(f"schema {name}", schema, schemas[name])
    return found


@pytest.mark.parametrize("version", VERSIONS)
def test_no_breaking_change_inside_a_version(documents, version):
    assert breaking_changes(golden(version), documents[version]) == []


@pytest.mark.parametrize("version", VERSIONS)
def test_the_golden_files_are_current(documents, version):
    assert documents[version] == golden(version), (
        "the document changed without breaking: regenerate the golden files on purpose with "
        "LB_UPDATE_GOLDEN=1 (see this module's docstring)"
    )


def test_the_check_finds_a_renamed_field_a_new_type_and_a_removed_operation():
    old = golden("v2")
    new = copy.deepcopy(old)
    props = new["components"]["schemas"]["CustomersV2"]["properties"]
    props["region_code"] = props.pop("region")
    props["opened"] = {"type": "string", "format": "date"}
    del new["paths"]["/v2/customers/export"]["get"]
    found = breaking_changes(old, new)
    assert "schema CustomersV2.region: removed" in found
    assert any(f.startswith("schema CustomersV2.opened: ('integer'") for f in found)
    assert "GET /v2/customers/export: removed" in found
    assert breaking_changes(old, old) == []
