"""The OpenAPI document's operations beside a resource's list and get: its export, change feed and
quarantine, and the service's own /healthz, /readyz and /metrics; ``ERRORS`` are the answers every
resource operation may give."""

from __future__ import annotations

from typing import Any

from apispec import APISpec

from legacy_bridge.problems import openapi_response
from legacy_bridge.query.parameters import limit_parameter, list_parameters
from legacy_bridge.resources import Resource

from .quarantine import LIMIT_SCHEMA as QUARANTINE_LIMIT

ERRORS = {
    "400": openapi_response("invalid parameter (the body names it)"),
    "500": openapi_response("an unexpected error (the log has the details, tied by X-Request-ID)"),
    "502": openapi_response("the legacy source answered with an error"),
    "503": openapi_response("the legacy source is unavailable; see Retry-After"),
    "504": openapi_response("the legacy source timed out"),
}
#: the answers a resource's ``faults:`` config adds (SOAP): the kind of fault, its status and meaning
FAULT_ANSWERS = {
    "conflict": ("409", "the legacy system refuses the call in the record's present state (faults.conflict)"),
    "unprocessable": ("422", "the legacy system's business rules refuse the values (faults.unprocessable)"),
}


def fault_responses(resource: Resource) -> dict:
    """The responses the resource's fault kinds add to ``ERRORS`` (409, 422), where configured."""
    faults = resource.spec.target.get("faults")
    kinds: dict[str, Any] = faults if isinstance(faults, dict) else {}
    return {status: openapi_response(text) for kind, (status, text) in FAULT_ANSWERS.items() if kind in kinds}


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


def export_operation(resource: Resource, name: str, suffix: str = "", tag: str = "") -> dict:
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
                **ERRORS,
            },
        }
    }


def changes_operation(resource: Resource, name: str, record: dict) -> dict:
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
                **ERRORS,
            },
        }
    }


def quarantine_operation(name: str) -> dict:
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
                **ERRORS,
            },
        }
    }


def document_operations(spec: APISpec, service: dict) -> None:
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
