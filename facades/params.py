"""The query-string grammar of list endpoints, parsed against a resource's contract.

    ?<field>=<value>              equals (same as <field>[eq])
    ?<field>[<op>]=<value>        op: eq ne lt lte gt gte in startswith contains isnull
    ?<field>[in]=MA,NY            comma-separated values
    ?<field>[isnull]=true|false
    ?sort=-opened_on,id           '-' for descending; the key always breaks ties
    ?fields=id,name               the fields to return
    ?limit=100                    1..max_limit
    ?cursor=<opaque>              the `next` of the previous page
    ?updated_since=<watermark>    rows whose watermark is greater (resources with one);
                                  empty: every row, in watermark order

Values are parsed as the canonical type (a date is ``2020-01-01``) and converted to
the legacy form before they reach the driver; a date-time with a UTC offset is first
taken to the source's time zone (``sources.<name>.timezone``).  A value the source cannot
hold (an integer past its column's range, text its code page lacks) is refused here.
Anything else is a 400 naming the parameter.
"""
from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from typing import Any, Mapping as MappingT

from marshmallow import ValidationError

from legacy_bridge.contracts.converters import ConversionError
from legacy_bridge.contracts.mapping import FieldMap
from legacy_bridge.contracts.schema import contract_field
from legacy_bridge.errors import BadRequest
from legacy_bridge.query.legacy import OPERATORS, Condition
from legacy_bridge.resources import ListRequest, Resource

RESERVED = ("sort", "fields", "limit", "cursor", "updated_since")
_PARAM = re.compile(r"^([a-z][a-z0-9_]*)(?:\[([a-z]+)\])?$")
MAX_IN_VALUES = 100
_LIKE_TYPES = ("string",)


@lru_cache(maxsize=None)
def _value_field(type_name: str, enum: tuple | None) -> Any:
    return contract_field(type_name, enum, nullable=False)


def _in_source_zone(resource: Resource, value: Any, text: str, parameter: str) -> Any:
    """A date-time with a UTC offset as the naive local time of the source's time zone."""
    if not isinstance(value, (dt.datetime, dt.time)) or value.utcoffset() is None:
        return value
    source = resource.spec.source
    if isinstance(value, dt.time):
        raise BadRequest(f"{parameter}: {text!r} is a time of day with a UTC offset, which no date "
                         f"places in a time zone; give the local time of source {source!r}",
                         parameter=parameter)
    if resource.timezone is None:
        raise BadRequest(f"{parameter}: {text!r} has a UTC offset, but source {source!r} declares no "
                         f"time zone for its timestamps (sources.{source}.timezone, e.g. Europe/Berlin); "
                         f"give its local time without an offset", parameter=parameter)
    return value.astimezone(resource.timezone).replace(tzinfo=None)


def _check_bindable(resource: Resource, fmap: FieldMap, value: Any, text: str, parameter: str) -> None:
    """Refuse a legacy value the source cannot hold, naming the parameter."""
    if isinstance(value, int) and not isinstance(value, bool):
        bounds = resource.int_range(fmap.column)
        if bounds is not None and not bounds[0] <= value <= bounds[1]:
            raise BadRequest(f"{parameter}: {text!r} is out of range: column {fmap.column} holds "
                             f"integers from {bounds[0]} to {bounds[1]}", parameter=parameter)
    encoding = resource.driver.encoding
    if isinstance(value, str) and encoding:
        try:
            value.encode(encoding)
        except UnicodeEncodeError:
            raise BadRequest(f"{parameter}: {text!r} has characters the code page of source "
                             f"{resource.spec.source!r} ({encoding}) cannot hold", parameter=parameter) from None


def _canonical(resource: Resource, type_name: str, enum: tuple | None, text: str, parameter: str) -> Any:
    try:
        value = _value_field(type_name, enum).deserialize(text)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, list) else [str(exc.messages)]
        raise BadRequest(f"{parameter}: {text!r} is not valid ({' '.join(map(str, messages))})",
                         parameter=parameter) from None
    return _in_source_zone(resource, value, text, parameter)


