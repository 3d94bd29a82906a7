"""The fields of a list's query string: each parameter parses its text and says its JSON Schema.

One marshmallow field per parameter (a filter's ``<field>[<op>]``, ``fields``, ``embed``,
``sort``, ``limit``, ``cursor``, ``partition``, ``updated_since``), so the OpenAPI document
(:mod:`.parameters`) and the parser cannot drift apart.  :mod:`.schema` assembles them into one
resource's schema; they live apart from it as they are the vocabulary both it and the docs use.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from marshmallow import fields

from legacy_bridge.errors import InvalidInput
from legacy_bridge.query.model import Filter, Watermark
from legacy_bridge.query.values import (
    canonical_value,
    in_list_schema,
    like_schema,
    names_schema,
    since_schema,
    typed_value,
    value_schema,
)

if TYPE_CHECKING:
    from legacy_bridge.resources import Resource

MAX_IN_VALUES = 100
LIKE_OPERATORS = ("startswith", "contains")


def known_fields(resource: Resource) -> str:
    """The resource's fields, listed for an error that names a wrong one."""
    return ", ".join(resource.mapping.fields)


def unknown_field(resource: Resource, name: str, parameter: str) -> InvalidInput:
    """A 400 for ``name``, a field the resource lacks, listing those it has."""
    return InvalidInput(
        f"unknown field {name!r}; fields: {known_fields(resource)}", parameter=parameter, slug="unknown-field"
    )


class Parameter(fields.Field):
    """One query parameter of a resource: parses its text (a 400 naming it otherwise) and
    says what it takes as a JSON Schema, for the OpenAPI document."""

    documented = True

    def __init__(self, resource: Resource, parameter: str, **kwargs: Any) -> None:
        super().__init__(data_key=parameter, **kwargs)
        self.resource = resource
        self.parameter = parameter

    def json_schema(self) -> dict[str, Any]:
        return {"type": "string"}

    def description(self) -> str:
        return ""


class Limit(Parameter):
    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        most = self.resource.spec.max_limit
        if not value.isdigit() or not 1 <= int(value) <= most:
            raise InvalidInput(
                f"limit must be an integer from 1 to {most}, got {value!r}",
                parameter="limit",
                slug="limit-out-of-range",
            )
        return int(value)

    def json_schema(self) -> dict[str, Any]:
        spec = self.resource.spec
        return {"type": "integer", "minimum": 1, "maximum": spec.max_limit, "default": spec.default_limit}


class Cursor(Parameter):
    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str | None:
        return value or None

    def description(self) -> str:
        return "the `next` of the previous page (opaque, signed: any other text is a 400)"


class PartitionToken(Parameter):
    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str | None:
        return value or None  # empty: the whole read, as an empty cursor is the first page

    def description(self) -> str:
        return (
            "a token of the partitions route: only that partition's records (opaque, signed; it must "
            "come with the filters the partitions were planned with)"
        )


class Names(Parameter):
    """``fields``: a comma-separated selection of the contract's fields."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> list[str]:
        return named_fields(self.resource, value)

    def json_schema(self) -> dict[str, Any]:
        return names_schema(list(self.resource.mapping.fields))

    def description(self) -> str:
        return (
            f"comma-separated subset of: {', '.join(self.resource.mapping.fields)}; the records then "
            f"hold only these fields (the record schema's required list is for whole records)"
        )


class Embeds(Parameter):
    """``embed``: a comma-separated choice of the resource's embedded fields (``embed:``)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> list[str]:
        return parse_embed(self.resource, value)

    def json_schema(self) -> dict[str, Any]:
        one = "(?:" + "|".join(map(re.escape, self.resource.spec.embeds)) + ")"
        return {"type": "string", "pattern": f"^(?:{one}(?:,{one})*)?$"}

    def description(self) -> str:
        embeds = self.resource.spec.embeds
        defaults = [n for n, e in embeds.items() if e.default]
        return (
            f"comma-separated subset of: {', '.join(embeds)}: each record holds these children, read "
            f"with one more query per page; default: {', '.join(defaults) or 'none'} (empty: none). "
            f"`fields` embeds those it names, and without `embed` only those."
        )


class Sort(Parameter):
    def __init__(self, resource: Resource, parameter: str, **kwargs: Any) -> None:
        super().__init__(resource, parameter, **kwargs)
        # a source read in its own order takes no sort: the document does not offer one
        self.documented = resource.capabilities.supports_sort and bool(self._sortable())

    def _sortable(self) -> list[str]:
        return [n for n, f in self.resource.mapping.fields.items() if f.sort]

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> list[tuple[str, bool]]:
        order, seen = [], set()
        for part in value.split(",") if value else ():
            name = part[1:] if part.startswith("-") else part
            fmap = self.resource.mapping.fields.get(name)
            if fmap is None:
                raise unknown_field(self.resource, name, "sort")
            if not fmap.sort:
                raise InvalidInput(
                    f"{name!r} cannot be sorted on; sortable fields: {', '.join(self._sortable())}",
                    parameter="sort",
                    slug="field-not-sortable",
                )
            if name not in seen:  # named again: the first mention already orders by it
                seen.add(name)
                order.append((name, part.startswith("-")))
        return order

    def json_schema(self) -> dict[str, Any]:
        return names_schema(self._sortable(), signed=True, empty=True)  # empty: the key's order

    def description(self) -> str:
        return (
            f"comma-separated, '-' for descending (a field named again adds nothing); "
            f"sortable: {', '.join(self._sortable())}"
        )


