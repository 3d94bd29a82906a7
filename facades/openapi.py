"""The OpenAPI 3 document, generated with apispec from the resources' contracts."""

from __future__ import annotations

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import INCLUDE, Schema, fields

from legacy_bridge.config import Config
from legacy_bridge.config.model import ApiVersion, base_version
from legacy_bridge.contracts.schema import Base64
from legacy_bridge.formats.encoders import MEDIA_TYPES
from legacy_bridge.problems import PROBLEM_BASE, openapi_response
from legacy_bridge.query.parameters import fields_parameter, filter_note, limit_parameter, list_parameters
from legacy_bridge.query.schema import RESERVED
from legacy_bridge.query.values import LOCAL_DATE_TIME, LOCAL_TIME, RECORD_TYPES, key_schema, zone_note
from legacy_bridge.resources import Resource
from legacy_bridge.security.auth import secure_document
from legacy_bridge.security.ratelimit import document_limits

from .quarantine import LIMIT_SCHEMA as QUARANTINE_LIMIT
from .versions import document_deprecation
from .webhooks import add_openapi as add_webhook_paths
from .webhooks import usable as webhooks_usable


class Problem(Schema):
    class Meta:
        unknown = INCLUDE  # RFC 9457 allows extension members

    type = fields.String(required=True, metadata={"description": f"stable URI, {PROBLEM_BASE}<slug>"})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    instance = fields.String()
    parameter = fields.String(metadata={"description": "the offending query parameter (400s)"})
    source = fields.String(metadata={"description": "the legacy source that failed (5xx)"})
    legacy_code = fields.String(metadata={"description": "the legacy system's own code, e.g. SQLSTATE"})


_ERRORS = {
    "400": openapi_response("invalid parameter (the body names it)"),
    "500": openapi_response("an unexpected error (the log has the details, tied by X-Request-ID)"),
    "502": openapi_response("the legacy source answered with an error"),
    "503": openapi_response("the legacy source is unavailable; see Retry-After"),
    "504": openapi_response("the legacy source timed out"),
}


_READINESS = {
    "type": "object",
    "required": ["status", "sources"],
    "properties": {
        "status": {"type": "string", "enum": ["ok", "failing"]},
        "detail": {"type": "string", "description": "the failing sources, by name"},
        "sources": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "properties": {
                    "status": {"type": "string", "enum": ["ok", "failing"]},
                    "error": {"type": "string", "description": "problem type slug"},
                    "legacy_code": {"type": "string"},
                    "breaker": {
                        "type": "string",
                        "enum": ["closed", "half-open", "open"],
                        "description": "the source's circuit breaker",
                    },
                },
            },
        },
    },
}


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
    if resource.spec.contract is None:  # a supplied contract says for itself what it requires
        for name, fmap in resource.mapping.fields.items():
            if fmap.type == "datetime" and name in properties:
                properties[name]["description"] = properties[name].get("description") or zone_note(resource)
        required = [n for n, f in resource.mapping.fields.items() if not f.nullable and n in properties]
        if required:
            schema["required"] = required
    selection = {k: v for k, v in schema.items() if k != "required"}
    spec.components.schema(
        f"{schema_name}Selection",
        {**selection, "description": f"Any of the fields of {schema_name}, as a `fields` selection returns them"},
    )
    return {
        "anyOf": [
            {"$ref": f"#/components/schemas/{schema_name}"},
            {"$ref": f"#/components/schemas/{schema_name}Selection"},
        ]
    }


def _when(condition: bool, operations: dict) -> dict:
    return operations if condition else {}


def _export_operation(resource: Resource, name: str, suffix: str = "", tag: str = "") -> dict:
    """GET /<resource>/export: the list's filters, streamed as NDJSON or CSV."""
    params = list_parameters(resource, page=False)
    text = {"schema": {"type": "string"}}
    return {
        "get": {
            "tags": [tag or name],
            "operationId": f"export_{name}{suffix}",
            "summary": f"Export every matching {name}",
            "description": "Streamed (chunked); gzip with Accept-Encoding: gzip. The list route streams the "
            "same with Accept: application/x-ndjson or text/csv. A stream broken after its "
            'first byte ends with an {"error": problem} line (NDJSON) or without its final '
            "CRLF (CSV).",
            "parameters": [
                {
                    "name": "format",
                    "in": "query",
                    "schema": {"type": "string", "enum": ["ndjson", "csv"], "default": "ndjson"},
                }
            ]
            + params,
            "responses": {
                "200": {
                    "description": "every matching record, one per line",
                    "headers": {
                        "X-Watermark": {"schema": {"type": "string"}, "description": "with updated_since: resume here"}
                    },
                    "content": {"application/x-ndjson": text, "text/csv": text},
                },
                **_ERRORS,
            },
        }
    }


