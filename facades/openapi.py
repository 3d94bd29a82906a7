"""The OpenAPI 3 document, generated with apispec from the resources' contracts: each resource's
record schemas, list and get (the other operations: openapi_operations.py), and the assembly of the
whole document."""

from __future__ import annotations

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import INCLUDE, Schema, fields

from legacy_bridge.actions import Action
from legacy_bridge.config import Config
from legacy_bridge.config.model import ApiVersion, base_version
from legacy_bridge.contracts.schema import Base64, Pattern
from legacy_bridge.errors import RecordQuarantined
from legacy_bridge.formats.encoders import MEDIA_TYPES
from legacy_bridge.problems import PROBLEM_BASE, openapi_response
from legacy_bridge.query.parameters import embed_parameters, fields_parameter, filter_note, list_parameters
from legacy_bridge.query.schema import RESERVED
from legacy_bridge.query.values import LOCAL_DATE_TIME, LOCAL_TIME, RECORD_TYPES, key_schema, zone_note
from legacy_bridge.resources import Resource
from legacy_bridge.security.auth import secure_document
from legacy_bridge.security.ratelimit import document_limits

from .openapi_actions import document_actions
from .openapi_drops import close_operation, drop_operation
from .openapi_operations import (
    ERRORS,
    changes_operation,
    document_operations,
    export_operation,
    fault_responses,
    quarantine_operation,
)
from .openapi_writes import (
    IDEMPOTENCY_RESPONSES,
    REPLAYED_HEADER,
    create_operation,
    idempotency_parameter,
    record_operations,
)
from .partitions import partitions_operation
from .versions import document_deprecation
from .webhooks import usable as webhooks_usable
from .webhooks_openapi import add_openapi as add_webhook_paths


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
    patterns = [v.pattern for v in field.validators if isinstance(v, Pattern)]
    return {"pattern": patterns[0]} if patterns else {}


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
    if resource.drop is not None:
        collection["post"] = drop_operation(resource, name, suffix, tag)
        if resource.drop.batched:
            spec.path(path=f"{base}/{name}/close", operations=close_operation(name, suffix, tag))
    elif resource.table_writer is not None and resource.table_writer.spec.create:
        collection["post"] = create_operation(resource, name, suffix, tag, ref, selection)
    elif "create" in resource.spec.operations:
        collection["post"] = {
            "tags": [tag],
            "operationId": f"create_{name}{suffix}",
            "summary": f"Create one of {name}",
            "parameters": [idempotency_parameter(resource.spec.idempotency)],
            "requestBody": {"required": True, "content": {"application/json": {"schema": selection}}},
            "responses": {
                "201": {
                    "description": "created; the record as the source returned it",
                    "headers": {"Location": {"schema": {"type": "string"}}, **REPLAYED_HEADER},
                    "content": {"application/json": {"schema": selection}},
                },
                "404": openapi_response("the source says a record it needs does not exist"),
                **IDEMPOTENCY_RESPONSES,
                **ERRORS,
                **fault_responses(resource),
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
                            **ERRORS,
                            **fault_responses(resource),
                        },
                    }
                },
            ),
        },
    )
    if "list" in resource.spec.operations:
        spec.path(path=f"{base}/{name}/export", operations=export_operation(resource, name, suffix, tag))
        spec.path(path=f"{base}/{name}/partitions", operations=partitions_operation(resource, name, suffix, tag))
    if version is None and resource.spec.changes:  # the feed and quarantine: the base version's
        spec.path(path=f"{base}/{name}/changes", operations=changes_operation(resource, name, ref))
    if version is None and resource.capabilities.lists_quarantine:
        spec.path(path=f"{base}/{name}/quarantine", operations=quarantine_operation(name))
    key_path = "/".join("{" + k + "}" for k in resource.key)
    key_parameters = [
        {"name": k, "in": "path", "required": True, "schema": key_schema(resource, k)} for k in resource.key
    ]
    spec.path(
        path=f"{base}/{name}/{key_path}",
        operations={
            "get": {
                "tags": [tag],
                "operationId": f"get_{name}{suffix}",
                "summary": f"One of {name} by key",
                "parameters": key_parameters
                + [fields_parameter(resource), *embed_parameters(resource)]
                + [{"name": "If-None-Match", "in": "header", "schema": {"type": "string"}}],
                "responses": {
                    "200": {
                        "description": "the record",
                        "headers": {"ETag": {"schema": {"type": "string"}}},
                        "content": {"application/json": {"schema": ref}},
                    },
                    "304": {"description": "not modified (If-None-Match)"},
                    "404": openapi_response(
                        "no record with this key; a flat file's record skipped as bad (policy quarantine) "
                        f"is a problem of type {PROBLEM_BASE}{RecordQuarantined.slug} naming its file, "
                        "record number and byte offset"
                        if resource.capabilities.lists_quarantine
                        else "no record with this key"
                    ),
                    **ERRORS,
                    **fault_responses(resource),
                },
            },
            **record_operations(resource, name, suffix, tag, ref, selection, key_parameters),
        },
    )


def build_spec(
    resources: dict[str, Resource],
    service: dict,
    config: Config | None = None,
    versions: list[tuple[ApiVersion, dict[str, Resource]]] | None = None,
    operations: bool = True,
    actions: dict[str, Action] | None = None,
) -> dict:
    """The document; with ``config``, its security (auth) and 429s (rate limits) too.
    ``versions``: the API versions to document with their resources (default: ``resources`` at
    ``service.base_path``); ``operations``: with /healthz, /readyz and /metrics; ``actions``: the
    stored procedures and functions, under the base version's path."""
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
        if version.base:
            document_actions(spec, version.path, actions or {})
    if operations:
        document_operations(spec, service)
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
