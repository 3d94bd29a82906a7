"""The OpenAPI operations of the actions (stored procedures and functions): ``POST`` with the
IN / INOUT parameters as the body, or ``GET`` with them as query arguments when the action is
read-only; the answer holds ``return``, ``out`` and ``result_sets`` as the action declares."""

from __future__ import annotations

from typing import Any

from apispec import APISpec

from legacy_bridge.actions import Action
from legacy_bridge.errors import ActionRefused, ConstraintViolated
from legacy_bridge.problems import PROBLEM_BASE, openapi_response

from .openapi_operations import ERRORS
from .openapi_writes import REPLAYED_HEADER, idempotency_parameter

REFUSED = (
    f"the routine raised an error on purpose (PostgreSQL RAISE ... ERRCODE 'P0001', MariaDB SIGNAL "
    f"SQLSTATE '45000'): type {PROBLEM_BASE}{ActionRefused.slug}, its SQLSTATE in legacy_code, its message "
    "in detail"
)
CONFLICT = (
    f"the routine broke an integrity constraint (SQLSTATE 23xxx): type {PROBLEM_BASE}{ConstraintViolated.slug}, "
    "the SQLSTATE in legacy_code"
)


def _summary(action: Action) -> str:
    spec = action.spec
    return spec.description or f"Call the {spec.kind} {spec.routine}"


def action_operation(spec: APISpec, name: str, action: Action) -> dict[str, Any]:
    """The one operation of action ``name`` (its schemas added to ``spec``'s components)."""
    params, answer = action.contract.__name__, action.answer_contract.__name__
    for schema_name, schema in ((params, action.contract), (answer, action.answer_contract)):
        if schema_name not in spec.components.schemas:
            spec.components.schema(schema_name, schema=schema)
    ok = {
        "description": "the routine's answer: its return value (return), OUT and INOUT values (out) and "
        "each result set by name (result_sets)",
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{answer}"}}},
    }
    operation: dict[str, Any] = {
        "tags": ["actions"],
        "operationId": f"action_{name.replace('-', '_')}",
        "summary": _summary(action),
        "responses": {"200": ok, "409": openapi_response(CONFLICT), "422": openapi_response(REFUSED), **ERRORS},
    }
    if action.spec.read_only:
        operation["parameters"] = [{"in": "query", "schema": action.contract}]
        return {"get": operation}
    operation["parameters"] = [idempotency_parameter(action.spec.idempotency, "action")]
    operation["requestBody"] = {
        "required": bool(action.spec.required),
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{params}"}}},
    }
    ok["headers"] = dict(REPLAYED_HEADER)
    operation["responses"]["409"] = openapi_response(
        CONFLICT + "; or the first call with this Idempotency-Key still runs"
    )
    operation["responses"]["422"] = openapi_response(
        REFUSED + "; or the Idempotency-Key was used for a call with another payload"
    )
    return {"post": operation}


def document_actions(spec: APISpec, base: str, actions: dict[str, Action]) -> None:
    """A path per action under ``base`` (the base version's path), tagged ``actions``."""
    if not actions:
        return
    spec.tag({"name": "actions", "description": "Stored procedures and database functions of the legacy sources"})
    for name, action in actions.items():
        spec.path(path=f"{base}/{name}", operations=action_operation(spec, name, action))
