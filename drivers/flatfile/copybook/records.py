"""Records of a legacy file: fixed length (F), variable with an RDW (V), blocked (VB)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import BinaryIO

from legacy_bridge.drivers.flatfile.copybook.decode import RecordError

__all__ = ["iter_records"]

_CHUNK = 1 << 20


def iter_records(
    f: BinaryIO,
    record_format: str,
    record_length: int = 0,
    start: int = 0,
    block_end: int | None = None,
    on_block: Callable[[int], None] | None = None,
    measure: Callable[[bytes, int], int] | None = None,
) -> Iterator[tuple[int, bytes]]:
    """Yield (byte offset, record bytes) from a binary file, reading ~1 MiB at a time.

    ``F``: fixed ``record_length``; ``V``: each record preceded by a 4-byte RDW (big-endian
    length including the RDW itself); ``VB``: blocks with a 4-byte BDW holding V records.
    A truncated last record raises :class:`RecordError` with its offset.

    Offsets count from ``start``, the position ``f`` is at.  V and VB may start at any
    record's RDW; for VB, ``block_end`` is then where the block holding it ends (its BDW
    offset + length), so a read resumes mid-block.  ``on_block(offset)`` is called at
    each BDW, which is how a reader knows which block a record came from.

    ``F`` with ``measure(buffer, start) -> end``: records packed back to back, each as long as
    ``measure`` says (variable-size OCCURS); ``record_length`` is then the longest one.
    """
    fmt = record_format.upper()
    if fmt == "F":
        if record_length <= 0:
            raise ValueError("record_length must be > 0 for fixed-length records")
        if measure is not None:
            yield from _measured(f, measure, record_length, start)
        else:
            yield from _fixed(f, record_length, start)
    elif fmt in ("V", "VB"):
        yield from _variable(f, fmt == "VB", start, block_end, on_block)
    else:
        raise ValueError(f"record_format must be F, V or VB, not {record_format!r}")


def _fixed(f: BinaryIO, n: int, pos: int = 0) -> Iterator[tuple[int, bytes]]:
    size = max(n, _CHUNK // n * n)
    while True:
        chunk = f.read(size)
        if not chunk:
            return
        while len(chunk) % n:  # a short read from a pipe: top it up
            more = f.read(n - len(chunk) % n)
            if not more:
                whole = len(chunk) // n * n
                for i in range(0, whole, n):
                    yield pos + i, chunk[i : i + n]
                raise RecordError(f"truncated record: {len(chunk) - whole} of {n} bytes", None, pos + whole)
            chunk += more
        for i in range(0, len(chunk), n):
            yield pos + i, chunk[i : i + n]
        pos += len(chunk)


def _measured(f: BinaryIO, measure: Callable[[bytes, int], int], longest: int, pos: int) -> Iterator[tuple[int, bytes]]:
    buf, i = b"", 0
    while True:
        if len(buf) - i < longest:  # keep at least one longest record ahead
            buf, pos, i = buf[i:] + f.read(max(_CHUNK, longest)), pos + i, 0
            if not buf:
                return
        try:
            end = measure(buf, i)
        except RecordError as exc:
            raise RecordError(exc.reason, exc.field, pos + i) from None
        if end <= i:
            raise RecordError("a record of no bytes: its layout has only empty tables", None, pos + i)
        yield pos + i, buf[i:end]
        i = end


def _variable(
    f: BinaryIO,
    blocked: bool,
    start: int = 0,
    block_ends_at: int | None = None,
    on_block: Callable[[int], None] | None = None,
) -> Iterator[tuple[int, bytes]]:
    buf = b""
    base = start  # file offset of buf[0]
    i = 0
    # VB: offset in buf where the current block ends (0: the next bytes are a BDW)
    block_end = block_ends_at - start if block_ends_at is not None else 0

    def need(k: int) -> bool:
        nonlocal buf, base, i, block_end
        if len(buf) - i >= k:
            return True
        more = f.read(max(_CHUNK, k))
        buf, base, block_end = buf[i:] + more, base + i, block_end - i
        i = 0
        return len(buf) >= k

    while need(1):
        if blocked and i >= block_end:
            if not need(4):
                raise RecordError("truncated block descriptor (BDW)", None, base + i)
            bdw = int.from_bytes(buf[i : i + 2], "big")
            if bdw < 4:
                raise RecordError(f"bad block descriptor length {bdw}", None, base + i)
            block_end = i + bdw
            if on_block is not None:
                on_block(base + i)
            i += 4
            continue
        if not need(4):
            raise RecordError("truncated record descriptor (RDW)", None, base + i)
        rdw = int.from_bytes(buf[i : i + 2], "big")
        if rdw < 4:
            raise RecordError(f"bad record descriptor length {rdw}", None, base + i)
        if not need(rdw):
            raise RecordError(f"truncated record: {len(buf) - i} of {rdw} bytes", None, base + i)
        yield base + i, buf[i + 4 : i + rdw]
        i += rdw
