"""The OpenAPI 3 document, generated with apispec from the resources' contracts."""
from __future__ import annotations

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import INCLUDE, Schema, fields

from legacy_bridge.security.auth import secure_document
from legacy_bridge.config import Config
from legacy_bridge.config.model import ApiVersion, base_version
from legacy_bridge.contracts.schema import Base64
from legacy_bridge.formats.encoders import MEDIA_TYPES
from legacy_bridge.problems import PROBLEM_BASE, openapi_response
from legacy_bridge.security.ratelimit import document_limits
from legacy_bridge.query.legacy import OPERATORS, Condition
from legacy_bridge.resources import Resource

from .openapi_values import (LOCAL_DATE_TIME, LOCAL_TIME, RECORD_TYPES, in_list_schema, key_schema,
                             names_schema, record_schema_name, since_schema, value_schema, zone_note)
from .params import MAX_IN_VALUES, RESERVED
from .changes import add_openapi as add_feed_paths
from .quarantine import add_openapi as add_quarantine_paths
from .versions import document_deprecation
from .webhooks import add_openapi as add_webhook_paths, usable as webhooks_usable


class Problem(Schema):
    class Meta:
        unknown = INCLUDE     # RFC 9457 allows extension members

    type = fields.String(required=True, metadata={"description": f"stable URI, {PROBLEM_BASE}<slug>"})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    instance = fields.String()
    parameter = fields.String(metadata={"description": "the offending query parameter (400s)"})
    source = fields.String(metadata={"description": "the legacy source that failed (5xx)"})
    legacy_code = fields.String(metadata={"description": "the legacy system's own code, e.g. SQLSTATE"})


_ERRORS = {"400": openapi_response("invalid parameter (the body names it)"),
           "500": openapi_response("an unexpected error (the log has the details, tied by X-Request-ID)"),
           "502": openapi_response("the legacy source answered with an error"),
           "503": openapi_response("the legacy source is unavailable; see Retry-After"),
           "504": openapi_response("the legacy source timed out")}


_READINESS = {"type": "object", "required": ["status", "sources"], "properties": {
    "status": {"type": "string", "enum": ["ok", "failing"]},
    "detail": {"type": "string", "description": "the failing sources, by name"},
    "sources": {"type": "object", "additionalProperties": {"type": "object", "properties": {
        "status": {"type": "string", "enum": ["ok", "failing"]},
        "error": {"type": "string", "description": "problem type slug"},
        "legacy_code": {"type": "string"},
        "breaker": {"type": "string", "enum": ["closed", "half-open", "open"],
                    "description": "the source's circuit breaker"}}}}}}


def _wire_types(converter, field: fields.Field, **_) -> dict:
    """What apispec gets wrong for our contracts: decimals travel as strings, times and
    timestamps are local (no UTC offset), bytes are base64."""
    if isinstance(field, fields.Decimal) and field.as_string:
        return {"type": "string", "format": "decimal"}
    if isinstance(field, fields.Time):
        return dict(LOCAL_TIME)
    if isinstance(field, fields.DateTime):
        return dict(LOCAL_DATE_TIME)
    if isinstance(field, Base64):
        return dict(RECORD_TYPES["binary"])
    return {}


def _contract_schema(spec: APISpec, schema_name: str, resource: Resource) -> dict:
    """The record schema, ``<Name>``: a field declared ``nullable: false`` (and every key field)
    is required and never null; a date-time says its time zone.  And ``<Name>Selection``, the
    same fields none of them required: what a ``fields`` selection returns (and what a create
    takes).  A record response is either: ``{"anyOf": [<Name>, <Name>Selection]}`` (returned)."""
    spec.components.schema(schema_name, schema=resource.contract)
    schema = spec.components.schemas[schema_name]
    properties = schema["properties"]
    if resource.spec.contract is None:    # a supplied contract says for itself what it requires
        for name, fmap in resource.mapping.fields.items():
            if fmap.type == "datetime" and name in properties:
                properties[name]["description"] = properties[name].get("description") or zone_note(resource)
        required = [n for n, f in resource.mapping.fields.items() if not f.nullable and n in properties]
        if required:
            schema["required"] = required
    selection = {k: v for k, v in schema.items() if k != "required"}
    spec.components.schema(f"{schema_name}Selection", {
        **selection, "description": f"Any of the fields of {schema_name}, as a `fields` selection returns them"})
    return {"anyOf": [{"$ref": f"#/components/schemas/{schema_name}"},
                      {"$ref": f"#/components/schemas/{schema_name}Selection"}]}


def _when(condition: bool, operations: dict) -> dict:
    return operations if condition else {}


def _pushed(resource: Resource, name: str, op: str) -> bool:
    """Whether the source itself applies ``name[op]`` (else legacy-bridge does, after reading)."""
    return resource.driver.pushable(Condition(resource.mapping.fields[name].column, op, None),
                                    resource.spec.target)


def _partial_pushdown(resource: Resource) -> bool:
    return not all(_pushed(resource, n, op) for n, f in resource.mapping.fields.items() if f.filter
                   for op in OPERATORS)


