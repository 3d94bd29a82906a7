"""The canonical contract: a marshmallow schema built from a resource's mapping.

It validates filter values, dumps records for a supplied contract, and drives the
OpenAPI document.  A hand-written schema can replace it (``contract: module:Class``).
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from .mapping import Mapping

_FIELD_TYPES: dict[str, type[fields.Field]] = {
    "string": fields.String,
    "integer": fields.Integer,
    "number": fields.Float,
    "decimal": fields.Decimal,
    "boolean": fields.Boolean,
    "date": fields.Date,
    "time": fields.Time,
    "datetime": fields.DateTime,
}


def contract_field(type_name: str, enum: tuple | None = None, description: str | None = None,
                   nullable: bool = True) -> fields.Field:
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
