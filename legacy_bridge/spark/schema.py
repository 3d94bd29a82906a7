"""A resource's Spark schema, read off its contract as the OpenAPI document states it, and the
functions that turn its JSON values (NDJSON export lines) into the values Spark holds.

- ``integer`` -> LongType, ``number`` -> DoubleType, ``boolean`` -> BooleanType;
- a ``decimal`` string -> DecimalType(``x-precision`` or 38, ``x-scale``); without a declared
  scale the values keep the digits they have, DecimalType(38, 18), and a value with more places
  is refused rather than rounded;
- ``date`` -> DateType; a ``local-date-time`` (no UTC offset, as legacy sources hold them) ->
  TimestampNTZType, a ``date-time`` with an offset -> TimestampType; a ``partial-time`` (no
  Spark type) -> StringType; ``byte`` (base64) -> BinaryType;
- ``array`` -> ArrayType of its items, ``object`` -> StructType of its properties (nested);
- a required property that is not ``nullable`` is a non-nullable Spark field.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from pyspark.sql.types import (
    ArrayType,
    BinaryType,
    BooleanType,
    DataType,
    DateType,
    DecimalType,
    DoubleType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampNTZType,
    TimestampType,
)

__all__ = ["record_schema", "spark_type", "value_reader", "row_reader", "resolve", "list_operation"]

MAX_PRECISION = 38
DEFAULT_SCALE = 18  # a decimal whose contract states no scale


class SchemaError(ValueError):
    """The document does not describe the resource as the data source needs."""


def resolve(document: dict, node: dict) -> dict:
    """``node`` itself, or the component its ``$ref`` names."""
    while "$ref" in node:
        path = node["$ref"].removeprefix("#/").split("/")
        for part in path:
            document = document[part]
        node = document
    return node


def list_operation(document: dict, path: str) -> dict:
    """The list operation (GET ``path``) of a resource."""
    try:
        return document["paths"][path]["get"]
    except KeyError:
        listed = ", ".join(p for p, ops in document.get("paths", {}).items() if "get" in ops)
        raise SchemaError(f"the service documents no list at {path}; paths: {listed}") from None


def record_schema(document: dict, path: str) -> tuple[StructType, dict]:
    """The Spark schema of the records the list at ``path`` pages, and their JSON Schema."""
    page = list_operation(document, path)["responses"]["200"]["content"]["application/json"]["schema"]
    items = resolve(document, resolve(document, resolve(document, page)["properties"]["data"])["items"])
    # a page holds whole records, or the fields a selection asked for: the whole record's schema
    record = resolve(document, items["anyOf"][0]) if "anyOf" in items else items
    return spark_type(document, record), record  # type: ignore[return-value]


def _one(document: dict, node: dict) -> dict:
    """``node`` resolved; of an ``anyOf`` (a nullable nested object: ``{nullable}`` or its
    schema), the alternative that describes the value."""
    node = resolve(document, node)
    if "anyOf" not in node:
        return node
    alternatives = [resolve(document, a) for a in node["anyOf"]]
    return next((a for a in alternatives if "properties" in a or "items" in a), alternatives[-1])


def _nullable(document: dict, node: dict) -> bool:
    node = resolve(document, node)
    return bool(node.get("nullable")) or any(resolve(document, a).get("nullable") for a in node.get("anyOf", ()))


def _decimal(node: dict) -> DecimalType:
    scale = node.get("x-scale")
    precision = node.get("x-precision") or MAX_PRECISION
    return DecimalType(min(precision, MAX_PRECISION), DEFAULT_SCALE if scale is None else scale)


def spark_type(document: dict, node: dict) -> DataType:
    """The Spark type of one JSON Schema node of the contract."""
    node = _one(document, node)
    kind, form = node.get("type"), node.get("format")
    if kind == "object" or "properties" in node:
        required = set(node.get("required", ()))
        return StructType(
            [
                StructField(
                    name, spark_type(document, prop), nullable=name not in required or _nullable(document, prop)
                )
                for name, prop in node.get("properties", {}).items()
            ]
        )
    if kind == "array":
        return ArrayType(spark_type(document, node.get("items", {})), containsNull=True)
    if kind == "integer":
        return LongType()
    if kind == "number":
        return DoubleType()
    if kind == "boolean":
        return BooleanType()
    if form == "decimal":
        return _decimal(node)
    return {
        "date": DateType(),
        "local-date-time": TimestampNTZType(),
        "date-time": TimestampType(),
        "byte": BinaryType(),
    }.get(form or "", StringType())


def _exact_decimal(scale: int, name: str) -> Callable[[Any], Decimal]:
    def read(text: Any) -> Decimal:
        value = Decimal(text)
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and -exponent > scale:
            raise ValueError(f"{name}: {text} has more than the {scale} decimal places its Spark type holds")
        return value

    return read


def value_reader(kind: DataType, name: str) -> Callable[[Any], Any] | None:
    """How a JSON value becomes the value Spark holds for ``kind`` (None: as it is)."""
    if isinstance(kind, DecimalType):
        return _exact_decimal(kind.scale, name)
    if isinstance(kind, DateType):
        return dt.date.fromisoformat
    if isinstance(kind, (TimestampNTZType, TimestampType)):
        return dt.datetime.fromisoformat
    if isinstance(kind, BinaryType):
        return base64.b64decode
    if isinstance(kind, ArrayType):
        item = value_reader(kind.elementType, name)
        return None if item is None else lambda values: [None if v is None else item(v) for v in values]
    if isinstance(kind, StructType):
        inner = row_reader(kind)
        return lambda record: inner(record)
    return None


def row_reader(schema: StructType) -> Callable[[dict], tuple]:
    """A JSON record (a dict) as a tuple in ``schema``'s order, each value as Spark holds it."""
    plan = [(f.name, value_reader(f.dataType, f.name)) for f in schema.fields]

    def read(record: dict) -> tuple:
        out = []
        for name, convert in plan:
            value = record.get(name)
            out.append(value if value is None or convert is None else convert(value))
        return tuple(out)

    return read
