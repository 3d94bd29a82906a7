"""The canonical contract: a marshmallow schema built from a resource's mapping.

It validates filter values, dumps records for a supplied contract, and drives the
OpenAPI document.  A hand-written schema can replace it (``contract: module:Class``).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from .mapping import FieldMap, Mapping, Rules


class Base64(fields.Field):
    """Bytes as base64 text (RFC 4648, standard alphabet, padded): OpenAPI's ``format: byte``."""

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else base64.b64encode(value).decode("ascii")

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> bytes:
        try:
            return base64.b64decode(str(value).encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError, ValueError):
            raise ValidationError("Not valid base64 (RFC 4648, with padding).") from None


_FIELD_TYPES: dict[str, type[fields.Field]] = {
    "string": fields.String,
    "integer": fields.Integer,
    "number": fields.Float,
    "decimal": fields.Decimal,
    "boolean": fields.Boolean,
    "date": fields.Date,
    "time": fields.Time,
    "datetime": fields.DateTime,
    "binary": Base64,
}


class Pattern(validate.Validator):
    """A text matching ``pattern`` anywhere (``re.search``), as JSON Schema's ``pattern`` says:
    anchor it (``^...$``) to match the whole value."""

    def __init__(self, pattern: str) -> None:
        self.regex = re.compile(pattern)
        self.pattern = pattern

    def __call__(self, value: Any) -> Any:
        if not isinstance(value, str) or self.regex.search(value) is None:
            raise ValidationError(f"does not match the pattern {self.pattern}")
        return value


def rule_validators(rules: Rules) -> list:
    """The marshmallow validators of a field's declared rules (pattern, lengths, range, enum)."""
    checks: list = []
    if rules.pattern is not None:
        checks.append(Pattern(rules.pattern))
    if rules.min_length is not None or rules.max_length is not None:
        checks.append(validate.Length(min=rules.min_length, max=rules.max_length))
    if rules.minimum is not None or rules.maximum is not None:
        checks.append(validate.Range(min=rules.minimum, max=rules.maximum))
    if rules.enum is not None:
        checks.append(validate.OneOf(rules.enum))
    return checks


def contract_field(
    type_name: str,
    enum: tuple | None = None,
    description: str | None = None,
    nullable: bool = True,
    rules: Rules | None = None,
    digits: tuple[int | None, int | None] = (None, None),
) -> fields.Field:
    """The marshmallow field for one canonical type; ``digits``: a decimal's (precision, scale)
    when known, documented as ``x-precision`` and ``x-scale``."""
    cls = _FIELD_TYPES[type_name]
    kwargs: dict = {"allow_none": nullable}
    metadata: dict = {"description": description} if description else {}
    if cls is fields.Decimal:
        kwargs["as_string"] = True
        metadata.update({f"x-{k}": v for k, v in zip(("precision", "scale"), digits) if v is not None})
    checks = [validate.OneOf(enum)] if enum else []
    checks += rule_validators(rules) if rules else []
    if checks:
        kwargs["validate"] = checks
    if metadata:
        kwargs["metadata"] = metadata
    return cls(**kwargs)


def class_name(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("-", "_").replace(".", "_").split("_")) or "Resource"


def field_of(fmap: FieldMap, owner: str) -> fields.Field:
    """The marshmallow field of one mapped field: scalars by type, objects as a nested schema
    named ``<Owner><Field>``, arrays as a list of either."""
    digits = (fmap.converter.value_precision, fmap.converter.value_scale)
    if fmap.kind == "scalar":
        return contract_field(fmap.type, fmap.converter.enum, fmap.description, fmap.nullable, fmap.rules, digits)
    metadata = {"description": fmap.description} if fmap.description else {}
    if not fmap.of_objects:  # an array of scalars
        element = contract_field(fmap.converter.type, fmap.converter.enum, None, True, fmap.rules, digits)
        return fields.List(element, allow_none=fmap.nullable, metadata=metadata)
    inner = _schema(class_name(f"{owner}_{fmap.name}"), fmap.fields)
    if fmap.kind == "object":
        return fields.Nested(inner, allow_none=fmap.nullable, metadata=metadata)
    return fields.List(fields.Nested(inner), allow_none=fmap.nullable, metadata=metadata)


def _schema(class_name: str, mapped: dict[str, FieldMap]) -> type[Schema]:
    return Schema.from_dict({n: field_of(f, class_name) for n, f in mapped.items()}, name=class_name)


def build_contract(name: str, mapping: Mapping) -> type[Schema]:
    """A schema class named ``<Name>`` with one field per canonical field (nested ones as
    nested schemas)."""
    return _schema(class_name(name), mapping.fields)


def _plain_text(value: Any, allow_none: bool) -> Any:
    if type(value) is str or (value is None and allow_none):
        return value
    raise LookupError


def _plain_integer(value: Any, allow_none: bool) -> Any:
    if type(value) is int or (value is None and allow_none):
        return value
    raise LookupError


def _plain_decimal(value: Any, allow_none: bool) -> Any:
    if value is None and allow_none:
        return None
    if type(value) is str or type(value) is int:
        try:
            number = Decimal(value)
        except ArithmeticError:
            raise LookupError from None
        if number.is_finite():
            return number
    raise LookupError


_PLAIN = {fields.String: _plain_text, fields.Integer: _plain_integer, fields.Decimal: _plain_decimal}


def plain_loader(schema: type[Schema]) -> Callable[[dict], dict | None]:
    """``load`` for the plain bodies of a built contract: JSON strings, integers and decimals
    (as text or integers) in fields with no validator give exactly what the schema's ``load``
    gives, without its per-field machinery (a 2,000-record POST spends most of its time there).
    None for anything else — another type, a validator, an unknown key, a value the schema
    refuses — so the caller loads it with the schema, which also words every error."""
    instance = schema()
    plain = {
        name: (_PLAIN[type(f)], f.allow_none)
        for name, f in instance.fields.items()
        if type(f) in _PLAIN and not f.validators and f.data_key is None and f.attribute is None and not f.dump_only
    }
    required = {name for name, f in instance.fields.items() if f.required}

    order = [(name, check, allow_none) for name, (check, allow_none) in plain.items()]
    names = plain.keys()

    def load(body: dict) -> dict | None:
        if not body.keys() <= names or not required <= body.keys():  # no plain form, an unknown key, one missing
            return None
        try:  # in the schema's order, as its load answers
            return {name: check(body[name], allow_none) for name, check, allow_none in order if name in body}
        except LookupError:
            return None

    return load
