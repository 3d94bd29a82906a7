"""The document's parameter schemas are never looser than the parser: every value a schema
allows parses (no 400), whatever field type, converter and operator.  Hypothesis draws the
values from the schemas themselves (their patterns, enums, ranges), bounded and derandomized."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers.backends import crm_config
from legacy_bridge.config import validate
from legacy_bridge.facades.openapi import build_spec
from legacy_bridge.query.schema import parse_key, parse_list
from legacy_bridge.resources import Bridge


def _config(timezone: str | None) -> dict:
    config = crm_config("DSN=never-connected", **({"timezone": timezone} if timezone else {}))
    config["resources"]["customers"]["fields"]["updated_at"]["filter"] = True
    config["resources"]["customers"]["watermark"] = "updated_at"
    config["resources"]["customers"]["fields"]["opened_at"]["filter"] = True
    config["resources"]["events"] = {
        "source": "crm",
        "table": "EVT",
        "key": ["code", "seq"],
        "watermark": ["day", "at"],
        "fields": {
            "code": {"column": "CD", "converter": "text"},
            "seq": {"column": "SEQ", "converter": "int"},
            "amount": {"column": "AMT", "converter": {"decimal": {"implied": 2}}, "filter": True},
            "ratio": {"column": "RATIO", "converter": "float", "filter": True},
            "blob": {"column": "BLOB", "converter": "binary", "filter": True},
            "note": {"column": "NOTE", "filter": True, "sort": True},
            "day": {"column": "DT", "converter": "yyyymmdd", "filter": True},
            "at": {"column": "TM", "converter": "hhmmss", "filter": True},
        },
    }
    return config


@pytest.fixture(scope="module", params=[None, "Europe/Berlin"], ids=["no-zone", "berlin"])
def served(request):
    config = validate(_config(request.param))
    bridge = Bridge(config, "secret")
    yield bridge, build_spec(bridge.resources, config.service, config)
    bridge.close()


def _values(schema: dict) -> st.SearchStrategy[str]:
    if "enum" in schema:
        return st.sampled_from([str(v) for v in schema["enum"]])
    if "pattern" in schema:  # and minLength, as JSON Schema applies both
        return st.from_regex(schema["pattern"], fullmatch=True).filter(lambda v: len(v) >= schema.get("minLength", 0))
    kind = schema["type"]
    if kind == "integer":
        return st.integers(schema.get("minimum"), schema.get("maximum")).map(str)
    if kind == "boolean":
        return st.sampled_from(["true", "false"])
    if kind == "number":
        return st.floats(allow_nan=False, allow_infinity=False).map(repr)
    if schema.get("format") == "date":
        return st.dates().map(lambda d: d.isoformat())
    return st.text(min_size=schema.get("minLength", 0))


def _operations(spec: dict, method: str = "get") -> list[tuple[str, dict]]:
    return [
        (path, ops[method])
        for path, ops in spec["paths"].items()
        if method in ops and path.startswith("/v1/") and "webhooks" not in path
    ]


def _bounded(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


def _drawn_operation(data, spec: dict, kind: str) -> tuple[str, dict]:
    operations = [(path, op) for path, op in _operations(spec) if op["operationId"].startswith(kind)]
    return data.draw(st.sampled_from(operations))


@_bounded(150)
@given(data=st.data())
def test_every_query_value_a_schema_allows_parses(served, data):
    bridge, spec = served
    path, operation = _drawn_operation(data, spec, "list_")
    resource = bridge.resources[path.removeprefix("/v1/")]
    parameters = [p for p in operation["parameters"] if p["name"] != "cursor"]
    parameter = data.draw(st.sampled_from(parameters))
    value = data.draw(_values(parameter["schema"]))
    resource.planner.read(parse_list(resource, {parameter["name"]: [value]}))  # raises InvalidInput if looser


@_bounded(60)
@given(data=st.data())
def test_every_key_a_schema_allows_parses(served, data):
    bridge, spec = served
    path, operation = _drawn_operation(data, spec, "get_")
    resource = bridge.resources[path.split("/")[2]]
    segments = [data.draw(_values(p["schema"])) for p in operation["parameters"] if p["in"] == "path"]
    resource.planner.by_key(parse_key(resource, segments))
