"""COBOL copybook records as a flat-file format, over :mod:`.copybook`.

The layout is parsed once (at start-up) and its decoder generated once; each record
is one call.  Records are fixed length (``F``), variable with a record descriptor
word (``V``) or blocked variable (``VB``), or text lines (a copybook describing a
fixed-width text file).  A record the decoder refuses (bad packed nibble, bad code
point, truncated) is a :class:`BadRecord`; a broken descriptor word or a truncated
last record is a fatal one, since nothing after it can be located.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import Any, BinaryIO

from legacy_bridge.drivers.flatfile.copybook import Layout, RecordError, conditions, iter_records, make_decoder
from legacy_bridge.drivers.flatfile.copybook.conditions import Condition, with_conditions
from legacy_bridge.drivers.flatfile.formats import BadRecord

__all__ = ["CopybookFormat"]


class CopybookFormat:
    def __init__(
        self,
        layout: Layout,
        codepage: str = "cp037",
        record_format: str = "F",
        floating_point: str = "ibm",
        lines: bool = False,
    ) -> None:
        self.layout = layout
        # 88 levels follow the fields as boolean columns (STATUS_ACTIVE: True / False / None)
        self.conditions = conditions(layout)
        self.columns = list(layout.columns) + [c.name for c in self.conditions]
        self.decode = with_conditions(
            make_decoder(layout, codepage_name=codepage, floating_point=floating_point, strict=True),
            layout,
            self.conditions,
        )
        self.record_format = record_format
        self.record_length = layout.record_length
        self.lines = lines
        # a text line shorter than the layout lost its trailing blanks on the way
        self.blank = " ".encode(codepage) if lines else b""

    def open(self, f: BinaryIO) -> _CopybookReader:
        return _CopybookReader(self, f)


class _CopybookReader:
    first = 0
    #: VB: the offset of the block (its BDW) holding the record ``scan`` yielded last;
    #: a cursor keeps it, so the next page enters that block without reading from the start
    block: int | None = 0

    def __init__(self, fmt: CopybookFormat, f: BinaryIO) -> None:
        self.fmt, self.f, self.columns = fmt, f, fmt.columns

    def _decode(self, record: bytes) -> tuple | BadRecord:
        try:
            return self.fmt.decode(record)
        except RecordError as exc:
            return BadRecord(exc.reason, exc.field)

    def _raw(self, pos: int, block: int | None) -> Iterator[tuple[int, bytes | BadRecord]]:
        fmt = self.fmt
        if fmt.lines:
            self.f.seek(pos)
            for line in self.f:
                record = line.rstrip(b"\r\n")
                if len(record) < fmt.record_length:
                    record += fmt.blank * (fmt.record_length - len(record))
                yield pos, record
                pos += len(line)
            return
        base, block_end = pos, None
        if fmt.record_format == "VB" and pos and block != pos:  # block == pos: a block starts at pos
            block_end = self._block_end(block, pos)
            if block_end is None:  # no block known: read from the start, skip what is before pos
                base = 0
            else:
                self.block = block
        self.f.seek(base)
        try:
            for offset, record in iter_records(
                self.f,
                fmt.record_format,
                fmt.record_length,
                base,
                block_end,
                self._entered if fmt.record_format == "VB" else None,
            ):
                if offset >= pos:
                    yield offset, record
        except RecordError as exc:
            yield exc.offset if exc.offset is not None else base, BadRecord(exc.reason, exc.field, fatal=True)

    def _entered(self, block: int) -> None:
        self.block = block

    def _block_end(self, block: int | None, pos: int) -> int | None:
        """Where the block at ``block`` ends, if ``pos`` lies inside it."""
        if block is None or not 0 <= block < pos:
            return None
        self.f.seek(block)
        bdw = self.f.read(4)
        end = block + int.from_bytes(bdw[:2], "big") if len(bdw) == 4 else 0
        return end if block + 4 <= pos < end else None

    def scan(
        self, pos: int | None = None, block: int | None = None
    ) -> Generator[tuple[int, tuple | BadRecord], None, None]:
        """(offset, row) from ``pos``; a VB read resumes inside ``block`` (a BDW offset) when given."""
        decode = self._decode
        for offset, record in self._raw(pos or 0, block):
            yield offset, record if isinstance(record, BadRecord) else decode(record)

    def read_at(self, pos: int) -> tuple | BadRecord | None:
        fmt, f = self.fmt, self.f
        f.seek(pos)
        if fmt.lines or fmt.record_format == "F":
            rows = self.scan(pos)
            try:
                return next(rows, (pos, None))[1]
            finally:
                rows.close()
        rdw = f.read(4)  # V and VB: the offset is the record's descriptor word
        if len(rdw) < 4:
            return None
        return self._decode(f.read(int.from_bytes(rdw[:2], "big") - 4))


def describe(layout: Layout) -> list[dict[str, Any]]:
    """The layout as rows for the introspection table; an 88 level follows its field."""
    tested: dict[str, list] = {}
    for c in conditions(layout):
        tested.setdefault(c.field, []).append(c)
    rows = []
    for f in layout.fields:
        rows.append(
            {
                "field": f.name,
                "offset": f.offset,
                "length": f.length,
                "type": f.type + (f"({f.scale})" if f.type == "decimal" else ""),
                "usage": f.usage,
                "pic": f.pic,
            }
        )
        rows += [
            {"field": c.name, "offset": f.offset, "length": f.length, "type": "bool", "usage": "88", "pic": _values(c)}
            for c in tested.get(f.name, [])
        ]
    return rows


def _values(c: Condition) -> str:
    shown = [repr(v) for v in c.values] + [f"{lo!r} THRU {hi!r}" for lo, hi in c.ranges]
    return " ".join(shown)
