"""X12 interchanges as a flat-file record format: one record per transaction set of the mapped code.

A record's offset is the byte offset of its ``ST`` segment; the reader's ``block`` is the offset
of the ``ISA`` of its interchange, which a cursor keeps so the next page starts reading at that
interchange (the delimiters and the group's header are there).  A read by offset alone (a get
through the key index) finds its interchange by searching back from the ``ST`` for the ``ISA``.
Sets of other codes are other resources' records: skipped.  A set the envelope or the mapping
refuses is a :class:`BadRecord` whose reason starts with its interchange, group and set control
numbers; a broken envelope (no ISA, a segment outside a set, a missing trailer) is a fatal one.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import BinaryIO

from legacy_bridge.drivers.flatfile.formats import BadRecord
from legacy_bridge.drivers.flatfile.x12_interim_tokenizer import ISA_LENGTH, SetRead, isa_at, sets_from
from legacy_bridge.drivers.flatfile.x12_mapping import MappingError, SetMapping, read_set

__all__ = ["X12Format", "interchange_before"]

_BACK = 1 << 16


class X12Format:
    """Transaction sets of code ``mapping.code`` read through ``mapping``; ``strict``: segment
    counts and trailer control numbers checked (SE01, GE01/GE02, IEA01/IEA02)."""

    def __init__(self, mapping: SetMapping, encoding: str = "utf-8", strict: bool = True) -> None:
        self.mapping, self.encoding, self.strict = mapping, encoding, strict
        self.columns = mapping.columns

    def open(self, f: BinaryIO) -> _X12Reader:
        return _X12Reader(self, f)


class _X12Reader:
    first = 0
    block: int | None = 0  # the offset of the ISA of the set scan yielded last

    def __init__(self, fmt: X12Format, f: BinaryIO) -> None:
        self.fmt, self.f, self.columns = fmt, f, fmt.columns

    def scan(
        self, pos: int | None = None, block: int | None = None
    ) -> Generator[tuple[int, tuple | BadRecord], None, None]:
        """(offset, row) of each set of the mapped code from ``pos`` (an ST offset); ``block``: the
        offset of its interchange's ISA, when known."""
        pos = pos or 0
        start = block if block is not None and block <= pos else interchange_before(self.f, pos)
        fmt = self.fmt
        for offset, found in sets_from(self.f, start or 0, fmt.encoding, fmt.strict):
            if offset < pos:
                continue
            self.block = found.interchange_offset
            if found.error is not None:
                if found.fatal or found.code in ("", fmt.mapping.code):
                    yield offset, BadRecord(_reason(found, found.error), fatal=found.fatal, row=self._lenient(found))
            elif found.code == fmt.mapping.code:
                yield offset, self._record(found)

    def _record(self, found: SetRead) -> tuple | BadRecord:
        envelope = [found.isa, found.gs]
        try:
            return read_set(self.fmt.mapping, found.segments, found.sub, envelope)
        except MappingError as exc:
            return BadRecord(_reason(found, exc.reason), exc.field, row=self._lenient(found))

    def _lenient(self, found: SetRead) -> tuple | None:
        """What can be read of a refused set (its key, for a get to say it is quarantined)."""
        if found.code != self.fmt.mapping.code or not found.segments:
            return None
        return read_set(self.fmt.mapping, found.segments, found.sub, [found.isa, found.gs], lenient=True)

    def read_at(self, pos: int) -> tuple | BadRecord | None:
        rows = self.scan(pos)
        try:
            offset, row = next(rows, (pos, None))
            return row if offset == pos else None
        finally:
            rows.close()


def _reason(found: SetRead, why: str) -> str:
    where = found.where()
    return f"{where}: {why}" if where else why


def interchange_before(f: BinaryIO, pos: int) -> int | None:
    """The offset of the last ISA segment starting at or before ``pos`` (its separators where the
    ISA's fixed layout puts them, so an element holding the letters ISA is not taken for one)."""
    end = pos + 1  # candidates start before ``end``
    while end > 0:
        start = max(0, end - _BACK)
        f.seek(start)
        window = f.read(end - start - 1 + ISA_LENGTH)
        limit = end - start - 1  # the last index a candidate may start at
        while limit >= 0:
            i = window.rfind(b"ISA", 0, limit + 3)
            if i < 0:
                break
            if isa_at(window[i : i + ISA_LENGTH]) is not None:
                return start + i
            limit = i - 1
        end = start
    return None
