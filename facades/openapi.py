"""The OpenAPI 3 document, generated with apispec from the resources' contracts."""
from __future__ import annotations

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, fields

from legacy_bridge.errors import PROBLEM_BASE
from legacy_bridge.query import OPERATORS
from legacy_bridge.resources import Resource

from .params import RESERVED

_TYPES = {"string": {"type": "string"}, "integer": {"type": "integer"}, "number": {"type": "number"},
          "decimal": {"type": "string", "format": "decimal"}, "boolean": {"type": "boolean"},
          "date": {"type": "string", "format": "date"}, "time": {"type": "string", "format": "time"},
          "datetime": {"type": "string", "format": "date-time"}}


class Problem(Schema):
    type = fields.String(required=True, metadata={"description": f"stable URI, {PROBLEM_BASE}<slug>"})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    instance = fields.String()
    parameter = fields.String(metadata={"description": "the offending query parameter (400s)"})
    source = fields.String(metadata={"description": "the legacy source that failed (5xx)"})
    legacy_code = fields.String(metadata={"description": "the legacy system's own code, e.g. SQLSTATE"})


def _problem(description: str) -> dict:
    return {"description": description, "content": {"application/problem+json": {"schema": "Problem"}}}


_ERRORS = {"400": _problem("invalid parameter (the body names it)"),
           "502": _problem("the legacy source answered with an error"),
           "503": _problem("the legacy source is unavailable; see Retry-After"),
           "504": _problem("the legacy source timed out")}


def _value_schema(resource: Resource, name: str) -> dict:
    fmap = resource.mapping.fields[name]
    schema = dict(_TYPES[fmap.type])
    if fmap.converter.enum:
        schema["enum"] = list(fmap.converter.enum)
    return schema


def _filter_params(resource: Resource) -> list[dict]:
    params = []
    for name, fmap in resource.mapping.fields.items():
        if not fmap.filter:
            continue
        value = _value_schema(resource, name)
        like = fmap.type == "string" and fmap.converter.supports_like
        for op in OPERATORS:
            if op in ("startswith", "contains") and not like:
                continue
            schema = {"type": "boolean"} if op == "isnull" else \
                {"type": "string", "description": "comma-separated"} if op == "in" else value
            params.append({"name": name if op == "eq" else f"{name}[{op}]", "in": "query",
                           "required": False, "schema": schema,
                           "description": f"{name} {op}" + (" (legacy sentinels count as null)"
                                                          if op == "isnull" else "")})
    return params


def _list_params(resource: Resource) -> list[dict]:
    fmaps = resource.mapping.fields
    sortable = [n for n, f in fmaps.items() if f.sort]
    spec = resource.spec
    return [
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                    "maximum": spec.max_limit, "default": spec.default_limit}},
        {"name": "cursor", "in": "query", "schema": {"type": "string"},
         "description": "the `next` of the previous page (opaque, signed)"},
        {"name": "sort", "in": "query", "schema": {"type": "string"},
         "description": f"comma-separated, '-' for descending; sortable: {', '.join(sortable)}"},
        {"name": "fields", "in": "query", "schema": {"type": "string"},
         "description": f"comma-separated subset of: {', '.join(fmaps)}"},
    ] + _filter_params(resource)


def build_spec(resources: dict[str, Resource], service: dict) -> dict:
    spec = APISpec(title=service["title"], version=str(service["version"]), openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()],
                   info={"description": "Legacy systems as clean REST resources. Errors are "
                                        "application/problem+json (RFC 9457)."})
    spec.components.schema("Problem", schema=Problem)
    base = service["base_path"]
    for name, resource in resources.items():
        schema_name = resource.contract.__name__.removesuffix("Schema") or name
        spec.components.schema(schema_name, schema=resource.contract)
        ref = {"$ref": f"#/components/schemas/{schema_name}"}
        spec.components.schema(f"{schema_name}Page", {
            "type": "object", "required": ["data", "next"],
            "properties": {"data": {"type": "array", "items": ref},
                           "next": {"type": "string", "nullable": True,
                                    "description": "cursor of the next page; null on the last"}}})
        tag = resource.spec.description or name
        spec.tag({"name": name, "description": tag})
        spec.path(path=f"{base}/{name}", operations={"get": {
            "tags": [name], "operationId": f"list_{name}", "summary": f"List {name}",
            "parameters": _list_params(resource),
            "responses": {"200": {"description": "one page",
                                  "headers": {"Link": {"schema": {"type": "string"},
                                                       "description": 'rel="next" when there is one'}},
                                  "content": {"application/json": {
                                      "schema": {"$ref": f"#/components/schemas/{schema_name}Page"}}}},
                          **_ERRORS}}})
        key_path = "/".join("{" + k + "}" for k in resource.key)
        spec.path(path=f"{base}/{name}/{key_path}", operations={"get": {
            "tags": [name], "operationId": f"get_{name}", "summary": f"One of {name} by key",
            "parameters": [{"name": k, "in": "path", "required": True, "schema": _value_schema(resource, k)}
                           for k in resource.key] +
                          [{"name": "fields", "in": "query", "schema": {"type": "string"}},
                           {"name": "If-None-Match", "in": "header", "schema": {"type": "string"}}],
            "responses": {"200": {"description": "the record", "headers": {"ETag": {"schema": {"type": "string"}}},
                                  "content": {"application/json": {"schema": ref}}},
                          "304": {"description": "not modified (If-None-Match)"},
                          "404": _problem("no record with this key"), **_ERRORS}}})
    for path, summary in (("/healthz", "process alive"), ("/readyz", "every source reachable")):
        spec.path(path=path, operations={"get": {"tags": ["operations"], "summary": summary,
                                                 "responses": {"200": {"description": "ok"},
                                                               "503": {"description": "not ready"}}}})
    document = spec.to_dict()
    document["x-reserved-parameters"] = list(RESERVED)
    return document
