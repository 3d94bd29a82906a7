"""Keys of fixed-length copybook records read a megabyte at a time, for the key index.

A key index needs only each record's key text and offset.  With fixed-length records (``F``)
and a key of text fields, a chunk of whole records is translated from its code page once
(``bytes.translate``, in C) and decoded once; each key is then one slice and ``rstrip`` of
that text, the same text :func:`~.index.key_text` makes of the decoded field.  A key holding
a byte the code page cannot map (NUL after translation, as the strict decoder refuses it) is
left out of the index: the bad-records survey lists its record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from legacy_bridge.drivers.flatfile.copybook.codepages import codepage

__all__ = ["text_key_batches"]

CHUNK = 1 << 18  # 9,700 records of 27 bytes: a few MiB of keys at a time
Batch = list[tuple[str, int, int]]


def text_key_batches(
    fmt: Any, f: BinaryIO, columns: list[str], step: Callable[[int, int], None]
) -> Iterator[Batch] | None:
    """Batches of (key text, offset, record number) of ``f``, or None when ``fmt`` is not a
    fixed-length copybook format with a key of text fields.  ``step(records, offset)`` is told
    how far the read is after each batch."""
    layout = getattr(fmt, "layout", None)
    if layout is None or fmt.record_format != "F" or fmt.lines:
        return None
    fields = {f.name: f for f in layout.fields}
    key = [fields.get(c) for c in columns]
    if any(f is None or f.type != "text" or f.odo for f in key):
        return None
    spans = [(f.offset, f.offset + f.length) for f in key if f is not None]
    table = codepage(fmt.codepage).text_table(0)
    return _batches(f, layout.record_length, spans, table, step)


def _batches(
    f: BinaryIO, size: int, spans: list[tuple[int, int]], table: bytes, step: Callable[[int, int], None]
) -> Iterator[Batch]:
    per_chunk = max(1, CHUNK // size)
    f.seek(0)
    offset, recno = 0, 0
    (start, end), single = spans[0], len(spans) == 1
    while True:
        chunk = f.read(per_chunk * size)
        whole = len(chunk) // size * size  # a truncated last record has no key to index
        if not whole:
            return
        text = chunk[:whole].translate(table).decode("latin-1")
        if single:
            keys = [text[i + start : i + end].rstrip() for i in range(0, whole, size)]
        else:
            keys = ["\x1f".join(text[i + a : i + b].rstrip() for a, b in spans) for i in range(0, whole, size)]
        batch = [(k, offset + i * size, recno + i + 1) for i, k in enumerate(keys) if "\0" not in k]
        recno += whole // size
        offset += whole
        step(recno, offset)
        if batch:
            yield batch
        if whole < len(chunk) or len(chunk) < per_chunk * size:
            return
