"""The query string of a list, as one marshmallow schema generated from a resource's contract.

    ?<field>=<value>              equals (same as <field>[eq])
    ?<field>[<op>]=<value>        op: eq ne lt lte gt gte in startswith contains isnull
    ?<field>[in]=MA,NY            comma-separated values
    ?<field>[isnull]=true|false
    ?sort=-opened_on,id           '-' for descending; the key always breaks ties
    ?fields=id,name               the fields to return
    ?embed=lines                  the embedded fields (children from other tables) to add
    ?limit=100                    1..max_limit
    ?cursor=<opaque>              the `next` of the previous page
    ?updated_since=<watermark>    rows whose watermark is greater (resources with one);
                                  empty: every row, in watermark order

The same schema parses a request into a canonical :class:`ListQuery` and documents each
parameter (:func:`list_parameters`): every parameter is a field that parses its text and
says its own JSON Schema, so the document cannot drift from the parser.  Values are parsed
as the canonical type (a date is ``2020-01-01``) and held to a supplied contract's rules; a
date-time with a UTC offset is taken to the source's time zone.  Whether the source can hold
a value is the planner's question.  Anything else is a 400 naming the parameter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping as MappingT
from functools import cache
from typing import TYPE_CHECKING, Any

from marshmallow import Schema, ValidationError, fields, pre_load

from legacy_bridge.errors import InvalidInput
from legacy_bridge.query.legacy import OPERATORS
from legacy_bridge.query.model import Filter, ListQuery, Watermark
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

RESERVED = ("sort", "fields", "embed", "limit", "cursor", "updated_since", "partition")
PARAMETER = re.compile(r"^([a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)?)(?:\[([a-z]+)\])?$")
MAX_IN_VALUES = 100
LIKE_OPERATORS = ("startswith", "contains")


def _known(resource: Resource) -> str:
    return ", ".join(resource.mapping.fields)


def unknown_field(resource: Resource, name: str, parameter: str) -> InvalidInput:
    return InvalidInput(
        f"unknown field {name!r}; fields: {_known(resource)}", parameter=parameter, slug="unknown-field"
    )


def _likeable(resource: Resource, name: str) -> bool:
    fmap = resource.mapping.field(name)
    return fmap.value_type == "string" and fmap.converter.supports_like


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


def _operators(resource: Resource, name: str) -> list[str]:
    return [op for op in OPERATORS if op not in LIKE_OPERATORS or _likeable(resource, name)]


class ListSchema(Schema):
    """The query string of one resource's list (built by :func:`list_schema`)."""

    resource: Resource

    @pre_load
    def single_values(self, args: MappingT[str, list[str]], **_: Any) -> dict[str, str]:
        """Each parameter once; an unknown one is a 400 that says what would have been right."""
        single: dict[str, str] = {}
        for parameter, values in args.items():
            if len(values) > 1:
                raise InvalidInput(f"{parameter!r} is given {len(values)} times; give it once", parameter=parameter)
            single[parameter] = values[0]
        for parameter in single:
            if f"q:{parameter}" not in self.fields:
                raise self.refusal(parameter)
        return single

    def parse(self, args: MappingT[str, list[str]]) -> dict[str, Any]:
        """What :meth:`load` returns, by the same fields and hooks, without walking the fields not
        given (a resource has one per filter and operator): the hot path of every list request."""
        single = self.single_values(args)
        return {f"q:{p}": self.fields[f"q:{p}"].deserialize(text) for p, text in single.items()}

    def refusal(self, parameter: str) -> InvalidInput:
        """Why ``parameter`` is not one of this resource's."""
        resource = self.resource
        match = PARAMETER.match(parameter)
        if not match or parameter in RESERVED:
            return InvalidInput(
                f"unknown parameter {parameter!r}; filters read field=value or "
                f"field[op]=value, fields: {_known(resource)}",
                parameter=parameter,
                slug="unknown-field",
            )
        name, op = match.group(1), match.group(2) or "eq"
        if not resource.mapping.has(name):
            return unknown_field(resource, name, parameter)
        fmap = resource.mapping.field(name)
        if not fmap.filter:
            filterable = ", ".join(resource.mapping.filterable())
            return InvalidInput(
                f"{name!r} cannot be filtered; filterable fields: {filterable}",
                parameter=parameter,
                slug="field-not-filterable",
            )
        if op not in OPERATORS:
            return InvalidInput(
                f"unknown operator {op!r}; operators: {', '.join(OPERATORS)}",
                parameter=parameter,
                slug="unknown-operator",
            )
        return InvalidInput(
            f"{op} applies to text fields only; {name!r} is {fmap.value_type}",
            parameter=parameter,
            slug="unknown-operator",
        )


