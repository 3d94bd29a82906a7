"""Records written in a flat-file source's own format (the inverse of its readers): CSV,
fixed-width text, COBOL copybook records (EBCDIC through the copybook encoder).

An encoder turns one legacy row (column -> value) into the bytes of one whole record, or
refuses it with :class:`Unfit` naming the column: text longer than its field, a character
the encoding or code page lacks, a number past its PIC or its width. Nothing is truncated,
rounded or replaced. Header and trailer records (``drop.header`` / ``drop.trailer``) are
templates made into records of the same framing; see :mod:`.batches` for the files.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import string
from decimal import Decimal
from typing import Any

from legacy_bridge.drivers.flatfile.cobol import CopybookFormat
from legacy_bridge.drivers.flatfile.copybook import make_encoder
from legacy_bridge.drivers.flatfile.copybook.codepages import codepage
from legacy_bridge.drivers.flatfile.copybook.encode import EncodeError
from legacy_bridge.drivers.flatfile.formats import CsvFormat, FixedFormat
from legacy_bridge.drivers.flatfile.options import build_format, check, format_of, known_columns

__all__ = ["Unfit", "RecordEncoder", "record_encoder", "check_drop", "TEMPLATE_NAMES", "render"]

#: the names a header or trailer template may use
TEMPLATE_NAMES = ("count", "total", "timestamp", "seq")
_SAMPLE = {"count": 0, "total": Decimal(0), "seq": 1}


class Unfit(ValueError):
    """A value (or a header/trailer) the layout cannot hold; ``column`` None for a header/trailer."""

    def __init__(self, column: str | None, reason: str) -> None:
        super().__init__(f"{column}: {reason}" if column else reason)
        self.column, self.reason = column, reason


def _plain(name: str) -> str:
    return name.upper().replace("-", "_")


def aligned(layout: list[str], columns: list[str]) -> list[str | None]:
    """For each column of the layout, the resource's column naming it (``-`` and ``_``, case
    aside, as reads match them), or None: a column the resource does not write."""
    by_plain = {_plain(c): c for c in columns}
    return [by_plain.get(_plain(c)) for c in layout]


def render(template: str, values: dict[str, Any]) -> str:
    """A header or trailer template (``HDR{timestamp:%Y%m%d}``, ``TRL{count:09d}``) filled in."""
    return template.format(**values)


class RecordEncoder:
    """One record format's writer: ``encode(row)`` -> the bytes of one whole record."""

    #: what opens every file before its records (a CSV header row); header records come after it
    file_header: bytes = b""
    #: every header, trailer and record the same length (padded): False for CSV's lines
    fixed_records: bool = True

    def encode(self, row: dict[str, Any]) -> bytes:
        raise NotImplementedError

    def text_record(self, text: str) -> bytes:
        """A header or trailer record holding ``text`` (padded as a record of this format)."""
        raise NotImplementedError


class _Csv(RecordEncoder):
    fixed_records = False

    def __init__(self, fmt: CsvFormat, columns: list[str]) -> None:
        self.columns = [c.name for c in fmt.declared] or columns
        self.keys = aligned(self.columns, columns)
        self.encoding, self.dialect = fmt.encoding, fmt.dialect
        self.special = {fmt.dialect["delimiter"], fmt.dialect["quotechar"], "\n", "\r"}
        self.quoting_none = fmt.dialect["quoting"] == csv.QUOTE_NONE
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer, **{**self.dialect, "lineterminator": "\n", "escapechar": None})
        self.file_header = self._line(list(self.columns)) if fmt.header else b""

    def _line(self, values: list[str]) -> bytes:
        self.buffer.seek(0)
        self.buffer.truncate()
        self.writer.writerow(values)
        return self.buffer.getvalue().encode(self.encoding)

    def text_record(self, text: str) -> bytes:
        # a line as the template spells it (its delimiters its own): "TRL,{count}"
        if "\n" in text or "\r" in text:
            raise Unfit(None, "a header or trailer line cannot hold a line break")
        return _encoded(None, text, self.encoding) + b"\n"

    def encode(self, row: dict[str, Any]) -> bytes:
        values = ["" if k is None or row.get(k) is None else str(row[k]) for k in self.keys]
        for column, value in zip(self.keys, values):
            try:
                value.encode(self.encoding)
            except UnicodeEncodeError as exc:
                raise Unfit(column, f"character {value[exc.start]!r} is not in {self.encoding}") from None
            if self.quoting_none and any(c in value for c in self.special):
                raise Unfit(column, "holds the delimiter, the quote character or a line end, and quoting is none")
        return self._line(values)


def _encoded(column: str | None, text: str, encoding: str) -> bytes:
    try:
        return text.encode(encoding)
    except UnicodeEncodeError as exc:
        raise Unfit(column, f"character {text[exc.start]!r} is not in {encoding}") from None


class _Fixed(RecordEncoder):
    """Declared columns by start and length; one line each, or ``record_length`` bytes and no line end."""

    def __init__(self, fmt: FixedFormat, columns: list[str]) -> None:
        self.fmt = fmt
        self.slices = [
            (key, start, end, name in numeric)
            for numeric in [{name for _, name, _ in fmt.typed}]
            for (name, start, end), key in zip(fmt.slices, aligned([n for n, _, _ in fmt.slices], columns))
            if key is not None
        ]
        self.width = fmt.record_length or fmt.width
        self.end = b"" if fmt.record_length else b"\n"
        self.blank = fmt.blank * self.width

    def encode(self, row: dict[str, Any]) -> bytes:
        record = bytearray(self.blank)
        for name, start, end, numeric in self.slices:
            value = row.get(name)
            if value is None:
                continue
            text = str(value)
            data = _encoded(name, text, self.fmt.encoding)
            if len(data) > end - start:
                raise Unfit(name, f"{len(data)} bytes do not fit the field's {end - start}")
            pad = self.fmt.blank * (end - start - len(data))
            record[start:end] = pad + data if numeric else data + pad
        return bytes(record) + self.end

    def text_record(self, text: str) -> bytes:
        data = _encoded(None, text, self.fmt.encoding)
        if len(data) > self.width:
            raise Unfit(None, f"{len(data)} bytes do not fit a record of {self.width}")
        return data + self.fmt.blank * (self.width - len(data)) + self.end


