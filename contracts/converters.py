"""Two-way converters between legacy values and canonical values.

``to_canonical`` runs on every value read, so it is a plain function of one value.
``to_legacy`` runs once per filter value, so a filter on a canonical field is pushed
down in the legacy system's own terms (``2020-01-01`` -> ``20200101``).

A converter that maps legacy sentinels (``0``, ``99999999``, blanks) to null lists
them in ``legacy_nulls`` so that ``isnull`` and comparisons stay correct when pushed
down.  Custom converters: subclass :class:`Converter` and :func:`register` it.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from . import dates  # noqa: F401 - registers the date and time converters
from .converter_base import (
    MEMO_INLINE,
    MEMO_KEPT,
    Chain,
    ConversionError,
    Converter,
    build,
    check_count,
    known,
    memo_reader,
    register,
)

__all__ = ["Converter", "ConversionError", "register", "build", "known", "Chain", "as_text"]


def as_text(value: Any) -> str:
    """A legacy value of any type as the text a field without converter shows: ISO 8601 for
    dates and times, ``true``/``false``, decimals as written, bytes in base64."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    return str(value)


# -- built-ins -------------------------------------------------------------------------


@register
class Identity(Converter):
    """No converter: the value as text (a string in the contract, whatever the column's type);
    declare ``int``, ``decimal``... for other columns, so they are typed and filters bind
    values of the column's type."""

    name = "none"

    def to_canonical(self, value: Any) -> Any:
        return value if isinstance(value, str) else as_text(value)


@register
class Binary(Converter):
    """Binary columns (BLOB, BYTEA, VARBINARY): bytes, base64 in JSON and CSV (RFC 4648, with
    padding), which is what OpenAPI's ``format: byte`` says; filter values are base64 too."""

    name = "binary"
    type = "binary"

    def to_canonical(self, value: Any) -> Any:
        return bytes(value)


@register
class Text(Converter):
    """Legacy text kept as it is (use ``trim`` for CHAR padding)."""

    name = "text"
    supports_like = True

    def to_canonical(self, value: Any) -> Any:
        return value if isinstance(value, str) else as_text(value)


@register
class Trim(Converter):
    """CHAR padding removed; ``width`` pads filter values back for exact matches."""

    name = "trim"
    supports_like = True

    def __init__(
        self, width: int | None = None, both: bool = False, blank_is_null: bool = False, null_if: list | None = None
    ) -> None:
        check_count("width", width)
        super().__init__(null_if)
        self.width, self.both = width, both
        self.blank_is_null = blank_is_null

    def to_canonical(self, value: Any) -> Any:
        text = value.strip() if self.both else value.rstrip()
        return None if self.blank_is_null and not text else text

    def reader(self) -> Callable[[Any], Any]:
        if self.both or self.blank_is_null or self.legacy_nulls:
            return super().reader()
        return lambda v: v if v is None else v.rstrip()  # the hot path: no extra call

    def inline(self) -> str | None:
        return None if self.both or self.blank_is_null or self.legacy_nulls else "v.rstrip()"

    def to_legacy(self, value: Any) -> Any:
        return value.ljust(self.width) if self.width else value


@register
class Integer(Converter):
    name = "int"
    type = "integer"

    def to_canonical(self, value: Any) -> Any:
        return int(value)

    def reader(self) -> Callable[[Any], Any]:
        if self.legacy_nulls:
            return super().reader()
        return lambda v: v if v is None or type(v) is int else int(v)  # the hot path: ints as they come

    def inline(self) -> str | None:
        return None if self.legacy_nulls else "v if type(v) is int else int(v)"


@register
class Number(Converter):
    name = "float"
    type = "number"

    def to_canonical(self, value: Any) -> Any:
        return float(value)