def _legacy(resource: Resource, fmap: FieldMap, canonical: Any, text: str, parameter: str) -> Any:
    try:
        value = fmap.converter.to_legacy(canonical)
    except (ConversionError, ValueError, TypeError, ArithmeticError) as exc:
        raise BadRequest(f"{parameter}: {text!r} has no legacy form ({exc})", parameter=parameter) from None
    _check_bindable(resource, fmap, value, text, parameter)
    return value


def parse_value(resource: Resource, fmap: FieldMap, text: str, parameter: str) -> Any:
    """A query-string value -> canonical value -> legacy value the source can hold."""
    canonical = _canonical(resource, fmap.type, fmap.converter.enum, text, parameter)
    return _legacy(resource, fmap, canonical, text, parameter)


def _known(resource: Resource) -> str:
    return ", ".join(resource.mapping.fields)


def _field(resource: Resource, name: str, parameter: str) -> FieldMap:
    fmap = resource.mapping.fields.get(name)
    if fmap is None:
        raise BadRequest(f"unknown field {name!r}; fields: {_known(resource)}", parameter=parameter,
                         slug="unknown-field")
    return fmap


def _condition(resource: Resource, name: str, op: str, text: str, parameter: str) -> Condition:
    fmap = _field(resource, name, parameter)
    if not fmap.filter:
        filterable = ", ".join(n for n, f in resource.mapping.fields.items() if f.filter)
        raise BadRequest(f"{name!r} cannot be filtered; filterable fields: {filterable}",
                         parameter=parameter, slug="field-not-filterable")
    if op not in OPERATORS:
        raise BadRequest(f"unknown operator {op!r}; operators: {', '.join(OPERATORS)}",
                         parameter=parameter, slug="unknown-operator")
    nulls = fmap.converter.legacy_nulls
    if op == "isnull":
        if text not in ("true", "false"):
            raise BadRequest(f"{parameter}: expected true or false, got {text!r}", parameter=parameter)
        return Condition(fmap.column, op, text == "true", nulls)
    if op in ("startswith", "contains"):
        if fmap.type not in _LIKE_TYPES or not fmap.converter.supports_like:
            raise BadRequest(f"{op} applies to text fields only; {name!r} is {fmap.type}",
                             parameter=parameter, slug="unknown-operator")
        if not text:
            raise BadRequest(f"{parameter}: an empty value matches everything", parameter=parameter)
        _check_bindable(resource, fmap, text, text, parameter)
        return Condition(fmap.column, op, text, nulls)
    if op == "in":
        if not text:             # whatever the field's type: an empty text is no list
            raise BadRequest(f"{parameter}: an empty list; give 1 to {MAX_IN_VALUES} comma-separated "
                             f"values", parameter=parameter)
        items = text.split(",")
        if len(items) > MAX_IN_VALUES:
            raise BadRequest(f"{parameter}: at most {MAX_IN_VALUES} values", parameter=parameter)
        return Condition(fmap.column, op, tuple(parse_value(resource, fmap, i, parameter) for i in items), nulls)
    return Condition(fmap.column, op, parse_value(resource, fmap, text, parameter), nulls)


def _sort(resource: Resource, text: str) -> list[tuple[str, bool]]:
    order, seen = [], set()
    for part in text.split(","):
        name = part[1:] if part.startswith("-") else part
        fmap = _field(resource, name, "sort")
        if not fmap.sort:
            sortable = ", ".join(n for n, f in resource.mapping.fields.items() if f.sort)
            raise BadRequest(f"{name!r} cannot be sorted on; sortable fields: {sortable}",
                             parameter="sort", slug="field-not-sortable")
        if name not in seen:        # named again: the first mention already orders by it
            seen.add(name)
            order.append((name, part.startswith("-")))
    return order


def parse_fields(resource: Resource, text: str | None) -> list[str]:
    if text is None:
        return list(resource.mapping.fields)
    names = [n for n in text.split(",") if n]
    if not names:
        raise BadRequest("fields: name at least one field", parameter="fields")
    for name in names:
        _field(resource, name, "fields")
    return names


