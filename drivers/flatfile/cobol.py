"""COBOL copybook records as a flat-file format, over :mod:`.copybook`.

The layout is parsed once (at start-up) and its decoder generated once; each record
is one call.  Records are fixed length (``F``), variable with a record descriptor
word (``V``) or blocked variable (``VB``), or text lines (a copybook describing a
fixed-width text file).  A record the decoder refuses (bad packed nibble, bad code
point, truncated) is a :class:`BadRecord`; a broken descriptor word or a truncated
last record is a fatal one, since nothing after it can be located.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from dataclasses import replace
from typing import Any, BinaryIO

from legacy_bridge.drivers.flatfile.copybook import Layout, RecordError, conditions, iter_records, make_decoder
from legacy_bridge.drivers.flatfile.copybook.conditions import Condition, with_conditions
from legacy_bridge.drivers.flatfile.copybook.nested import make_nester, nested_columns
from legacy_bridge.drivers.flatfile.copybook.variable import make_array_decoder, make_measure, make_variable_decoder
from legacy_bridge.drivers.flatfile.formats import BadRecord

__all__ = ["CopybookFormat"]


class CopybookFormat:
    _lenient: Callable[[bytes], tuple] | None = None

    def __init__(
        self,
        layout: Layout,
        codepage: str = "cp037",
        record_format: str = "F",
        floating_point: str = "ibm",
        lines: bool = False,
        variable_size_occurs: bool = False,
    ) -> None:
        self.layout = layout
        # 88 levels follow the fields as boolean columns (STATUS_ACTIVE: True / False / None),
        # then OCCURS tables as arrays and groups as objects (ITEMS: [{QTY: 1}, ...])
        self.conditions = conditions(layout)
        self.columns = list(layout.columns) + [c.name for c in self.conditions] + nested_columns(layout)
        self.variable = variable_size_occurs
        self.make = make_variable_decoder if variable_size_occurs else make_decoder
        self.codepage, self.floating_point = codepage, floating_point
        self.decode = self._decoder(strict=True)
        # F records packed back to back, each as long as its counters make it (Cobrix test21)
        self.measure = make_measure(layout, codepage, floating_point) if variable_size_occurs else None
        self.record_format = record_format
        self.record_length = layout.record_length
        self.lines = lines
        self.codepage, self.floating_point = codepage, floating_point
        # a text line shorter than the layout lost its trailing blanks on the way
        self.blank = " ".encode(codepage) if lines else b""

    def _decoder(self, strict: bool) -> Callable[[bytes], tuple]:
        flat = self.make(self.layout, self.codepage, self.floating_point, strict=strict)
        nest = make_nester(self.layout)
        composed = _with_nested(with_conditions(flat, self.layout, self.conditions), nest)
        if not strict or nest is None or self.conditions:  # (88 levels go between flat and nested)
            return composed
        # tables built while the record is decoded; the composed decoder names a bad field
        return make_array_decoder(self.layout, self.codepage, self.floating_point, self.variable, composed)

    def lenient(self) -> Callable[[bytes], tuple]:
        """The decoder putting None in bad fields (for what can be read of a bad record), made once."""
        if self._lenient is None:
            self._lenient = self._decoder(strict=False)
        return self._lenient

    def open(self, f: BinaryIO) -> _CopybookReader:
        return _CopybookReader(self, f)

    def keys_only(self, columns: list[str]) -> CopybookFormat | None:
        """The same records decoding only ``columns`` (what a key index needs: far less work
        than every field), or None when one is not a plain field of the layout (an 88
        level, or an element of an OCCURS DEPENDING ON)."""
        fields = {f.name: f for f in self.layout.fields}
        wanted = [fields.get(c) for c in columns]
        if any(f is None or f.odo for f in wanted):
            return None
        # the key fields alone, outside their groups: no object or array column to build
        keys = Layout(self.layout.record_length, [replace(f, path=f.path[-1:]) for f in wanted if f is not None])
        return CopybookFormat(keys, self.codepage, self.record_format, self.floating_point, self.lines)


def _with_nested(decode: Callable[[bytes], tuple], nest: Callable[[tuple], tuple] | None) -> Callable[[bytes], tuple]:
    if nest is None:
        return decode

    def decode_with_nested(record: bytes) -> tuple:
        row = decode(record)
        return row + nest(row)

    return decode_with_nested


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
            return BadRecord(exc.reason, exc.field, row=self._lenient(record))

    def _lenient(self, record: bytes) -> tuple | None:
        """What can be read of a bad record (its key, most often)."""
        try:
            return self.fmt.lenient()(record)
        except RecordError:  # truncated: nothing of it can be trusted
            return None

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
                fmt.measure if fmt.record_format == "F" else None,
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
