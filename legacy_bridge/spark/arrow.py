"""NDJSON export lines parsed straight into Arrow record batches (pyarrow's JSON reader, in C++),
which a Python data source may yield instead of tuples: no Python object per value, and no
tuple-to-Arrow conversion in Spark's worker.

Arrow's reader parses numbers, booleans, text, decimals (from their strings, refusing a value
with more places than the type: never rounded) and local timestamps; dates are read as text and
cast.  A schema with a type it cannot parse from JSON (binary in base64, timestamps with a zone)
has no Arrow reader: the tuples of :mod:`.schema` read it.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from itertools import islice

import pyarrow as pa
import pyarrow.json as pj
from pyspark.sql.pandas.types import to_arrow_schema
from pyspark.sql.types import StructType

__all__ = ["batch_reader", "tuple_batches"]


def _as_read(kind: pa.DataType) -> pa.DataType | None:
    """The type the JSON reader parses for ``kind`` (dates: text), None when it has none."""
    if pa.types.is_date32(kind):
        return pa.string()
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or (pa.types.is_timestamp(kind) and kind.tz):
        return None
    if pa.types.is_list(kind):
        item = _as_read(kind.value_type)
        return None if item is None else pa.list_(pa.field(kind.value_field.name, item))
    if pa.types.is_struct(kind):
        fields = [(kind.field(i).name, _as_read(kind.field(i).type)) for i in range(kind.num_fields)]
        return None if any(t is None for _, t in fields) else pa.struct(fields)
    return kind


def batch_reader(schema: StructType) -> Callable[[bytes], list[pa.RecordBatch]] | None:
    """A function from complete NDJSON lines to record batches of ``schema``, or None."""
    target = to_arrow_schema(schema)
    read_types = [_as_read(f.type) for f in target]
    if any(t is None for t in read_types):
        return None
    read = pa.schema([pa.field(f.name, t) for f, t in zip(target, read_types)])
    options = pj.ParseOptions(explicit_schema=read, unexpected_field_behavior="ignore")
    threads = pj.ReadOptions(use_threads=False, block_size=1 << 22)  # one task, one core

    def batches(lines: bytes) -> list[pa.RecordBatch]:
        table = pj.read_json(io.BytesIO(lines), read_options=threads, parse_options=options)
        return table.cast(target).to_batches()

    return batches


def tuple_batches(rows: Iterator[tuple], schema: StructType, size: int = 8192) -> Iterator[pa.RecordBatch]:
    """``rows`` (tuples in ``schema``'s order, values as Spark holds them) as record batches of
    ``size`` rows: each column converted by Arrow at once, not value by value in Spark's worker."""
    target = to_arrow_schema(schema)
    while batch := list(islice(rows, size)):
        columns = list(zip(*batch))
        yield pa.RecordBatch.from_arrays([pa.array(c, type=f.type) for c, f in zip(columns, target)], schema=target)
