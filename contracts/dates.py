"""Date and time converters: legacy dates as 8 digits (``yyyymmdd``), times as 6 (``hhmmss``),
timestamps native or as text, native dates and times.  Registered when :mod:`.converters` is imported."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from .converter_base import MEMO_INLINE, MEMO_KEPT, ConversionError, Converter, memo_reader, register

__all__ = ["YYYYMMDD", "HHMMSS", "Timestamp", "Date", "Time"]


def _digits(value: Any, width: int) -> str:
    text = str(value).strip()
    if isinstance(value, int):
        text = f"{value:0{width}d}"
    return text


@register
class YYYYMMDD(Converter):
    """Dates stored as 8 digits; ``as: int`` (default) or ``as: str`` in the legacy column."""

    name = "yyyymmdd"
    type = "date"

    def __init__(self, as_: str = "int", null_if: list | None = None) -> None:
        if as_ not in ("int", "str"):
            raise TypeError("'as' must be int or str")
        if null_if is None:  # the usual "no date" sentinels, typed like the column
            null_if = [0, 99999999] if as_ == "int" else ["", " " * 8, "00000000", "99999999"]
        super().__init__(null_if)
        self.as_ = as_

    def to_canonical(self, value: Any) -> Any:
        if type(value) is int and 0 <= value <= 99999999:  # the common form, by arithmetic: 4x faster
            try:
                return dt.date(value // 10000, value // 100 % 100, value % 100)
            except ValueError:
                return None
        text = _digits(value, 8)
        try:
            return dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
        except ValueError:
            return None  # an impossible legacy date reads as "no date"

    def _memo(self) -> tuple[Callable[[Any], Any], dict[str, Any]]:
        # a table holds few distinct dates (tens of thousands over a century): each is
        # converted once per reader, up to a bound, the sentinels answered from the start
        return memo_reader(self.to_canonical, dict.fromkeys((None, *self.legacy_nulls)), MEMO_KEPT)

    def reader(self) -> Callable[[Any], Any]:
        return self._memo()[0]

    def inline_code(self) -> tuple[str, dict[str, Any]] | None:
        return MEMO_INLINE, self._memo()[1]

    def to_legacy(self, value: dt.date) -> Any:
        text = f"{value.year:04d}{value.month:02d}{value.day:02d}"
        return int(text) if self.as_ == "int" else text


@register
class HHMMSS(Converter):
    """Times stored as 6 digits (``as: int`` or ``as: str``)."""

    name = "hhmmss"
    type = "time"

    def __init__(self, as_: str = "int", null_if: list | None = None) -> None:
        if as_ not in ("int", "str"):
            raise TypeError("'as' must be int or str")
        super().__init__(null_if)
        self.as_ = as_

    def to_canonical(self, value: Any) -> Any:
        text = _digits(value, 6)
        try:
            return dt.time(int(text[:2]), int(text[2:4]), int(text[4:6]))
        except ValueError:
            return None

    def to_legacy(self, value: dt.time) -> Any:
        if value.microsecond:
            raise ConversionError("whole seconds only")
        text = f"{value.hour:02d}{value.minute:02d}{value.second:02d}"
        return int(text) if self.as_ == "int" else text


@register
class Timestamp(Converter):
    """Timestamps, native or as text (``format`` as for strptime; ISO by default)."""

    name = "timestamp"
    type = "datetime"

    def __init__(self, format: str | None = None, null_if: list | None = None) -> None:
        super().__init__(null_if)
        self.format = format

    def to_canonical(self, value: Any) -> Any:
        if isinstance(value, dt.datetime):
            return value
        text = str(value).strip()
        if not text:
            return None
        try:
            if self.format:
                return dt.datetime.strptime(text, self.format)
            return dt.datetime.fromisoformat(text)
        except ValueError:
            return None

    def reader(self) -> Callable[[Any], Any]:
        if self.legacy_nulls:
            return super().reader()
        convert, native, parse, text_iso = self.to_canonical, dt.datetime, dt.datetime.fromisoformat, not self.format

        def read(v: Any) -> Any:  # the hot path: native, or ISO text without padding
            if v is None or type(v) is native:
                return v
            if text_iso and type(v) is str:
                try:
                    return parse(v)
                except ValueError:
                    pass  # padded, empty or not ISO: the full conversion says
            return convert(v)

        return read

    def to_legacy(self, value: dt.datetime) -> Any:
        if self.format:
            return value.strftime(self.format)
        return value


@register
class Date(Converter):
    """Native DATE columns (or ISO text)."""

    name = "date"
    type = "date"

    def to_canonical(self, value: Any) -> Any:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value).strip()[:10])
        except ValueError:
            return None


@register
class Time(Converter):
    """Native TIME columns (or ISO text): what an X12 mapping's ``type: time`` element reads as."""

    name = "time"
    type = "time"

    def to_canonical(self, value: Any) -> Any:
        if isinstance(value, dt.datetime):
            return value.time()
        if isinstance(value, dt.time):
            return value
        try:
            return dt.time.fromisoformat(str(value).strip())
        except ValueError:
            return None
