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
parameter (:func:`list_parameters`): every parameter is a field (:mod:`.parameter_fields`) that
parses its text and says its own JSON Schema, so the document cannot drift from the parser.  Values are parsed
as the canonical type (a date is ``2020-01-01``) and held to a supplied contract's rules; a
date-time with a UTC offset is taken to the source's time zone.  Whether the source can hold
a value is the planner's question.  Anything else is a 400 naming the parameter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping as MappingT
from functools import cache
from typing import TYPE_CHECKING, Any

from marshmallow import Schema, ValidationError, pre_load

from legacy_bridge.errors import InvalidInput
from legacy_bridge.query.legacy import OPERATORS
from legacy_bridge.query.model import Filter, ListQuery
from legacy_bridge.query.parameter_fields import (
    LIKE_OPERATORS,
    Condition,
    Cursor,
    Embeds,
    Limit,
    Names,
    Parameter,
    PartitionToken,
    Sort,
    UpdatedSince,
    known_fields,
    named_fields,
    parse_embed,
    unknown_field,
)
from legacy_bridge.query.values import canonical_value

if TYPE_CHECKING:
    from legacy_bridge.resources import Resource

RESERVED = ("sort", "fields", "embed", "limit", "cursor", "updated_since", "partition")
PARAMETER = re.compile(r"^([a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)?)(?:\[([a-z]+)\])?$")


def _likeable(resource: Resource, name: str) -> bool:
    fmap = resource.mapping.field(name)
    return fmap.value_type == "string" and fmap.converter.supports_like


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
                f"field[op]=value, fields: {known_fields(resource)}",
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
    "ListSchema",
    "list_schema",
    "parse_list",
    "parse_fields",
    "parse_key",
    "parse_body",
    "load_body",
]