@cache
def list_schema(resource: Resource) -> ListSchema:
    """The schema of ``resource``'s list query string: filters, then the reserved parameters
    (built once per resource; what depends on the source, such as an integer column's range,
    each field asks when it parses or documents)."""
    params: dict[str, Parameter] = {}
    for name in resource.mapping.filterable():
        for op in _operators(resource, name):
            parameter = name if op == "eq" else f"{name}[{op}]"
            params[parameter] = Condition(resource, name, op, parameter)
            if op == "eq":
                params[f"{name}[eq]"] = Condition(resource, name, op, f"{name}[eq]")
    params.update(
        fields=Names(resource, "fields"),
        **({"embed": Embeds(resource, "embed")} if resource.spec.embeds else {}),
        sort=Sort(resource, "sort"),
        limit=Limit(resource, "limit"),
        cursor=Cursor(resource, "cursor"),
        partition=PartitionToken(resource, "partition"),
    )
    if resource.spec.watermark:
        params["updated_since"] = UpdatedSince(resource, "updated_since")
    # attribute names no Schema member can shadow; each field reads its parameter (data_key)
    cls = type(
        f"{resource.contract.__name__}ListQuery",
        (ListSchema,),
        {"resource": resource, **{f"q:{p}": f for p, f in params.items()}},
    )
    return cls()


def parse_list(resource: Resource, args: MappingT[str, list[str]]) -> ListQuery:
    """A list request's query string (each name with its values) as a validated :class:`ListQuery`."""
    if "updated_since" in args and not resource.spec.watermark:
        raise InvalidInput(
            f"{resource.name!r} declares no watermark, so it has no updated_since",
            parameter="updated_since",
            slug="no-watermark",
        )
    loaded = list_schema(resource).parse(args)
    order = list(args)  # filters in the order the query string gives them
    query = ListQuery(
        fields=selected_fields(resource, loaded.get("q:fields"), loaded.get("q:embed")),
        filters=sorted((v for v in loaded.values() if isinstance(v, Filter)), key=lambda f: order.index(f.parameter)),
        sort=loaded.get("q:sort") or [],
        limit=loaded.get("q:limit", resource.spec.default_limit),
        cursor=loaded.get("q:cursor"),
        since=loaded.get("q:updated_since"),
        partition=loaded.get("q:partition"),
    )
    if query.since is not None and query.partition is not None:
        raise InvalidInput(
            "a partition reads the records of the moment it was planned at; updated_since pulls the "
            "changes after a watermark: use one or the other",
            parameter="partition",
        )
    if query.since is not None and query.sort:
        raise InvalidInput(
            "updated_since orders rows by the watermark; drop sort", parameter="sort", slug="field-not-sortable"
        )
    return query


def parse_fields(resource: Resource, text: str | None, embed: str | None = None) -> list[str]:
    """``fields`` and ``embed`` (of a list or a get): the names they select (see
    :func:`selected_fields`)."""
    names = None if text is None else named_fields(resource, text)
    return selected_fields(resource, names, None if embed is None else parse_embed(resource, embed))


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


def selected_fields(resource: Resource, names: list[str] | None, embed: list[str] | None) -> list[str]:
    """The fields of each record: those ``fields`` names, then those ``embed`` names.  Without
    ``fields``: every field but the embedded ones, then those ``embed`` names or, without it, the
    ones embedded by default (so ``fields`` alone leaves out what it does not name)."""
    if names is not None:
        return list(dict.fromkeys(names + (embed or [])))
    if embed is None:
        return resource.planner.default_fields()
    embeds = resource.spec.embeds
    return list(dict.fromkeys([n for n in resource.mapping.fields if n not in embeds] + embed))


def parse_key(resource: Resource, segments: list[str]) -> list[Filter]:
    """The key from the path segments after ``/<resource>/``: one canonical ``eq`` filter per
    key field, in key order."""
    key = resource.key
    if len(segments) != len(key):
        raise InvalidInput(
            f"the key of {resource.name!r} has {len(key)} part(s) ({'/'.join(key)}), got {len(segments)}",
            parameter="key",
        )
    return [Filter(k, "eq", canonical_value(resource, k, s, k), k, s) for k, s in zip(key, segments)]


def parse_body(resource: Resource, body: Any, contract: Schema | None = None) -> dict[str, Any]:
    """A create request's JSON body, validated by the contract: canonical values by field
    (``contract``: an instance to reuse, for the many bodies of one request)."""
    if not isinstance(body, dict):
        raise InvalidInput(
            "the body must be a JSON object of the resource's fields", parameter="body", slug="invalid-body"
        )
    plain = resource.plain_body(body)  # the common bodies of a built contract, without marshmallow
    return plain if plain is not None else load_body(resource, body, contract or resource.contract())


def load_body(resource: Resource, body: dict[str, Any], contract: Schema) -> dict[str, Any]:
    """A body plain loading did not take, loaded by the contract's marshmallow schema."""
    try:
        canonical = contract.load(body)
    except ValidationError as exc:
        first = next(iter(exc.messages), "body") if isinstance(exc.messages, dict) else "body"
        raise InvalidInput(
            f"the body is not valid: {exc.messages}", parameter=str(first), slug="invalid-body"
        ) from None
    for name in canonical:
        if name not in resource.mapping.fields:
            raise unknown_field(resource, name, name)
    return canonical


__all__ = [
    "RESERVED",
    "MAX_IN_VALUES",
    "ListSchema",
    "list_schema",
    "parse_list",
    "parse_fields",
    "parse_embed",
    "parse_key",
    "parse_body",
    "load_body",
    "Parameter",
    "Condition",
    "LIKE_OPERATORS",
]