def _filter_note(resource: Resource) -> str:
    """The list operation's word on which filters the legacy source takes (SOAP operations)."""
    if not _partial_pushdown(resource):
        return ""
    pushed = [f"{n}[{op}]" if op != "eq" else n for n, f in resource.mapping.fields.items() if f.filter
              for op in OPERATORS if _pushed(resource, n, op)]
    return (" Filters passed to the legacy source: " + (", ".join(pushed) or "none") +
            "; every other filter is applied by legacy-bridge after reading, so it costs a full read.")


def _filter_params(resource: Resource) -> list[dict]:
    params = []
    partial = _partial_pushdown(resource)
    for name, fmap in resource.mapping.fields.items():
        if not fmap.filter:
            continue
        value = value_schema(resource, name)
        like = fmap.type == "string" and fmap.converter.supports_like
        for op in OPERATORS:
            if op in ("startswith", "contains") and not like:
                continue
            schema = {"type": "boolean"} if op == "isnull" else \
                in_list_schema(resource, name, MAX_IN_VALUES) if op == "in" else \
                {"type": "string", "minLength": 1} if op in ("startswith", "contains") else value
            where = "" if not partial else " (passed to the legacy source)" if _pushed(resource, name, op) \
                else " (applied after reading the legacy source)"
            params.append({"name": name if op == "eq" else f"{name}[{op}]", "in": "query",
                           "required": False, "schema": schema,
                           "description": f"{name} {op}" + (" (legacy sentinels count as null)"
                                                          if op == "isnull" else "") + where,
                           **({"x-pushdown": _pushed(resource, name, op)} if partial else {})})
    return params


def _list_params(resource: Resource) -> list[dict]:
    fmaps = resource.mapping.fields
    sortable = [n for n, f in fmaps.items() if f.sort]
    spec = resource.spec
    return [
        {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                    "maximum": spec.max_limit, "default": spec.default_limit}},
        {"name": "cursor", "in": "query", "schema": {"type": "string"},
         "description": "the `next` of the previous page (opaque, signed: any other text is a 400)"},
        {"name": "sort", "in": "query", "schema": names_schema(sortable, signed=True),
         "description": f"comma-separated, '-' for descending (a field named again adds nothing); "
                        f"sortable: {', '.join(sortable)}"},
        {"name": "fields", "in": "query", "schema": names_schema(list(fmaps)),
         "description": f"comma-separated subset of: {', '.join(fmaps)}; the records then hold only "
                        f"these fields (the record schema's required list is for whole records)"},
    ] + _since_param(resource) + _filter_params(resource)


def _since_param(resource: Resource) -> list[dict]:
    if not resource.spec.watermark:
        return []
    return [{"name": "updated_since", "in": "query", "schema": since_schema(resource),
             "description": f"rows whose watermark ({', '.join(resource.spec.watermark)}) is greater, in "
                            "watermark order; empty: from the first; the page's `watermark` resumes"}]


def _export_operation(resource: Resource, name: str, suffix: str = "", tag: str = "") -> dict:
    """GET /<resource>/export: the list's filters, streamed as NDJSON or CSV."""
    params = [p for p in _list_params(resource) if p["name"] not in ("limit", "cursor")]
    text = {"schema": {"type": "string"}}
    return {"get": {
        "tags": [tag or name], "operationId": f"export_{name}{suffix}", "summary": f"Export every matching {name}",
        "description": "Streamed (chunked); gzip with Accept-Encoding: gzip. The list route streams the "
                       "same with Accept: application/x-ndjson or text/csv. A stream broken after its "
                       "first byte ends with an {\"error\": problem} line (NDJSON) or without its final "
                       "CRLF (CSV).",
        "parameters": [{"name": "format", "in": "query", "schema": {"type": "string", "enum": ["ndjson", "csv"],
                                                                    "default": "ndjson"}}] + params,
        "responses": {"200": {"description": "every matching record, one per line",
                              "headers": {"X-Watermark": {"schema": {"type": "string"},
                                                          "description": "with updated_since: resume here"}},
                              "content": {"application/x-ndjson": text, "text/csv": text}},
                      **_ERRORS}}}


