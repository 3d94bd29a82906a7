"""The OpenAPI operations of a resource's writes: a table's (``writes:``) POST of one record or
an array, and PATCH, PUT and DELETE by key with ``If-Match`` (a table's, or a SOAP resource's
update and delete operations)."""

from __future__ import annotations

from typing import Any

from legacy_bridge.problems import openapi_response
from legacy_bridge.query.values import body_schema
from legacy_bridge.resources import Resource

from .openapi_operations import ERRORS, fault_responses

_ETAG = {"ETag": {"schema": {"type": "string"}, "description": "the record's ETag: what If-Match names"}}
_CONFLICT = openapi_response(
    "duplicate-key, constraint-violated (the source's own constraint, its SQLSTATE in legacy_code) or "
    "write-conflict (concurrent writers kept the write from passing: try again)"
)


def _duration(seconds: float) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count > 1 else ''}"
    return f"{seconds:g} seconds"


def idempotency_parameter(options: dict[str, Any], noun: str = "resource") -> dict[str, Any]:
    """The Idempotency-Key header of a POST (the IETF httpapi draft), under a resource's or an
    action's ``idempotency`` options."""
    return {
        "name": "Idempotency-Key",
        "in": "header",
        "required": options["required"],
        "schema": {"type": "string", "minLength": 1, "maxLength": 255},
        "description": "a unique value per intended call: a retry with the same key and payload gets the first "
        "answer again (Idempotent-Replayed: true) and writes nothing; the same key with another payload is a "
        f"422, while the first call still runs a 409. Keys are kept {_duration(options['expire'])}"
        + (f"; required by this {noun}" if options["required"] else ""),
    }


IDEMPOTENCY_RESPONSES = {
    "409": openapi_response("the first call with this Idempotency-Key still runs; or a write conflict"),
    "422": openapi_response("the Idempotency-Key was used for a call with another payload"),
}
REPLAYED_HEADER = {
    "Idempotent-Replayed": {"schema": {"type": "string", "enum": ["true"]}, "description": "a replayed first answer"}
}


def _if_match(resource: Resource) -> dict[str, Any]:
    required = bool(resource.writer and resource.writer.spec.require_if_match)
    return {
        "name": "If-Match",
        "in": "header",
        "required": required,
        "schema": {"type": "string"},
        "description": "the ETag of the whole record (a GET without fields): the write happens only if the "
        "record is still that version, else 412 with the current ETag"
        + ("; required by this resource (428 without it)" if required else ""),
    }


def body_schemas(resource: Resource) -> dict[str, dict]:
    """The bodies a resource's table writes take: ``create`` (the fields never null required,
    a generated key left out), ``replace`` (PUT: the same without the key, which is the path's)
    and ``update`` (PATCH: any of them)."""
    writer = resource.writer
    generated = writer is not None and writer.generated
    fields = resource.mapping.fields
    values = {n: body_schema(resource, n) for n in fields}

    def shape(names: list[str], required: bool) -> dict:
        schema: dict[str, Any] = {
            "type": "object",
            "additionalProperties": False,
            "properties": {n: values[n] for n in names},
        }
        must = [n for n in names if not fields[n].nullable]
        if required and must:
            schema["required"] = must
        return schema

    not_key = [n for n in fields if n not in resource.key]
    return {
        "create": shape(not_key if generated else list(fields), required=True),
        "replace": shape(not_key, required=True),
        "update": shape(not_key, required=False),
    }


def one_or_many(body: dict) -> dict[str, Any]:
    """The request body of a POST taking one record (``body``) or an array of them."""
    return {
        "required": True,
        "content": {"application/json": {"schema": {"oneOf": [body, {"type": "array", "items": body, "minItems": 1}]}}},
    }


def create_operation(resource: Resource, name: str, suffix: str, tag: str, ref: dict, selection: dict) -> dict:
    """POST /<r>: one record, or an array written all or none."""
    key = resource.table_writer.spec.key if resource.table_writer else "client"
    body = body_schemas(resource)["create"]
    given = "the key is given by the client" if key == "client" else f"the source gives the key ({key}): omit it"
    return {
        "tags": [tag],
        "operationId": f"create_{name}{suffix}",
        "summary": f"Create one or more of {name}",
        "description": f"One record, or an array of records written all or none in one transaction (a "
        f"problem names the first bad element as [i].field); {given}. Fields that are never null are required.",
        "parameters": [idempotency_parameter(resource.spec.idempotency)],
        "requestBody": one_or_many(body),
        "responses": {
            "201": {
                "description": "created: the record as read back (an array: {data: [records]})",
                "headers": {"Location": {"schema": {"type": "string"}}, **_ETAG, **REPLAYED_HEADER},
                "content": {
                    "application/json": {
                        "schema": {
                            "oneOf": [
                                ref,
                                {
                                    "type": "object",
                                    "required": ["data"],
                                    "properties": {"data": {"type": "array", "items": ref}},
                                },
                            ]
                        }
                    }
                },
            },
            **IDEMPOTENCY_RESPONSES,
            "409": _CONFLICT,
            **ERRORS,
        },
    }


def record_operations(
    resource: Resource, name: str, suffix: str, tag: str, ref: dict, selection: dict, key_parameters: list[dict]
) -> dict[str, dict]:
    """PATCH, PUT and DELETE of one record, as its ``writes:`` (or its SOAP operations) allow."""
    operations: dict[str, dict] = {}
    preconditions: dict[str, Any] = {
        "404": openapi_response("no record with this key"),
        "409": _CONFLICT,
        "412": openapi_response("If-Match names another version of the record; ETag holds the current one"),
        "428": openapi_response("this resource takes the write only with If-Match"),
        **fault_responses(resource),
    }
    # a SOAP service's operations: the record is read (get operation), compared, then written
    how = (
        {}
        if resource.table_writer is not None
        else {
            "description": "The source is a SOAP service: the record is read with its get operation, If-Match "
            "compared with it, then the operation called (check-then-act, not atomic: a change made between "
            "the two by another client of the service is not seen). PATCH sends the record read with the "
            "fields given laid over it; a nested field given is replaced whole."
        }
    )
    if "update" in resource.spec.operations:
        bodies = body_schemas(resource)
        for method, what, body in (
            ("patch", "Change the fields given of", bodies["update"]),
            ("put", "Replace (absent fields become null)", bodies["replace"]),
        ):
            operations[method] = {
                "tags": [tag],
                "operationId": f"{'update' if method == 'patch' else 'replace'}_{name}{suffix}",
                "summary": f"{what} one of {name}",
                **how,
                "parameters": [*key_parameters, _if_match(resource)],
                "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
                "responses": {
                    "200": {
                        "description": "the record as read back",
                        "headers": _ETAG,
                        "content": {"application/json": {"schema": ref}},
                    },
                    **preconditions,
                    **ERRORS,
                },
            }
    if "delete" in resource.spec.operations:
        operations["delete"] = {
            "tags": [tag],
            "operationId": f"delete_{name}{suffix}",
            "summary": f"Delete one of {name}",
            **how,
            "parameters": [*key_parameters, _if_match(resource)],
            "responses": {"204": {"description": "deleted"}, **preconditions, **ERRORS},
        }
    return operations
