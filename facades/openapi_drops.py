"""The OpenAPI operations of a ``drop:`` resource: POST of one record or an array into the open
batch file, and POST .../close."""

from __future__ import annotations

from typing import Any

from legacy_bridge.drivers.flatfile.batches import DropRules
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
_DOCUMENT = {
    "type": "object",
    "required": ["written", "file", "interchange", "group"],
    "properties": {
        "written": {"type": "integer", "description": "transaction sets in the interchange (one per record)"},
        "file": {"type": "string", "description": "the interchange file delivered: <set>.<ISA13>.x12"},
        "interchange": {"type": "string", "description": "its interchange control number (ISA13), 9 digits"},
        "group": {"type": "integer", "description": "its functional group control number (GS06)"},
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
    assert isinstance(drop, DropRules)
    when = []
    if drop.records:
        when.append(f"it holds {drop.records} records")
    if drop.seconds:
        when.append(f"{drop.seconds:g} s after it opened")
    return "; a batch closes when " + ", ".join(when + ["when asked (POST .../close)"])


def _post(resource: Resource, name: str, suffix: str, tag: str, texts: tuple[str, str, str], answer: dict) -> dict:
    """A drop's POST: (summary, description, what a 202 means) and the 202's schema."""
    summary, description, accepted = texts
    return {
        "tags": [tag],
        "operationId": f"drop_{name}{suffix}",
        "summary": summary,
        "description": description,
        "parameters": [idempotency_parameter(resource.spec.idempotency)],
        "requestBody": one_or_many(body_schemas(resource)["create"]),
        "responses": {
            "202": {
                "description": accepted,
                "headers": REPLAYED_HEADER,
                "content": {"application/json": {"schema": answer}},
            },
            **IDEMPOTENCY_RESPONSES,
            **ERRORS,
        },
    }


def drop_operation(resource: Resource, name: str, suffix: str, tag: str) -> dict[str, Any]:
    """POST /<r>: records appended whole to the open batch file, in the source's format; on an
    x12 source, one interchange of a set per record written atomically."""
    if not isinstance(resource.spec.drop, DropRules):
        texts = (
            f"Send one or more of {name} as an X12 interchange",
            "One record, or an array: one transaction set per record, in one interchange and one functional "
            "group, its control numbers the partner's next (no gap, no repeat), written atomically into the "
            "outbound folder. Every record is converted and made into segments first: a value the mapping cannot "
            "write (a required one missing, not of its type, holding a delimiter) is a 400 naming the field "
            "([i].field in an array), nothing written.",
            "the interchange was written",
        )
        return _post(resource, name, suffix, tag, texts, _DOCUMENT)
    texts = (
        f"Drop one or more of {name} into the open batch file",
        "One record, or an array. Every record is encoded in the legacy layout before anything "
        "is written: a value it cannot hold (too long, a character the code page lacks, a number past its PIC) "
        "is a 400 naming the field ([i].field in an array), nothing written" + _rules(resource) + ".",
        "appended to the open batch",
    )
    return _post(resource, name, suffix, tag, texts, _WRITTEN)


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