def parse_limit(resource: Resource, text: str | None) -> int:
    spec = resource.spec
    if text is None:
        return spec.default_limit
    if not text.isdigit() or not 1 <= int(text) <= spec.max_limit:
        raise BadRequest(f"limit must be an integer from 1 to {spec.max_limit}, got {text!r}",
                         parameter="limit", slug="limit-out-of-range")
    return int(text)


def parse_list(resource: Resource, args: MappingT[str, list[str]]) -> ListRequest:
    """Turn a list request's query string into a validated :class:`ListRequest`."""
    single: dict[str, str] = {}
    for parameter, values in args.items():
        if len(values) > 1:
            raise BadRequest(f"{parameter!r} is given {len(values)} times; give it once",
                             parameter=parameter)
        single[parameter] = values[0]
    where = []
    for parameter, text in single.items():
        if parameter in RESERVED:
            continue
        match = _PARAM.match(parameter)
        if not match:
            raise BadRequest(f"unknown parameter {parameter!r}; filters read field=value or "
                             f"field[op]=value, fields: {_known(resource)}",
                             parameter=parameter, slug="unknown-field")
        where.append(_condition(resource, match.group(1), match.group(2) or "eq", text, parameter))
    request = ListRequest(
        fields=parse_fields(resource, single.get("fields")),
        where=where,
        sort=_sort(resource, single["sort"]) if single.get("sort") else [],
        limit=parse_limit(resource, single.get("limit")),
        cursor=single.get("cursor") or None,
    )
    if "updated_since" in single:
        request.incremental = True
        request.since = parse_since(resource, single["updated_since"])
        if request.sort:
            raise BadRequest("updated_since orders rows by the watermark; drop sort",
                             parameter="sort", slug="field-not-sortable")
    return request


def parse_since(resource: Resource, text: str) -> tuple | None:
    """``updated_since``'s legacy watermark values; None for an empty value (from the start)."""
    names = resource.spec.watermark
    if not names:
        raise BadRequest(f"{resource.name!r} declares no watermark, so it has no updated_since",
                         parameter="updated_since", slug="no-watermark")
    if not text:
        return None
    fields = [resource.mapping.fields[n] for n in names]
    if len(fields) == 1:
        return (parse_value(resource, fields[0], text, "updated_since"),)
    # a YYYYMMDD+HHMMSS pair: one ISO timestamp, split once it is in the source's time zone
    if "T" not in text:
        raise BadRequest(f"updated_since: {text!r} is not valid (expected a timestamp such as "
                         f"2024-01-31T12:34:56)", parameter="updated_since")
    stamp = _canonical(resource, "datetime", None, text, "updated_since")
    return (_legacy(resource, fields[0], stamp.date(), text, "updated_since"),
            _legacy(resource, fields[1], stamp.time(), text, "updated_since"))


def parse_key(resource: Resource, segments: list[str]) -> list[Any]:
    """The legacy key values from the path segments after ``/<resource>/``."""
    key = resource.key
    if len(segments) != len(key):
        raise BadRequest(f"the key of {resource.name!r} has {len(key)} part(s) ({'/'.join(key)}), "
                         f"got {len(segments)}", parameter="key")
    return [parse_value(resource, resource.mapping.fields[k], s, k) for k, s in zip(key, segments)]


def parse_body(resource: Resource, body: Any) -> dict[str, Any]:
    """A create request's JSON body, validated by the contract -> legacy values by column."""
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object of the resource's fields", parameter="body",
                         slug="invalid-body")
    try:
        canonical = resource.contract().load(body)
    except ValidationError as exc:
        first = next(iter(exc.messages), "body") if isinstance(exc.messages, dict) else "body"
        raise BadRequest(f"the body is not valid: {exc.messages}", parameter=str(first),
                         slug="invalid-body") from None
    values = {}
    for name, value in canonical.items():
        fmap = _field(resource, name, name)
        try:
            values[fmap.column] = None if value is None else fmap.converter.to_legacy(value)
        except (ConversionError, ValueError, TypeError, ArithmeticError) as exc:
            raise BadRequest(f"{name}: {value!r} has no legacy form ({exc})", parameter=name,
                             slug="invalid-body") from None
    return values