class UpdatedSince(Parameter):
    """``updated_since``: the watermark a pull resumes after, parsed once, in canonical terms."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Watermark:
        resource = self.resource
        names = resource.spec.watermark
        if not value:
            return Watermark(None, value)
        if len(names) == 1:
            return Watermark((canonical_value(resource, names[0], value, "updated_since"),), value)
        # a YYYYMMDD+HHMMSS pair: one ISO timestamp, split once it is in the source's time zone
        if "T" not in value:
            raise InvalidInput(
                f"updated_since: {value!r} is not valid (expected a timestamp such as 2024-01-31T12:34:56)",
                parameter="updated_since",
            )
        stamp = typed_value(resource, "datetime", value, "updated_since")
        return Watermark((stamp.date(), stamp.time()), value)

    def json_schema(self) -> dict[str, Any]:
        return since_schema(self.resource)

    def description(self) -> str:
        return (
            f"rows whose watermark ({', '.join(self.resource.spec.watermark)}) is greater, in "
            "watermark order; empty: from the first; the page's `watermark` resumes"
        )


class Condition(Parameter):
    """``<field>[<op>]``: one filter, its value canonical."""

    def __init__(self, resource: Resource, name: str, op: str, parameter: str, **kwargs: Any) -> None:
        super().__init__(resource, parameter, **kwargs)
        self.field_name, self.op = name, op
        self.documented = parameter == name or op != "eq"  # name[eq] is an alias of name

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Filter:
        resource, name, op, parameter = self.resource, self.field_name, self.op, self.parameter
        if op == "isnull":
            if value not in ("true", "false"):
                raise InvalidInput(f"{parameter}: expected true or false, got {value!r}", parameter=parameter)
            return Filter(name, op, value == "true", parameter, value)
        if op in LIKE_OPERATORS:
            if not value:
                raise InvalidInput(f"{parameter}: an empty value matches everything", parameter=parameter)
            return Filter(name, op, value, parameter, value)
        if op == "in":
            if not value:  # whatever the field's type: an empty text is no list
                raise InvalidInput(
                    f"{parameter}: an empty list; give 1 to {MAX_IN_VALUES} comma-separated values", parameter=parameter
                )
            items = value.split(",")
            if len(items) > MAX_IN_VALUES:
                raise InvalidInput(f"{parameter}: at most {MAX_IN_VALUES} values", parameter=parameter)
            return Filter(
                name, op, tuple(canonical_value(resource, name, i, parameter) for i in items), parameter, value
            )
        return Filter(name, op, canonical_value(resource, name, value, parameter), parameter, value)

    def json_schema(self) -> dict[str, Any]:
        sent = self.resource.planner.pushed(self.field_name, self.op)  # else compared here: any text
        if self.op == "isnull":
            return {"type": "boolean"}
        if self.op == "in":
            return in_list_schema(self.resource, self.field_name, MAX_IN_VALUES, sent)
        if self.op in LIKE_OPERATORS:
            return like_schema(self.resource, sent)
        return value_schema(self.resource, self.field_name, sent)

    def description(self) -> str:
        return f"{self.field_name} {self.op}" + (" (legacy sentinels count as null)" if self.op == "isnull" else "")


def named_fields(resource: Resource, text: str) -> list[str]:
    """The fields ``fields`` names."""
    names = [n for n in text.split(",") if n]
    if not names:
        raise InvalidInput("fields: name at least one field", parameter="fields")
    for name in names:
        if name not in resource.mapping.fields:
            raise unknown_field(resource, name, "fields")
    return names


def parse_embed(resource: Resource, text: str) -> list[str]:
    """``embed``: the embedded fields it names (none for an empty text)."""
    embeds = resource.spec.embeds
    names = [n for n in text.split(",") if n]
    for name in names:
        if name not in embeds:
            raise InvalidInput(
                f"embed: {name!r} is not an embedded field of {resource.name!r}; "
                f"embedded fields: {', '.join(embeds) or 'none'}",
                parameter="embed",
                slug="unknown-field",
            )
    return names


__all__ = [
    "MAX_IN_VALUES",
    "LIKE_OPERATORS",
    "Parameter",
    "Limit",
    "Cursor",
    "PartitionToken",
    "Names",
    "Embeds",
    "Sort",
    "UpdatedSince",
    "Condition",
    "known_fields",
    "unknown_field",
    "named_fields",
    "parse_embed",
]