def _document_resource(spec: APISpec, base: str, name: str, resource: Resource, version: str | None) -> None:
    """The list, export, create and get operations of one resource in one version (``version``
    None: the base version, whose operation ids and tags carry no version)."""
    suffix = f"_{version}" if version else ""
    schema_name = record_schema_name(resource)
    ref = _contract_schema(spec, schema_name, resource)
    selection = {"$ref": f"#/components/schemas/{schema_name}Selection"}
    spec.components.schema(f"{schema_name}Page", {
        "type": "object", "required": ["data", "next"],
        "properties": {"data": {"type": "array", "items": ref},
                       "next": {"type": "string", "nullable": True,
                                "description": "cursor of the next page; null on the last"}}})
    tag = f"{name} ({version})" if version else name
    spec.tag({"name": tag, "description": resource.spec.description or name})
    collection = {}
    if "create" in resource.spec.operations:
        collection["post"] = {
            "tags": [tag], "operationId": f"create_{name}{suffix}", "summary": f"Create one of {name}",
            "requestBody": {"required": True, "content": {"application/json": {"schema": selection}}},
            "responses": {"201": {"description": "created; the record as the source returned it",
                                  "headers": {"Location": {"schema": {"type": "string"}}},
                                  "content": {"application/json": {"schema": selection}}},
                          "404": openapi_response("the source says a record it needs does not exist"),
                          **_ERRORS}}
    spec.path(path=f"{base}/{name}", operations={**collection, **_when("list" in resource.spec.operations, {"get": {
        "tags": [tag], "operationId": f"list_{name}{suffix}", "summary": f"List {name}",
        "description": "Keyset pages." + _filter_note(resource),
        "parameters": _list_params(resource),
        "responses": {"200": {"description": "one page (application/json); with Accept: "
                                             "application/x-ndjson or text/csv every matching record, "
                                             "streamed as the export route streams it",
                              "headers": {"Link": {"schema": {"type": "string"},
                                                   "description": 'rel="next" when there is one'}},
                              "content": {"application/json": {
                                  "schema": {"$ref": f"#/components/schemas/{schema_name}Page"}},
                                  **{media: {"schema": {"type": "string"}} for media in MEDIA_TYPES.values()}}},
                      **_ERRORS}}})})
    if "list" in resource.spec.operations:
        spec.path(path=f"{base}/{name}/export", operations=_export_operation(resource, name, suffix, tag))
    key_path = "/".join("{" + k + "}" for k in resource.key)
    spec.path(path=f"{base}/{name}/{key_path}", operations={"get": {
        "tags": [tag], "operationId": f"get_{name}{suffix}", "summary": f"One of {name} by key",
        "parameters": [{"name": k, "in": "path", "required": True, "schema": key_schema(resource, k)}
                       for k in resource.key] +
                      [{"name": "fields", "in": "query", "schema": names_schema(list(resource.mapping.fields)),
                        "description": "comma-separated subset of the fields; the record then holds only these"},
                       {"name": "If-None-Match", "in": "header", "schema": {"type": "string"}}],
        "responses": {"200": {"description": "the record", "headers": {"ETag": {"schema": {"type": "string"}}},
                              "content": {"application/json": {"schema": ref}}},
                      "304": {"description": "not modified (If-None-Match)"},
                      "404": openapi_response("no record with this key"), **_ERRORS}}})


def build_spec(resources: dict[str, Resource], service: dict, config: Config | None = None,
               versions: list[tuple[ApiVersion, dict[str, Resource]]] | None = None,
               operations: bool = True) -> dict:
    """The document; with ``config``, its security (auth) and 429s (rate limits) too.
    ``versions``: the API versions to document with their resources (default: ``resources`` at
    ``service.base_path``); ``operations``: with /healthz, /readyz and /metrics."""
    marshmallow_plugin = MarshmallowPlugin()
    spec = APISpec(title=service["title"], version=str(service["version"]), openapi_version="3.0.3",
                   plugins=[marshmallow_plugin],
                   info={"description": "Legacy systems as clean REST resources. Errors are "
                                        "application/problem+json (RFC 9457)."})
    marshmallow_plugin.converter.add_attribute_function(_wire_types)
    spec.components.schema("Problem", schema=Problem)
    versions = versions or [(base_version(service, {}), resources)]
    for version, served in versions:
        for name, resource in served.items():
            _document_resource(spec, version.path, name, resource, None if version.base else version.name)
    if operations:
        _document_operations(spec, service)
    document = spec.to_dict()
    for version, served in versions:
        if version.base:         # the change feed, quarantine and webhooks belong to the base version
            add_feed_paths(document, served, version.path, _ERRORS)
            add_quarantine_paths(document, served, version.path, _ERRORS)
            if webhooks_usable(served):
                add_webhook_paths(document, version.path, tuple(served))
    for version, _ in versions:
        document_deprecation(document, version)
    document["x-reserved-parameters"] = list(RESERVED)
    if config is not None:
        prefixes = tuple(v.path for v, _ in versions)
        secure_document(document, config.auth, prefixes)
        document_limits(document, config.rate_limits)
    return document


def _document_operations(spec: APISpec, service: dict) -> None:
    spec.components.schema("Readiness", _READINESS)
    ready = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Readiness"}}}}
    spec.path(path="/healthz", operations={"get": {"tags": ["operations"], "summary": "process alive",
                                                   "responses": {"200": {"description": "alive"}}}})
    spec.path(path="/readyz", operations={"get": {"tags": ["operations"], "summary": "every source reachable",
                                                  "responses": {"200": {"description": "ready", **ready},
                                                                "503": {"description": "a source is failing "
                                                                        "(named in detail)", **ready}}}})
    if service.get("metrics", True):
        spec.path(path="/metrics", operations={"get": {
            "tags": ["operations"], "summary": "Prometheus metrics (text exposition format)",
            "responses": {"200": {"description": "the metrics", "content": {"text/plain": {
                "schema": {"type": "string"}}}}}}})