@register
class DecimalConverter(Converter):
    """DECIMAL columns, or integers with an implied decimal point (``scale``)."""

    name = "decimal"
    type = "decimal"

    def __init__(
        self,
        scale: int | None = None,
        implied: int | None = None,
        null_if: list | None = None,
        precision: int | None = None,
    ) -> None:
        check_count("scale", scale)
        check_count("implied", implied)
        check_count("precision", precision)
        super().__init__(null_if)
        self.implied = implied
        self.places = implied or None
        self.scale = scale
        self.value_scale = scale if scale is not None else implied
        self.value_precision = precision  # the column's digits (DECIMAL(11,2): 11), when the config says
        self._quantum = Decimal(1).scaleb(-scale) if scale is not None else None

    def to_canonical(self, value: Any) -> Any:
        number = Decimal(value) if not isinstance(value, float) else Decimal(repr(value))
        if self.implied:
            number = number.scaleb(-self.implied)
        if self._quantum is not None:
            number = number.quantize(self._quantum)
        return number

    def inline_code(self) -> tuple[str, dict[str, Any]] | None:
        if self.legacy_nulls or self.implied or self._quantum is None:
            return super().inline_code()
        return "(v.quantize({q}) if type(v) is {D} else {read}(v))", {
            "q": self._quantum,
            "D": Decimal,
            "read": self.reader(),
        }

    def reader(self) -> Callable[[Any], Any]:
        quantum, convert = self._quantum, self.to_canonical
        if self.legacy_nulls or self.implied or quantum is None:
            return super().reader()

        # the hot path: a DECIMAL column's value needs only its scale
        def read(v: Any) -> Any:
            if v is None:
                return None
            if type(v) is Decimal:
                return v.quantize(quantum)
            return Decimal(v).quantize(quantum) if type(v) is str else convert(v)

        return read

    def to_legacy(self, value: Any) -> Any:
        if self.implied:
            scaled = Decimal(value).scaleb(self.implied)
            if scaled != scaled.to_integral_value():  # truncating would change what a filter matches
                raise ConversionError(f"at most {self.implied} decimal places")
            return int(scaled)
        return Decimal(value)


@register
class Flag(Converter):
    """Legacy flags -> bool; codes configurable (``{flag: {true: Y, false: N}}``)."""

    name = "flag"
    type = "boolean"

    def __init__(self, true: Any = "Y", false: Any = "N", null_if: list | None = None) -> None:
        super().__init__(null_if)
        self.true_codes = tuple(true) if isinstance(true, list) else (true,)
        self.false_codes = tuple(false) if isinstance(false, list) else (false,)
        self._lookup = {**{c: True for c in self.true_codes}, **{c: False for c in self.false_codes}}

    def to_canonical(self, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
        return self._lookup.get(value)

    def reader(self) -> Callable[[Any], Any]:
        if self.legacy_nulls:
            return super().reader()
        lookup, convert, miss = self._lookup, self.to_canonical, object()

        def read(v: Any) -> Any:  # the hot path: a code as the table stores it
            if v is None:
                return None
            try:
                found = lookup.get(v, miss)
            except TypeError:  # unhashable
                return convert(v)
            return convert(v) if found is miss else found

        return read

    def to_legacy(self, value: bool) -> Any:
        return self.true_codes[0] if value else self.false_codes[0]


@register
class CodeTable(Converter):
    """Legacy code table -> enum string (``{code: {codes: {A: active, C: closed}}}``)."""

    name = "code"
    type = "string"

    def __init__(self, codes: dict | None = None, value: dict | None = None, null_if: list | None = None) -> None:
        codes = codes if codes is not None else value
        if not isinstance(codes, dict) or not codes:
            raise TypeError("'codes' must map legacy codes to names")
        super().__init__(null_if)
        self.codes = {(str(k).strip() if isinstance(k, str) else k): str(v) for k, v in codes.items()}
        self.names = {v: k for k, v in self.codes.items()}
        self.enum = tuple(self.names)

    def to_canonical(self, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
        return self.codes.get(value)

    def _memo(self) -> tuple[Callable[[Any], Any], dict[str, Any]]:
        # each code as the table stores it (padded or not) answered from a dict, learnt on
        # first sight: as few as the table's distinct codes (bounded all the same)
        return memo_reader(self.to_canonical, {None: None, **self.codes}, MEMO_KEPT)

    def reader(self) -> Callable[[Any], Any]:
        return super().reader() if self.legacy_nulls else self._memo()[0]

    def inline_code(self) -> tuple[str, dict[str, Any]] | None:
        return super().inline_code() if self.legacy_nulls else (MEMO_INLINE, self._memo()[1])

    def to_legacy(self, value: str) -> Any:
        try:
            return self.names[value]
        except KeyError:
            raise ConversionError(f"must be one of {', '.join(self.enum or ())}") from None


@register
class NullIf(Converter):
    """Sentinel values -> null, anything else unchanged (``{null_if: [0, 99999999]}``)."""

    name = "null_if"

    def __init__(self, value: list | None = None, null_if: list | None = None) -> None:
        super().__init__(value if value is not None else null_if or [])