def _changes_operation(resource: Resource, name: str, record: dict) -> dict:
    """GET /<resource>/changes: the change feed of a resource with ``changes:``."""
    event = {
        "type": "object",
        "required": ["id", "resource", "kind", "key", "occurred_at", "record"],
        "properties": {
            "id": {"type": "integer"},
            "resource": {"type": "string"},
            "kind": {"type": "string", "enum": ["created", "updated", "deleted"]},
            "key": {"type": "object", "description": "the record's key fields"},
            "occurred_at": {"type": "string", "format": "date-time"},
            "record": {**record, "nullable": True, "description": "the record after the change (null: deleted)"},
        },
    }
    cursor = {
        "name": "cursor",
        "in": "query",
        "required": False,
        "schema": {"type": "string"},
        "description": "the `next` of the previous answer (opaque, signed: any other text is a 400)",
    }
    return {
        "get": {
            "tags": [name],
            "operationId": f"changes_{name}",
            "summary": f"Changes of {name}",
            "description": "Events in ascending id order; `next` resumes right after the last one and is "
            "returned even when the page is empty, so a client polls with it.",
            "parameters": [limit_parameter(resource), cursor],
            "responses": {
                "200": {
                    "description": "a page of change events",
                    "headers": {
                        "Link": {"schema": {"type": "string"}, "description": 'rel="next" when the page is full'}
                    },
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["data", "next"],
                                "properties": {
                                    "data": {"type": "array", "items": event},
                                    "next": {"type": "string"},
                                    "scan": {
                                        "type": "object",
                                        "description": "the scan this request ran (scan_on_request)",
                                    },
                                },
                            }
                        }
                    },
                },
                **_ERRORS,
            },
        }
    }


def _quarantine_operation(name: str) -> dict:
    """GET /<resource>/quarantine: the bad records a file source skips (quarantine policy)."""
    bad = {
        "type": "object",
        "properties": {
            k: {"type": t}
            for k, t in (
                ("file", "string"),
                ("record", "integer"),
                ("offset", "integer"),
                ("field", "string"),
                ("reason", "string"),
            )
        },
    }
    return {
        "get": {
            "tags": [name],
            "operationId": f"quarantine_{name}",
            "summary": f"Bad records of {name}",
            "description": "Per served file, the records read and the bad ones; the first `limit` bad records.",
            "parameters": [{"name": "limit", "in": "query", "required": False, "schema": dict(QUARANTINE_LIMIT)}],
            "responses": {
                "200": {
                    "description": "the quarantine",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["resource", "policy", "files", "data", "total"],
                                "properties": {
                                    "resource": {"type": "string"},
                                    "policy": {"type": "string", "enum": ["reject", "quarantine"]},
                                    "files": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "properties": {
                                                "file": {"type": "string"},
                                                "records": {"type": "integer"},
                                                "bad": {"type": "integer"},
                                                "complete": {"type": "boolean"},
                                            },
                                        },
                                    },
                                    "total": {"type": "integer"},
                                    "data": {"type": "array", "items": bad},
                                },
                                "additionalProperties": True,
                            }
                        }
                    },
                },
                **_ERRORS,
            },
        }
    }


def record_schema_name(resource: Resource) -> str:
    """The name of a resource's record schema among the document's components."""
    return resource.contract.__name__.removesuffix("Schema") or resource.name


