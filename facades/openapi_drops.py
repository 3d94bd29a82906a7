"""The OpenAPI operations of a ``drop:`` resource: POST of one record or an array into the open
batch file, and POST .../close."""

from __future__ import annotations

from typing import Any

from legacy_bridge.problems import openapi_response
from legacy_bridge.resources import Resource

from .openapi_operations import ERRORS
from .openapi_writes import IDEMPOTENCY_RESPONSES, REPLAYED_HEADER, body_schemas, idempotency_parameter, one_or_many

_WRITTEN = {
    "type": "object",
    "required": ["written", "closed"],
    "properties": {
        "written": {"type": "integer", "description": "records appended to the open batch"},
        "closed": {
            "type": "array",
            "items": {"type": "string"},
            "description": "files delivered meanwhile (batches that reached their size or age)",
        },
    },
}
_CLOSED = {
    "type": "object",
    "required": ["closed", "records"],
    "properties": {
        "closed": {"type": "string", "nullable": True, "description": "the file delivered; null: no batch was open"},
        "records": {"type": "integer", "description": "how many records it holds"},
    },
}


def _rules(resource: Resource) -> str:
    drop = resource.spec.drop
    assert drop is not None
    when = []
    if drop.records:
        when.append(f"it holds {drop.records} records")
    if drop.seconds:
        when.append(f"{drop.seconds:g} s after it opened")
    return "; a batch closes when " + ", ".join(when + ["when asked (POST .../close)"])


def drop_operation(resource: Resource, name: str, suffix: str, tag: str) -> dict[str, Any]:
    """POST /<r>: records appended whole to the open batch file, in the source's format."""
    return {
        "tags": [tag],
        "operationId": f"drop_{name}{suffix}",
        "summary": f"Drop one or more of {name} into the open batch file",
        "description": "One record, or an array. Every record is encoded in the legacy layout before anything "
        "is written: a value it cannot hold (too long, a character the code page lacks, a number past its PIC) "
        "is a 400 naming the field ([i].field in an array), nothing written" + _rules(resource) + ".",
        "parameters": [idempotency_parameter(resource.spec.idempotency)],
        "requestBody": one_or_many(body_schemas(resource)["create"]),
        "responses": {
            "202": {
                "description": "appended to the open batch",
                "headers": REPLAYED_HEADER,
                "content": {"application/json": {"schema": _WRITTEN}},
            },
            **IDEMPOTENCY_RESPONSES,
            **ERRORS,
        },
    }


def close_operation(name: str, suffix: str, tag: str) -> dict[str, Any]:
    """POST /<r>/close: the open batch renamed to its final name now."""
    return {
        "post": {
            "tags": [tag],
            "operationId": f"close_{name}{suffix}",
            "summary": f"Close the open batch of {name} now",
            "description": "The batch file gets its header and trailer (count, control total) and its final "
            "name, atomically; with no batch open, nothing happens.",
            "responses": {
                "200": {"description": "closed", "content": {"application/json": {"schema": _CLOSED}}},
                "409": openapi_response("batch-not-closed: its header or trailer cannot hold its values"),
                "500": openapi_response("an unexpected error (the log has the details, tied by X-Request-ID)"),
            },
        }
    }
