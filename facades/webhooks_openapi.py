"""The webhook routes in the OpenAPI document: the subscription and delivery schemas and every
route that facades/webhooks.py serves, with the same bounds it enforces."""

from __future__ import annotations

from typing import Any

from legacy_bridge.events import outbox
from legacy_bridge.problems import openapi_response

from .webhooks import MAX_ID, MAX_LIMIT, STATUSES


def _op(summary: str, responses: dict, **extra: Any) -> dict:
    return {"tags": ["webhooks"], "summary": summary, "responses": responses, **extra}


def _ok(description: str, schema: str | dict) -> dict:
    schema = {"$ref": f"#/components/schemas/{schema}"} if isinstance(schema, str) else schema
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_TIME = {"type": "string", "format": "date-time", "nullable": True}


#: a target URL as the route surely takes it (its host must still resolve to an allowed address)
URL_PATTERN = r"^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9.-]+(?::[0-9]{1,4})?(?:[/?#]\S*)?$"
KINDS = ("created", "updated", "deleted", "*")


def add_openapi(document: dict, base_path: str, resources: tuple[str, ...] = ()) -> None:
    """Document the webhook routes in an OpenAPI 3.0 ``document`` (in place); ``resources``:
    the names events may be subscribed to."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    events = [f"{r}.{k}" for r in (*resources, "*") for k in KINDS]
    schemas["WebhookSubscription"] = {
        "type": "object",
        "required": ["url", "events"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "string", "readOnly": True},
            "url": {
                "type": "string",
                "format": "uri",
                "pattern": URL_PATTERN,
                "description": "http(s); no credentials, no loopback, link-local or metadata address",
            },
            "events": {
                "type": "array",
                "minItems": 1,
                "items": {"type": "string", "enum": events},
                "description": "<resource|*>.<created|updated|deleted|*>",
            },
            "description": {"type": "string", "nullable": True},
            "secret": {
                "type": "string",
                "readOnly": True,
                "description": "whsec_...: in the 201 answer only, to verify webhook-signature",
            },
            "created_at": {"type": "string", "format": "date-time", "readOnly": True},
        },
    }
    schemas["WebhookDelivery"] = {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "event_id": {"type": "integer"},
            "webhook_id": {"type": "string", "description": "the webhook-id header: the same on every attempt"},
            "event_type": {"type": "string"},
            "status": {"type": "string", "enum": list(STATUSES)},
            "attempts": {"type": "integer"},
            "last_status": {"type": "integer", "nullable": True},
            "last_error": {"type": "string", "nullable": True},
            "last_worker": {"type": "string", "nullable": True},
            "next_attempt_at": _TIME,
            "last_attempt_at": _TIME,
            "delivered_at": _TIME,
            "created_at": _TIME,
        },
    }
    sub = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
    dlv = {
        "name": "delivery",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "format": "int64", "minimum": 0, "maximum": MAX_ID},
    }
    missing = openapi_response("no such subscription or delivery")
    bad = openapi_response("invalid body or parameter (named in the problem)")
    root = f"{base_path}/webhooks"
    paths = document.setdefault("paths", {})
    paths[root] = {
        "post": _op(
            "Subscribe a URL to change events",
            {"201": _ok("subscribed; the secret is shown this once", "WebhookSubscription"), "400": bad},
            operationId="create_webhook",
            requestBody={
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/WebhookSubscription"}}},
            },
        ),
        "get": _op(
            "List subscriptions",
            {
                "200": _ok(
                    "every subscription",
                    {
                        "type": "object",
                        "properties": {
                            "data": {"type": "array", "items": {"$ref": "#/components/schemas/WebhookSubscription"}}
                        },
                    },
                )
            },
            operationId="list_webhooks",
        ),
    }
    paths[f"{root}/{{id}}"] = {
        "parameters": [sub],
        "get": _op(
            "One subscription",
            {"200": _ok("the subscription", "WebhookSubscription"), "404": missing},
            operationId="get_webhook",
        ),
        "delete": _op(
            "Unsubscribe",
            {"204": {"description": "gone, with its deliveries"}, "404": missing},
            operationId="delete_webhook",
        ),
    }
    paths[f"{root}/{{id}}/deliveries"] = {
        "parameters": [sub],
        "get": _op(
            "A subscription's deliveries, newest first",
            {
                "200": _ok(
                    "one page",
                    {
                        "type": "object",
                        "properties": {
                            "data": {"type": "array", "items": {"$ref": "#/components/schemas/WebhookDelivery"}},
                            "next_before": {
                                "type": "integer",
                                "nullable": True,
                                "description": "pass as before= for the next page",
                            },
                        },
                    },
                ),
                "400": bad,
                "404": missing,
            },
            operationId="list_webhook_deliveries",
            parameters=[
                {"name": "status", "in": "query", "schema": {"type": "string", "enum": list(STATUSES)}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}},
                {"name": "before", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID}},
            ],
        ),
    }
    paths[f"{root}/{{id}}/deliveries/{{delivery}}"] = {
        "parameters": [sub, dlv],
        "get": _op(
            "One delivery",
            {"200": _ok("the delivery", "WebhookDelivery"), "404": missing},
            operationId="get_webhook_delivery",
        ),
    }
    paths[f"{root}/{{id}}/deliveries/{{delivery}}/redeliver"] = {
        "parameters": [sub, dlv],
        "post": _op(
            "Send a dead (or delivered) delivery again",
            {
                "202": _ok("queued again: same body and webhook-id, fresh attempt budget", "WebhookDelivery"),
                "404": missing,
                "409": openapi_response("still pending: it is retried by itself"),
            },
            operationId="redeliver_webhook_delivery",
        ),
    }
    paths[f"{root}/{{id}}/redeliver"] = {
        "parameters": [sub],
        "post": _op(
            "Send again every dead (or delivered) delivery made in a time range",
            {
                "202": _ok(
                    "queued again, each with its body and webhook-id and a fresh attempt budget",
                    {
                        "type": "object",
                        "properties": {"redelivered": {"type": "integer"}, "status": {"type": "string"}},
                    },
                ),
                "400": bad,
                "404": missing,
            },
            operationId="redeliver_webhook_deliveries",
            requestBody={
                "required": False,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "status": {
                                    "type": "string",
                                    "enum": [outbox.DEAD, outbox.DELIVERED],
                                    "default": outbox.DEAD,
                                },
                                "since": {
                                    "type": "string",
                                    "format": "date-time",
                                    "description": "deliveries made at or after",
                                },
                                "until": {
                                    "type": "string",
                                    "format": "date-time",
                                    "description": "deliveries made before",
                                },
                            },
                            "additionalProperties": False,
                        }
                    }
                },
            },
        ),
    }
