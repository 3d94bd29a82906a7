"""Record-aligned byte ranges of one file version, to read it as partitions of about equal size.

- ``F`` records (a copybook's fixed length, or fixed-width text without line ends): arithmetic,
  record ``k`` starts at ``k * length``; nothing is read.
- ``V``: the chain of record descriptor words, ``VB``: the blocks (each block's descriptor and
  the records' descriptors inside it, to count the records before each range), walked once
  per file version without decoding a record; ranges start at a record (``V``) or a block
  (``VB``).  A broken descriptor ends the walk: the rest is the last range, whose read reports it.
- Anything else (CSV, text lines, a layout whose records vary in size without descriptors)
  cannot be cut without reading every record: one range.
"""

from __future__ import annotations

from typing import BinaryIO

from legacy_bridge.drivers.flatfile.cobol import CopybookFormat
from legacy_bridge.drivers.flatfile.files import DataFile
from legacy_bridge.drivers.flatfile.formats import FixedFormat
from legacy_bridge.query.legacy import Extent

__all__ = ["byte_ranges"]

_CHUNK = 1 << 20


def _fixed_length(fmt: object) -> int | None:
    # F records packed back to back, each as long as its counters (variable_size_occurs), have no
    # fixed length to cut at: one partition per file
    if isinstance(fmt, CopybookFormat) and not fmt.lines and fmt.record_format == "F" and fmt.measure is None:
        return fmt.record_length
    if isinstance(fmt, FixedFormat):
        return fmt.record_length
    return None


def _variable(fmt: object) -> str | None:
    if isinstance(fmt, CopybookFormat) and not fmt.lines and fmt.record_format in ("V", "VB"):
        return fmt.record_format
    return None


def byte_ranges(fmt: object, handle: BinaryIO, df: DataFile, parts: int) -> list[Extent]:
    """``df`` (open as ``handle``) cut into up to ``parts`` record-aligned ranges, in order."""
    length, variable = _fixed_length(fmt), _variable(fmt)
    if length:
        records = df.size // length
        firsts = [k for k in sorted({-(-records * i // parts) for i in range(parts)}) if k < records] or [0]
        ends: list[int | None] = [k * length for k in firsts[1:]] + [None]
        return [Extent(df.token, k * length, end, k) for k, end in zip(firsts, ends)]
    if variable is None:
        return [Extent(df.token, 0, None, 0)]
    cuts = _walk(handle, variable == "VB", [df.size * i // parts for i in range(1, parts)])
    starts: list[tuple[int, int, int | None]] = [(0, 0, 0 if variable == "VB" else None), *cuts]
    limits: list[int | None] = [c[0] for c in cuts] + [None]
    return [Extent(df.token, start, end, record, block) for (start, record, block), end in zip(starts, limits)]


def _walk(f: BinaryIO, blocked: bool, targets: list[int]) -> list[tuple[int, int, int | None]]:
    """(offset, records before it, block) of the first unit (a record for V, a block for VB)
    starting at or after each target offset; stops at the end or at a broken descriptor."""
    cuts: list[tuple[int, int, int | None]] = []
    f.seek(0)
    buf, base, i, records = b"", 0, 0, 0
    pending = list(targets)
    while pending:
        if len(buf) - i < 4:
            if i >= len(buf):  # a V record longer than what was read: go past it
                f.seek(base + i)
            buf, base, i = buf[i:] + f.read(_CHUNK), base + i, 0
            if len(buf) < 4:
                break
        offset = base + i
        if offset >= pending[0] and offset > (cuts[-1][0] if cuts else 0):
            cuts.append((offset, records, offset if blocked else None))
            while pending and pending[0] <= offset:
                pending.pop(0)
        length = int.from_bytes(buf[i : i + 2], "big")
        if length < 4:
            break  # a broken descriptor: the read of the last range reports it
        if blocked:  # count the records of the block, then step over it
            if len(buf) - i < length:
                buf, base, i = buf[i:] + f.read(max(_CHUNK, length)), base + i, 0
                if len(buf) < length:
                    break
            j, end = i + 4, i + length
            while j + 4 <= end:
                step = int.from_bytes(buf[j : j + 2], "big")
                if step < 4:
                    return cuts
                j += step
                records += 1
        else:
            records += 1
        i += length
    return cuts
