"""X12 interchanges as a flat-file record format: one record per transaction set of the mapped code.

The codec (:mod:`.x12`) streams the sets of a file with their envelopes; each set of the mapped
code is read through the mapping (:mod:`.x12_mapping`).  A record's offset is the byte offset of
its ``ST``: a cursor, a key lookup or a partition reads from there, the codec searching back for
the interchange's ``ISA`` (its delimiters and control numbers).  Sets of other codes are other
resources' records: skipped, their errors too.  A set the envelope or the mapping refuses is a
:class:`BadRecord` whose reason starts with its interchange, group and set control numbers; an
envelope error that no set owns (a group's or interchange's trailer) is listed by every source
reading the file, and one that stops the file (no delimiters, data ending inside an interchange)
is a fatal one.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import BinaryIO

from legacy_bridge.drivers.flatfile.formats import BadRecord
from legacy_bridge.drivers.flatfile.x12 import EnvelopedSet, X12Error, X12Reader
from legacy_bridge.drivers.flatfile.x12_mapping import MappingError, SetMapping
from legacy_bridge.drivers.flatfile.x12_reading import read_set

__all__ = ["X12Format"]


class X12Format:
    """Transaction sets of code ``mapping.code`` read through ``mapping``; ``strict``: segment
    counts checked (SE01, GE01, IEA01; control numbers are always compared)."""

    def __init__(self, mapping: SetMapping, encoding: str = "utf-8", strict: bool = True) -> None:
        self.mapping, self.encoding, self.strict = mapping, encoding, strict
        self.columns = mapping.columns

    def open(self, f: BinaryIO) -> _X12Reader:
        return _X12Reader(self, f)


class _X12Reader:
    first = 0
    block = None  # the codec finds a set's interchange by itself: nothing more to keep in a cursor

    def __init__(self, fmt: X12Format, f: BinaryIO) -> None:
        self.fmt, self.columns = fmt, fmt.columns
        self.codec = X12Reader(f, fmt.encoding, check_counts=fmt.strict)

    def scan(
        self, pos: int | None = None, block: int | None = None
    ) -> Generator[tuple[int, tuple | BadRecord], None, None]:
        """(offset, row) of each set of the mapped code from ``pos`` (an ST offset) on."""
        code = self.fmt.mapping.code
        for offset, event in self.codec.scan(pos):
            if isinstance(event, X12Error):
                if event.fatal or event.set_code in (None, code):
                    yield offset, BadRecord(str(event), event.element, fatal=event.fatal)
            elif event.transaction_set.code == code:
                yield offset, self._record(event)

    def _record(self, found: EnvelopedSet) -> tuple | BadRecord:
        ic, group, ts = found.interchange, found.group, found.transaction_set
        envelope, sub = [ic.header, group.header], ic.delimiters.sub_element
        try:
            return read_set(self.fmt.mapping, ts.segments, sub, envelope)
        except MappingError as exc:
            where = f"interchange {ic.control}, group {group.control}, set {ts.control} ({ts.code})"
            lenient = read_set(self.fmt.mapping, ts.segments, sub, envelope, lenient=True)
            return BadRecord(f"{where}: {exc.reason}", exc.field, row=lenient)

    def read_at(self, pos: int) -> tuple | BadRecord | None:
        rows = self.scan(pos)
        try:
            offset, row = next(rows, (pos, None))
            return row if offset == pos else None
        finally:
            rows.close()
