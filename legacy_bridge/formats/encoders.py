"""Export encoders: canonical records -> NDJSON or CSV bytes, in batches.

Both encode ``batch`` records per chunk (one orjson call per record, one csv
``writerows`` per batch), so a stream costs the same per row whatever its length and
holds only one batch in memory.  Neither knows HTTP: the export route and the CLI
both feed a chunk iterator to their own sink.

How a broken stream shows (an error after the first byte, or a process killed mid-way):
both formats send each line's end at the start of the next chunk, and the last one only
when the export completes.  A complete export ends with a line end; a cut one does not,
whatever cut it, so a client that reads lines can tell.

- NDJSON: records end with ``\\n``; an error after the first byte adds a last line
  ``{"error": {<problem>}}`` (an object no record is), itself without ``\\n``.
- CSV: rows end with CRLF; a cut export ends without its final CRLF.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import zlib
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from itertools import islice
from typing import Any

import orjson

from legacy_bridge.formats.jsonio import json_default

__all__ = ["FORMATS", "MEDIA_TYPES", "encoder", "gzip_chunks", "csv_cell"]

BATCH = 1000
GZIP_LEVEL = 5  # level 6 costs ~30% more CPU for ~3% smaller NDJSON
MEDIA_TYPES = {"ndjson": "application/x-ndjson", "csv": "text/csv"}
FORMATS = {v: k for k, v in MEDIA_TYPES.items()}
_NDJSON = orjson.OPT_APPEND_NEWLINE


def _batches(records: Iterable[dict], size: int) -> Iterator[list[dict]]:
    it = iter(records)
    while batch := list(islice(it, size)):
        yield batch


def ndjson_chunks(records: Iterable[dict], fields: list[str], batch: int = BATCH) -> Iterator[bytes]:
    """One JSON object per line (``\\n``), decimals as strings, as the JSON pages have them."""
    dumps = orjson.dumps
    pending = b""
    for rows in _batches(records, batch):
        body = b"".join([dumps(r, default=json_default, option=_NDJSON) for r in rows])
        # hold the last newline back until more records (or the end) come: a cut stream shows
        yield pending + body[:-1]
        pending = b"\n"
    if pending:
        yield pending


def _text(value: Any) -> str:
    return value.isoformat()


# what a CSV cell holds for each canonical type (None -> empty, strings as they are)
_CELLS: dict[type, Callable[[Any], Any]] = {
    bool: lambda v: "true" if v else "false",
    Decimal: str,
    bytes: lambda v: base64.b64encode(v).decode("ascii"),
    dt.datetime: _text,
    dt.date: _text,
    dt.time: _text,
}


def csv_cell(value: Any) -> Any:
    """A canonical value as a CSV cell: ISO dates, true/false, decimals as written, bytes in base64."""
    convert = _CELLS.get(type(value))
    return value if convert is None else convert(value)


def _path_getter(path: str) -> Callable[[dict], Any]:
    """Reads ``ship_to.city`` from a record holding objects (None when a level is null)."""
    parts = path.split(".")

    def get(record: dict) -> Any:
        value: Any = record
        for part in parts:
            value = value.get(part) if value is not None else None
        return value

    return get


def _values(fields: list[str]) -> Callable[[dict], Iterable[Any]]:
    if not any("." in f for f in fields):
        return lambda r: map(r.get, fields)
    getters = [_path_getter(f) for f in fields]
    return lambda r: [g(r) for g in getters]


def csv_chunks(records: Iterable[dict], fields: list[str], batch: int = BATCH) -> Iterator[bytes]:
    """RFC 4180: a header row, CRLF line ends, fields quoted when they hold a comma, a
    quote or a line break (quotes doubled).  UTF-8, no BOM.  A dotted column (``ship_to.city``)
    is a field of an object field."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL, strict=True)
    cells = _CELLS
    values = _values(fields)
    writer.writerow(fields)
    pending = ""
    for rows in _batches(records, batch):
        writer.writerows([[v if (c := cells.get(type(v))) is None else c(v) for v in values(r)] for r in rows])
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        # hold the last CRLF back until more rows (or the end) come: a cut stream shows
        yield (pending + text[:-2]).encode()
        pending = "\r\n"
    if not pending:  # no rows: the header alone
        yield buffer.getvalue()[:-2].encode()
    yield b"\r\n"


def encoder(fmt: str) -> Callable[[Iterable[dict], list[str]], Iterator[bytes]]:
    """The chunk encoder of ``fmt`` (ndjson or csv)."""
    try:
        return {"ndjson": ndjson_chunks, "csv": csv_chunks}[fmt]
    except KeyError:
        raise ValueError(f"unknown export format {fmt!r}; formats: {', '.join(MEDIA_TYPES)}") from None


def error_line(problem: dict[str, Any]) -> bytes:
    """The NDJSON line that ends a stream broken by ``problem`` (no line end: the stream
    is not complete)."""
    return orjson.dumps({"error": problem}, default=json_default)


def gzip_chunks(chunks: Iterable[bytes], level: int = GZIP_LEVEL) -> Iterator[bytes]:
    """Compress a chunk stream into one gzip member as it goes (constant memory)."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    for chunk in chunks:
        out = compressor.compress(chunk)
        if out:
            yield out
    yield compressor.flush()