class _Copybook(RecordEncoder):
    """Copybook records: F (back to back, or text lines) and V (a 4-byte RDW before each)."""

    def __init__(self, fmt: CopybookFormat, columns: list[str]) -> None:
        self.keys = aligned(fmt.layout.columns, columns)
        self.column_of = dict(zip(fmt.layout.columns, self.keys))
        self.encoder = make_encoder(fmt.layout, fmt.codepage, fmt.floating_point)
        self.cp = codepage(fmt.codepage)
        self.length = fmt.record_length
        self.rdw = fmt.record_format == "V" and not fmt.lines
        self.end = "\n".encode(fmt.codepage) if fmt.lines else b""

    def _framed(self, record: bytes) -> bytes:
        if self.rdw:
            return (len(record) + 4).to_bytes(2, "big") + b"\0\0" + record + self.end
        return record + self.end

    def encode(self, row: dict[str, Any]) -> bytes:
        try:
            return self._framed(self.encoder(tuple(None if k is None else row.get(k) for k in self.keys)))
        except EncodeError as exc:
            raise Unfit(self.column_of.get(exc.field) or exc.field, exc.reason) from None

    def text_record(self, text: str) -> bytes:
        if len(text) > self.length:
            raise Unfit(None, f"{len(text)} characters do not fit a record of {self.length}")
        try:
            data = bytes(self.cp.encode_map[c] for c in text.ljust(self.length))
        except KeyError as exc:
            raise Unfit(None, f"character {exc.args[0]!r} is not in code page {self.cp.name}") from None
        return self._framed(data)


def record_encoder(options: dict[str, Any], columns: list[str]) -> RecordEncoder:
    """The writer of a flat-file source's records (checked options); ``columns``: those the
    resource writes, in order (a CSV without declared columns writes these)."""
    fmt = build_format(options)
    if isinstance(fmt, CsvFormat):
        return _Csv(fmt, columns)
    if isinstance(fmt, FixedFormat):
        return _Fixed(fmt, columns)
    return _Copybook(fmt, columns)


def _template_problems(key: str, template: Any, encoder: RecordEncoder | None, most: int) -> list[tuple[str, str]]:
    if not isinstance(template, str):
        return [(key, "expected a template such as 'TRL{count:09d}'")]
    names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    unknown = sorted(names - set(TEMPLATE_NAMES))
    if unknown:
        return [(key, f"unknown name(s) {', '.join(unknown)}; known: {', '.join(TEMPLATE_NAMES)}")]
    try:
        made = []
        for count in (0, most):  # fixed widths ({count:09d}) hold both
            text = render(template, {**_SAMPLE, "count": count, "timestamp": dt.datetime(2026, 1, 1)})
            if encoder is not None:
                made.append(encoder.text_record(text))
    except (ValueError, KeyError, IndexError) as exc:
        return [(key, f"cannot be made into a record: {exc}")]
    if key == "header" and encoder is not None and not encoder.fixed_records and len(set(map(len, made))) > 1:
        # written when a batch opens, rewritten in place when it closes: a line must keep its length
        return [(key, "a header line is rewritten at close: give {count} a fixed width ({count:09d})")]
    return []


def check_drop(options: dict[str, Any], drop: dict[str, Any], columns: list[str]) -> list[tuple[str, str]]:
    """What keeps a resource from dropping files in this source's format (as (key, message)
    under ``drop``): the folder, the framing, the header/trailer templates, the total's column."""
    problems: list[tuple[str, str]] = []
    folder = drop.get("folder")
    if not isinstance(folder, str) or not os.path.isdir(folder):
        problems.append(("folder", f"{folder!r} is not an existing folder"))
    elif not os.access(folder, os.W_OK | os.X_OK):
        problems.append(("folder", f"{folder!r} is not writable by this service"))
    if check(options):
        return problems  # the source's own problems are reported under sources.*
    fmt = format_of(options)
    if fmt == "x12":  # written through the mapping in reverse (x12_outbound), never as records
        return problems + [("", "an x12 source's drop is checked by x12_outbound.check_x12_drop")]
    if fmt == "copybook" and options.get("record_format", "F") == "VB":
        problems.append(("", "drops write record_format F or V, not VB (blocked records)"))
    if options.get("variable_size_occurs"):
        problems.append(("", "drops write whole-size records: not with variable_size_occurs"))
    if fmt != "csv":  # 88 levels and OCCURS tables read as columns of their own: they are not written
        layout = build_format(options)
        plain = layout.layout.columns if isinstance(layout, CopybookFormat) else known_columns(options) or []
        outside = [c for c, k in zip(columns, aligned(columns, list(plain))) if k is None]
        if outside:
            problems.append(("", f"column(s) {', '.join(outside)} are no plain field of the layout: drops write those"))
    encoder = None if problems else record_encoder(options, columns)
    for key in ("header", "trailer"):
        if key in drop:
            most = drop["records"] if isinstance(drop.get("records"), int) else 999_999_999
            problems += _template_problems(key, drop[key], encoder, most)
    return problems
