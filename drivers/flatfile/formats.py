"""Record formats of flat files: CSV, fixed-width text, COBOL copybook records.

A format opened on one file handle gives its column names and reads records from a
byte position: ``scan(pos)`` yields ``(offset, row)`` where ``row`` is a tuple in
``columns`` order or a :class:`BadRecord` saying why it cannot be read.  Offsets are
byte positions a later ``scan`` or ``read_at`` can start from, which is what cursors
and the key index keep.  Nothing here holds more than one record in memory.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, BinaryIO

__all__ = ["BadRecord", "Column", "CsvFormat", "FixedFormat", "parse_columns", "TYPES"]

_ESCAPED = re.compile("[\udc80-\udcff]")  # bytes the code page cannot map (surrogateescape)


@dataclass(frozen=True)
class BadRecord:
    """A record that cannot be read; ``fatal`` when nothing after it can be read either.
    ``row``: what could be read of it all the same (None in the bad fields), when the format
    can tell, so a key lookup can say the record with that key is quarantined."""

    reason: str
    field: str | None = None
    fatal: bool = False
    row: tuple | None = None


def _int(text: str) -> int | None:
    text = text.strip()
    return int(text) if text else None


def _decimal(text: str) -> Decimal | None:
    text = text.strip()
    if not text:
        return None
    value = Decimal(text)
    if not value.is_finite():
        raise ValueError(text)
    return value


def _float(text: str) -> float | None:
    text = text.strip()
    return float(text) if text else None


TYPES: dict[str, Callable[[str], Any]] = {"text": str, "int": _int, "decimal": _decimal, "float": _float}


@dataclass(frozen=True)
class Column:
    """A declared column: its name, legacy type and, for fixed width, its bytes."""

    name: str
    type: str = "text"
    start: int | None = None  # 1-based byte position (fixed width)
    length: int | None = None


def parse_columns(spec: Any, fixed: bool) -> tuple[list[Column], list[tuple[str, str]]]:
    """Declared columns from the config, and the problems found in them as (key, message)."""
    columns, problems = [], []
    if not isinstance(spec, list) or not spec:
        return [], [("columns", "expected a list of columns")]
    for i, item in enumerate(spec):
        key = f"columns[{i}]"
        if isinstance(item, str) and not fixed:
            item = {"name": item}
        if not isinstance(item, dict):
            problems.append((key, "expected {name: ..., type: ...}" + (", start, length" if fixed else "")))
            continue
        unknown = set(item) - {"name", "type", "start", "length"}
        if unknown:
            problems.append(
                (
                    key,
                    f"unknown key(s) {', '.join(sorted(map(str, unknown)))}; "
                    "known: name, type" + (", start, length" if fixed else ""),
                )
            )
        name, type_ = item.get("name"), item.get("type", "text")
        if not isinstance(name, str) or not name:
            problems.append((f"{key}.name", "required: the legacy column name"))
        if type_ not in TYPES:
            problems.append((f"{key}.type", f"unknown type {type_!r}; known: {', '.join(TYPES)}"))
        start, length = item.get("start"), item.get("length")
        if fixed:
            for k, v in (("start", start), ("length", length)):
                if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                    problems.append((f"{key}.{k}", f"expected an integer >= 1, got {v!r}"))
        columns.append(Column(str(name), str(type_), start, length))
    names = [c.name for c in columns]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(("columns", f"column {name!r} is declared twice"))
    return columns, problems


def _typed(columns: list[Column]) -> list[tuple[int, str, Callable[[str], Any]]]:
    return [(i, c.name, TYPES[c.type]) for i, c in enumerate(columns) if c.type != "text"]


def _convert(values: list, typed: list) -> BadRecord | None:
    """Typed columns converted in place; the first value that is not of its type is a bad record."""
    for i, name, parse in typed:
        try:
            values[i] = parse(values[i])
        except (ValueError, ArithmeticError, InvalidOperation):
            return BadRecord(f"{values[i]!r} is not a valid {parse.__name__.strip('_') or 'value'}", name)
    return None


def _lines(f: BinaryIO, pos: int) -> Iterator[tuple[int, bytes]]:
    f.seek(pos)
    for line in f:
        yield pos, line
        pos += len(line)


# -- CSV -------------------------------------------------------------------------------


class _Reader:
    """What every text reader shares: one record read at a byte offset through ``scan``."""

    def scan(
        self, pos: int | None = None, block: int | None = None
    ) -> Generator[tuple[int, tuple | BadRecord], None, None]:
        raise NotImplementedError

    def read_at(self, pos: int) -> tuple | BadRecord | None:
        rows = self.scan(pos)
        try:
            return next(rows, (pos, None))[1]
        finally:
            rows.close()


class CsvFormat:
    """Delimited text: a header row or declared columns, any encoding, standard quoting."""

    def __init__(
        self,
        delimiter: str = ",",
        quotechar: str = '"',
        quoting: str = "minimal",
        header: bool = True,
        columns: list[Column] | None = None,
        encoding: str = "utf-8",
    ) -> None:
        self.dialect: dict[str, Any] = {
            "delimiter": delimiter,
            "quotechar": quotechar,
            "quoting": csv.QUOTE_NONE if quoting == "none" else csv.QUOTE_MINIMAL,
            "doublequote": True,
            "strict": True,
        }
        self.header, self.declared, self.encoding = header, columns or [], encoding

    def open(self, f: BinaryIO) -> _CsvReader:
        return _CsvReader(self, f)


class _CsvReader(_Reader):
    block = 0  # records are not blocked: nothing more than the offset to resume from

    def __init__(self, fmt: CsvFormat, f: BinaryIO) -> None:
        self.fmt, self.f = fmt, f
        self.first = 0
        header: list[str] | None = None
        if fmt.header:
            rows = self._rows(0)
            offset, first = next(rows, (0, None))
            rows.close()
            if isinstance(first, BadRecord):
                raise ValueError(f"the header row cannot be read: {first.reason}")
            header = [h.strip() for h in first] if first is not None else []
            self.first = self._end
        # a header names the columns; declared ones give their types (the rest stay text)
        self.columns = header if header is not None else [c.name for c in fmt.declared]
        missing = [c.name for c in fmt.declared if c.name not in self.columns]
        if missing:
            raise ValueError(f"column(s) not in the header row: {', '.join(missing)}")
        self.width = len(self.columns)
        self.typed = [(self.columns.index(c.name), c.name, TYPES[c.type]) for c in fmt.declared if c.type != "text"]

    def _rows(self, pos: int) -> Generator[tuple[int, list[str] | BadRecord], None, None]:
        """Raw rows and where each starts; a row may span lines (quoted newlines)."""
        self._end = pos
        encoding = self.fmt.encoding

        def text() -> Iterator[str]:
            for offset, raw in _lines(self.f, pos):
                self._end = offset + len(raw)
                yield raw.decode(encoding, "surrogateescape")

        reader = csv.reader(text(), **self.fmt.dialect)
        while True:
            start = self._end
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:  # the reader cannot resynchronise after this
                yield start, BadRecord(f"not valid CSV: {exc}", fatal=True)
                return
            if not row:  # a blank line holds no record
                continue
            if any(_ESCAPED.search(v) for v in row):
                yield start, BadRecord(f"bytes that are not valid {encoding}")
                continue
            yield start, row

    def scan(
        self, pos: int | None = None, block: int | None = None
    ) -> Generator[tuple[int, tuple | BadRecord], None, None]:
        for offset, row in self._rows(self.first if pos is None else pos):
            yield offset, row if isinstance(row, BadRecord) else self._record(row)

    def _record(self, row: list[str]) -> tuple | BadRecord:
        if len(row) != self.width:
            return BadRecord(f"{len(row)} field(s), expected {self.width}")
        bad = _convert(row, self.typed) if self.typed else None
        return bad or tuple(row)


# -- fixed width -----------------------------------------------------------------------


class FixedFormat:
    """Fixed-width text: columns by start/length in bytes, one record per line (or
    ``record_length`` bytes each when the file has no line ends), any code page."""

    def __init__(self, columns: list[Column], encoding: str = "ascii", record_length: int | None = None) -> None:
        self.columns = [c.name for c in columns]
        # parse_columns has required start and length of every fixed-width column
        self.slices = [
            (c.name, c.start - 1, c.start - 1 + c.length)
            for c in columns
            if c.start is not None and c.length is not None
        ]
        self.typed = _typed(columns)
        self.encoding, self.record_length = encoding, record_length
        self.width = max(end for _, _, end in self.slices)
        self.blank = " ".encode(encoding)

    def open(self, f: BinaryIO) -> _FixedReader:
        return _FixedReader(self, f)


class _FixedReader(_Reader):
    first = 0
    block = 0

    def __init__(self, fmt: FixedFormat, f: BinaryIO) -> None:
        self.fmt, self.f, self.columns = fmt, f, fmt.columns

    def _records(self, pos: int) -> Iterator[tuple[int, bytes]]:
        size = self.fmt.record_length
        if size is None:
            for offset, line in _lines(self.f, pos):
                yield offset, line.rstrip(b"\r\n")
            return
        self.f.seek(pos)
        while True:
            record = self.f.read(size)
            if not record:
                return
            yield pos, record
            pos += len(record)

    def scan(
        self, pos: int | None = None, block: int | None = None
    ) -> Generator[tuple[int, tuple | BadRecord], None, None]:
        for offset, record in self._records(pos or 0):
            yield offset, self._record(record)

    def _record(self, record: bytes) -> tuple | BadRecord:
        fmt = self.fmt
        if fmt.record_length is not None and len(record) < fmt.record_length:
            return BadRecord(f"truncated: {len(record)} of {fmt.record_length} bytes", fatal=True)
        if not record.strip():
            return BadRecord("an empty record")
        if len(record) < fmt.width:  # editors and transfers drop trailing blanks
            record = record + fmt.blank * (fmt.width - len(record))
        values = []
        for name, start, end in fmt.slices:
            try:
                values.append(record[start:end].decode(fmt.encoding))
            except UnicodeDecodeError as exc:
                return BadRecord(
                    f"byte 0x{record[start + exc.start]:02X} at offset {start + exc.start} is not valid {fmt.encoding}",
                    name,
                )
        bad = _convert(values, fmt.typed) if fmt.typed else None
        return bad or tuple(values)
