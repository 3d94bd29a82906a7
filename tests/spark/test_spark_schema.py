"""The Spark schema of a resource, read off its OpenAPI document (legacy_bridge/spark/schema.py):
decimals with their precision and scale, dates, local timestamps, nested arrays and structs; and
JSON values read as Spark holds them (a decimal with more places than its type is refused)."""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal

import pytest

pytest.importorskip("pyspark")

from pyspark.sql.types import (  # noqa: E402 - after the skip
    ArrayType,
    BooleanType,
    DateType,
    DecimalType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampNTZType,
)

from helpers.backends import make_app  # noqa: E402
from legacy_bridge.spark.schema import record_schema, row_reader  # noqa: E402

FIELDS = {
    "number": {"column": "INV_NO", "converter": "int"},
    "issued_on": {"column": "INV_DT", "converter": "yyyymmdd"},
    "changed_at": {"column": "CHG_TS", "converter": "timestamp"},
    "paid": {"column": "PAID", "converter": "flag"},
    "total": {"column": "TOTAL", "converter": {"decimal": {"scale": 2, "precision": 11}}},
    "rate": {"column": "RATE", "converter": "decimal"},
    "lines": {
        "type": "array",
        "column": "LINES",
        "fields": {
            "sku": {"column": "ITEM-SKU", "converter": "trim"},
            "qty": {"column": "ITEM-QTY", "converter": "int"},
            "price": {"column": "ITEM-PRICE", "converter": {"decimal": {"implied": 2}}},
        },
    },
    "codes": {"type": "array", "column": "CODES", "converter": "trim"},
    "bill_to": {"type": "object", "column": "BILL-TO", "fields": {"city": {"column": "CITY", "converter": "trim"}}},
}


@pytest.fixture(scope="module")
def document():
    config = {
        "service": {"secret": "s"},
        "sources": {"erp": {"kind": "odbc", "connection": "DSN=never"}},
        "resources": {"invoices": {"source": "erp", "table": "INV", "key": "number", "fields": FIELDS}},
    }
    app = make_app(config)
    yield app.test_client().get("/openapi.json").json
    app.extensions["legacy_bridge"].close()


def test_the_contract_gives_spark_types_nested_ones_included(document):
    schema, _ = record_schema(document, "/v1/invoices")
    assert schema == StructType(
        [
            StructField("number", LongType(), False),
            StructField("issued_on", DateType(), True),
            StructField("changed_at", TimestampNTZType(), True),
            StructField("paid", BooleanType(), True),
            StructField("total", DecimalType(11, 2), True),
            StructField("rate", DecimalType(38, 18), True),
            StructField(
                "lines",
                ArrayType(
                    StructType(
                        [
                            StructField("sku", StringType(), True),
                            StructField("qty", LongType(), True),
                            StructField("price", DecimalType(38, 2), True),
                        ]
                    )
                ),
                True,
            ),
            StructField("codes", ArrayType(StringType()), True),
            StructField("bill_to", StructType([StructField("city", StringType(), True)]), True),
        ]
    )


def test_json_values_read_as_spark_holds_them(document):
    schema, _ = record_schema(document, "/v1/invoices")
    record = {
        "number": 7,
        "issued_on": "2024-01-31",
        "changed_at": "2024-01-31T12:34:56.5",
        "paid": True,
        "total": "12.50",
        "rate": None,
        "lines": [{"sku": "AB12", "qty": 3, "price": "12.50"}],
        "codes": ["X1"],
        "bill_to": {"city": "Boston"},
    }
    assert row_reader(schema)(record) == (
        7,
        dt.date(2024, 1, 31),
        dt.datetime(2024, 1, 31, 12, 34, 56, 500000),
        True,
        Decimal("12.50"),
        None,
        [("AB12", 3, Decimal("12.50"))],
        ["X1"],
        ("Boston",),
    )
    too_fine = copy.deepcopy(record)
    too_fine["lines"][0]["price"] = "12.505"
    with pytest.raises(ValueError, match="price: 12.505 has more than the 2 decimal places"):
        row_reader(schema)(too_fine)


def test_arrow_batches_hold_what_the_tuples_hold_and_refuse_what_they_refuse(document):
    import json

    import pyarrow as pa

    from legacy_bridge.spark.arrow import batch_reader

    schema, _ = record_schema(document, "/v1/invoices")
    record = {
        "number": 7,
        "issued_on": "2024-01-31",
        "changed_at": "2024-01-31T12:34:56.5",
        "paid": True,
        "total": "12.50",
        "rate": "0.125",
        "lines": [{"sku": "AB12", "qty": 3, "price": "12.50"}],
        "codes": ["X1"],
        "bill_to": None,
    }
    read = batch_reader(schema)
    assert read is not None
    (row,) = pa.Table.from_batches(read(json.dumps(record).encode() + b"\n")).to_pylist()
    assert row["issued_on"] == dt.date(2024, 1, 31) and row["total"] == Decimal("12.50")
    assert row["lines"] == [{"sku": "AB12", "qty": 3, "price": Decimal("12.50")}] and row["bill_to"] is None
    assert tuple(row.values())[:6] == row_reader(schema)(record)[:6]
    record["total"] = "12.505"
    with pytest.raises(pa.ArrowInvalid, match="12.505"):
        read(json.dumps(record).encode() + b"\n")
