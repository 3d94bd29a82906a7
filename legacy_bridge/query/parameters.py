"""The OpenAPI parameters of a resource's routes, read off the schema that parses them.

Each parameter is a field of the resource's list schema (:mod:`.schema`): its name, its JSON
Schema and its description come from the field, so what the document allows is what the
parser takes.  The filters' notes say which the legacy source applies itself (the planner's
word) where it does not apply them all, and which the source's list operation requires.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from legacy_bridge.query.legacy import OPERATORS
from legacy_bridge.query.parameter_fields import Condition, Parameter
from legacy_bridge.query.schema import list_schema

if TYPE_CHECKING:
    from legacy_bridge.resources import Resource

PAGE_ONLY = ("limit", "cursor")
RESERVED_ORDER = ("limit", "cursor", "sort", "fields", "embed", "updated_since", "partition")


def _filterable(resource: Resource) -> list[str]:
    return list(resource.mapping.filterable())


def partial_pushdown(resource: Resource) -> bool:
    """Whether the source applies only some of the filters (SOAP operations)."""
    return not all(resource.planner.pushed(n, op) for n in _filterable(resource) for op in OPERATORS)


def required_filters(resource: Resource) -> tuple[str, ...]:
    """The filters the source's list operation cannot do without (``list.required``)."""
    listing = resource.spec.target.get("list")
    return tuple(listing.get("required") or ()) if isinstance(listing, dict) else ()


def filter_note(resource: Resource) -> str:
    """The list operation's word on which filters the legacy source takes (SOAP operations)."""
    note = ""
    required = required_filters(resource)
    if required:
        note += (
            f" The source's list operation needs the filter(s) {', '.join(required)}: without one it "
            "refuses the list (400)."
        )
    if not partial_pushdown(resource):
        return note
    pushed = [
        f"{n}[{op}]" if op != "eq" else n
        for n in _filterable(resource)
        for op in OPERATORS
        if resource.planner.pushed(n, op)
    ]
    return note + (
        " Filters passed to the legacy source: "
        + (", ".join(pushed) or "none")
        + "; every other filter is applied by legacy-bridge after reading, so it costs a full read."
    )


def _parameter(resource: Resource, field: Parameter, partial: bool, required: tuple[str, ...]) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": field.parameter, "in": "query", "required": False, "schema": field.json_schema()}
    description = field.description()
    if isinstance(field, Condition):
        pushed = resource.planner.pushed(field.field_name, field.op)
        # list.required names a filter as its parameter: shipped_on, or shipped_on[gte] for a bound
        entry["required"] = (field.field_name if field.op == "eq" else field.parameter) in required
        if partial:
            description += " (passed to the legacy source)" if pushed else " (applied after reading the legacy source)"
            entry["x-pushdown"] = pushed
    if description:
        entry["description"] = description
    return entry


def list_parameters(resource: Resource, page: bool = True) -> list[dict[str, Any]]:
    """The parameters of the list route (``page``) or of the export (no limit, no cursor)."""
    partial, required = partial_pushdown(resource), required_filters(resource)
    params = [
        f
        for f in list_schema(resource).fields.values()
        if isinstance(f, Parameter) and f.documented and (page or f.parameter not in PAGE_ONLY)
    ]
    # the page's own parameters first, then the filters, as a reader looks for them
    reserved = sorted(
        (f for f in params if not isinstance(f, Condition)), key=lambda f: RESERVED_ORDER.index(f.parameter)
    )
    filters = [f for f in params if isinstance(f, Condition)]
    return [_parameter(resource, f, partial, required) for f in reserved + filters]


def _reserved(resource: Resource, name: str) -> dict[str, Any]:
    field = list_schema(resource).fields[f"q:{name}"]
    assert isinstance(field, Parameter)
    return _parameter(resource, field, False, ())


def fields_parameter(resource: Resource) -> dict[str, Any]:
    """``fields``, as a get takes it too."""
    return _reserved(resource, "fields")


def embed_parameters(resource: Resource) -> list[dict[str, Any]]:
    """``embed``, as a get takes it too (none for a resource without embedded fields)."""
    return [_reserved(resource, "embed")] if resource.spec.embeds else []


def limit_parameter(resource: Resource) -> dict[str, Any]:
    """``limit``, as the change feed takes it too."""
    return _reserved(resource, "limit")