def _document_resource(spec: APISpec, base: str, name: str, resource: Resource, version: str | None) -> None:
    """The operations of one resource in one version (``version`` None: the base version, whose
    operation ids and tags carry no version, and which alone has the change feed and quarantine)."""
    suffix = f"_{version}" if version else ""
    schema_name = record_schema_name(resource)
    ref = _contract_schema(spec, schema_name, resource)
    selection = {"$ref": f"#/components/schemas/{schema_name}Selection"}
    spec.components.schema(
        f"{schema_name}Page",
        {
            "type": "object",
            "required": ["data", "next"],
            "properties": {
                "data": {"type": "array", "items": ref},
                "next": {
                    "type": "string",
                    "nullable": True,
                    "description": "cursor of the next page; null on the last",
                },
            },
        },
    )
    tag = f"{name} ({version})" if version else name
    spec.tag({"name": tag, "description": resource.spec.description or name})
    collection = {}
    if "create" in resource.spec.operations:
        collection["post"] = {
            "tags": [tag],
            "operationId": f"create_{name}{suffix}",
            "summary": f"Create one of {name}",
            "requestBody": {"required": True, "content": {"application/json": {"schema": selection}}},
            "responses": {
                "201": {
                    "description": "created; the record as the source returned it",
                    "headers": {"Location": {"schema": {"type": "string"}}},
                    "content": {"application/json": {"schema": selection}},
                },
                "404": openapi_response("the source says a record it needs does not exist"),
                **_ERRORS,
            },
        }
    spec.path(
        path=f"{base}/{name}",
        operations={
            **collection,
            **_when(
                "list" in resource.spec.operations,
                {
                    "get": {
                        "tags": [tag],
                        "operationId": f"list_{name}{suffix}",
                        "summary": f"List {name}",
                        "description": "Keyset pages." + filter_note(resource),
                        "parameters": list_parameters(resource),
                        "responses": {
                            "200": {
                                "description": "one page (application/json); with Accept: "
                                "application/x-ndjson or text/csv every matching record, "
                                "streamed as the export route streams it",
                                "headers": {
                                    "Link": {
                                        "schema": {"type": "string"},
                                        "description": 'rel="next" when there is one',
                                    }
                                },
                                "content": {
                                    "application/json": {"schema": {"$ref": f"#/components/schemas/{schema_name}Page"}},
                                    **{media: {"schema": {"type": "string"}} for media in MEDIA_TYPES.values()},
                                },
                            },
                            **_ERRORS,
                        },
                    }
                },
            ),
        },
    )
    if "list" in resource.spec.operations:
        spec.path(path=f"{base}/{name}/export", operations=_export_operation(resource, name, suffix, tag))
    if version is None and resource.spec.changes:  # the feed and quarantine: the base version's
        spec.path(path=f"{base}/{name}/changes", operations=_changes_operation(resource, name, ref))
    if version is None and resource.capabilities.lists_quarantine:
        spec.path(path=f"{base}/{name}/quarantine", operations=_quarantine_operation(name))
    key_path = "/".join("{" + k + "}" for k in resource.key)
    spec.path(
        path=f"{base}/{name}/{key_path}",
        operations={
            "get": {
                "tags": [tag],
                "operationId": f"get_{name}{suffix}",
                "summary": f"One of {name} by key",
                "parameters": [
                    {"name": k, "in": "path", "required": True, "schema": key_schema(resource, k)} for k in resource.key
                ]
                + [fields_parameter(resource), {"name": "If-None-Match", "in": "header", "schema": {"type": "string"}}],
                "responses": {
                    "200": {
                        "description": "the record",
                        "headers": {"ETag": {"schema": {"type": "string"}}},
                        "content": {"application/json": {"schema": ref}},
                    },
                    "304": {"description": "not modified (If-None-Match)"},
                    "404": openapi_response("no record with this key"),
                    **_ERRORS,
                },
            }
        },
    )


def build_spec(
    resources: dict[str, Resource],
    service: dict,
    config: Config | None = None,
    versions: list[tuple[ApiVersion, dict[str, Resource]]] | None = None,
    operations: bool = True,
) -> dict:
    """The document; with ``config``, its security (auth) and 429s (rate limits) too.
    ``versions``: the API versions to document with their resources (default: ``resources`` at
    ``service.base_path``); ``operations``: with /healthz, /readyz and /metrics."""
    marshmallow_plugin = MarshmallowPlugin()
    spec = APISpec(
        title=service["title"],
        version=str(service["version"]),
        openapi_version="3.0.3",
        plugins=[marshmallow_plugin],
        info={"description": "Legacy systems as clean REST resources. Errors are application/problem+json (RFC 9457)."},
    )
    assert marshmallow_plugin.converter is not None  # made when APISpec initialises its plugins
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
        if version.base and webhooks_usable(served):  # webhooks carry the base version's events
            add_webhook_paths(document, version.path, tuple(served))
    for version, _ in versions:
        document_deprecation(document, version)
    document["x-reserved-parameters"] = list(RESERVED)
    if config is not None:
        secure_document(document, config.auth, tuple(v.path for v, _ in versions))
        document_limits(document, config.rate_limits)
    return document


def _document_operations(spec: APISpec, service: dict) -> None:
    spec.components.schema("Readiness", _READINESS)
    ready = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Readiness"}}}}
    spec.path(
        path="/healthz",
        operations={
            "get": {"tags": ["operations"], "summary": "process alive", "responses": {"200": {"description": "alive"}}}
        },
    )
    spec.path(
        path="/readyz",
        operations={
            "get": {
                "tags": ["operations"],
                "summary": "every source reachable",
                "responses": {
                    "200": {"description": "ready", **ready},
                    "503": {"description": "a source is failing (named in detail)", **ready},
                },
            }
        },
    )
    if service.get("metrics", True):
        spec.path(
            path="/metrics",
            operations={
                "get": {
                    "tags": ["operations"],
                    "summary": "Prometheus metrics (text exposition format)",
                    "responses": {
                        "200": {"description": "the metrics", "content": {"text/plain": {"schema": {"type": "string"}}}}
                    },
                }
            },
        )
