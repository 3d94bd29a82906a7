"""The canonical contract: a marshmallow schema built from a resource's mapping.

It validates filter values, dumps records for a supplied contract, and drives the
OpenAPI document.  A hand-written schema can replace it (``contract: module:Class``).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from .mapping import Mapping


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


def contract_field(
    type_name: str, enum: tuple | None = None, description: str | None = None, nullable: bool = True
) -> fields.Field:
    """The marshmallow field for one canonical type."""
    cls = _FIELD_TYPES[type_name]
    kwargs: dict = {"allow_none": nullable}
    if cls is fields.Decimal:
        kwargs["as_string"] = True
    if enum:
        kwargs["validate"] = validate.OneOf(enum)
    if description:
        kwargs["metadata"] = {"description": description}
    return cls(**kwargs)


def build_contract(name: str, mapping: Mapping) -> type[Schema]:
    """A schema class named ``<Name>`` with one field per canonical field."""
    attrs = {
        fname: contract_field(f.type, f.converter.enum, f.description, nullable=f.nullable)
        for fname, f in mapping.fields.items()
    }
    class_name = "".join(part.capitalize() for part in name.replace("-", "_").split("_")) or "Resource"
    return Schema.from_dict(attrs, name=class_name)
