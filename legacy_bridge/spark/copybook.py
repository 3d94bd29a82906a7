"""``spark.read.format("legacy-bridge-copybook")``: EBCDIC files decoded on the executors with the
service's own copybook decoder, the way Cobrix does for Scala users.

    spark.read.format("legacy-bridge-copybook")
        .option("path", "/data/drops/INVOICE.bin")    # a file, a folder or a glob (every file)
        .option("copybook", "/data/copybooks/INVOICE.cpy")
        .option("record_format", "VB")                 # F (default), V or VB
        .option("codepage", "cp037")
        .option("partitions", 16)                      # byte ranges; one Spark task each
        .load()

Planning cuts each file version into record-aligned byte ranges (``F`` by arithmetic, ``V`` and
``VB`` at record or block descriptors: drivers/flatfile/splits.py); each task opens its file,
checks it is still the version planned (a file replaced meanwhile fails the task, naming it),
and decodes its range through the flat-file driver, so records keep their numbers and a bad
record is refused naming it (``bad_records: quarantine`` skips it instead).  The schema is the
copybook's: display and binary numbers as LongType (or DecimalType past 18 digits), decimals as
DecimalType(digits, scale), floats as DoubleType, text as StringType, 88 levels as BooleanType.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pyspark.sql.datasource import DataSource, DataSourceReader, InputPartition
from pyspark.sql.types import (
    BooleanType,
    DataType,
    DecimalType,
    DoubleType,
    LongType,
    StringType,
    StructField,
    StructType,
)

from legacy_bridge.drivers.flatfile.copybook import Field, conditions, parse_copybook
from legacy_bridge.drivers.flatfile.driver import FlatFileDriver
from legacy_bridge.query.legacy import Extent, Query

from .arrow import tuple_batches

__all__ = ["CopybookDataSource"]

_OPTIONS = ("path", "copybook", "codepage", "record_format", "floating_point", "bad_records", "index_dir")
_LONG_DIGITS = 18


def _field_type(f: Field) -> DataType:
    if f.type == "text":
        return StringType()
    if f.type == "float":
        return DoubleType()
    if f.type == "int" or f.scale == 0:
        return LongType() if 0 < f.digits <= _LONG_DIGITS else DecimalType(min(max(f.digits, 1), 38), 0)
    if f.scale < 0:  # P scaling: whole numbers with zeros after the digits
        return DecimalType(min(f.digits - f.scale, 38), 0)
    return DecimalType(min(max(f.digits, f.scale), 38), f.scale)


def _driver_options(options: Any) -> dict[str, Any]:
    found = {k: options[k] for k in _OPTIONS if options.get(k) is not None}
    if "path" not in found or "copybook" not in found:
        raise ValueError('format("legacy-bridge-copybook") needs the options path and copybook')
    found["record_format"] = str(found.get("record_format", "F")).upper()
    return {"kind": "flatfile", **found}


def _driver(options: dict[str, Any]) -> FlatFileDriver:
    problems = FlatFileDriver.check_options(options)
    if problems:
        raise ValueError("; ".join(f"{key}: {message}" for key, message in problems))
    return FlatFileDriver("spark", options)


class CopybookDataSource(DataSource):
    """The file data source; see the module's docstring for its options."""

    @classmethod
    def name(cls) -> str:
        return "legacy-bridge-copybook"

    def schema(self) -> StructType:
        options = _driver_options(self.options)
        layout = parse_copybook(Path(options["copybook"]).read_text())
        fields = [StructField(f.name, _field_type(f), True) for f in layout.fields]
        fields += [StructField(c.name, BooleanType(), True) for c in conditions(layout)]
        return StructType(fields)

    def reader(self, schema: StructType) -> DataSourceReader:
        return CopybookReader(_driver_options(self.options), schema, int(self.options.get("partitions") or 1))


class _Range(InputPartition):
    def __init__(self, extent: Extent) -> None:
        super().__init__((extent.file, extent.start, extent.end, extent.record, extent.block))


class CopybookReader(DataSourceReader):
    def __init__(self, options: dict[str, Any], schema: StructType, parts: int) -> None:
        self.options, self.schema, self.parts = options, schema, parts

    def partitions(self) -> list[InputPartition]:
        driver = _driver(self.options)
        try:
            return [_Range(extent) for extent in driver.byte_ranges(self.parts)]
        finally:
            driver.close()

    def read(self, partition: InputPartition) -> Iterator[Any]:
        driver = _driver(self.options)
        try:
            rows = driver.fetch({}, Query(columns=self.schema.fieldNames(), extent=Extent(*partition.value)))
            yield from tuple_batches(rows, self.schema)
        finally:
            driver.close()
