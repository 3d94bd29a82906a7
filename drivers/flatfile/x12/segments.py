"""Raw segments of an interchange, read from a binary handle a chunk at a time (reads of the
same handle may interleave: each chunk is read from where this read stands).

Line breaks (CR, LF) after a terminator are not part of the next segment; an empty segment
(two terminators in a row, or blank lines when the terminator is a line end) holds nothing
and is skipped. What is held: a chunk, and the run of segments being taken (a set's body).
"""

from __future__ import annotations

import re
from typing import BinaryIO

__all__ = ["SegmentStream", "run_stops", "skip_blank", "MAX_SEGMENT", "SegmentTooLong"]

CHUNK = 1 << 16
#: no X12 segment is this long: past it the terminator is missing, not late
MAX_SEGMENT = 1 << 24
_BREAKS = b"\r\n"


class SegmentTooLong(ValueError):
    """No segment terminator within :data:`MAX_SEGMENT` bytes of ``offset``."""

    def __init__(self, offset: int) -> None:
        super().__init__(f"no segment terminator within {MAX_SEGMENT} bytes")
        self.offset = offset


class SegmentStream:
    """The segments of a handle from ``pos`` on, one at a time (:meth:`next`), or a whole run of
    them up to the next envelope segment in one go (:meth:`take_run`: a set's body, found and
    split by byte search rather than segment by segment)."""

    def __init__(self, f: BinaryIO, pos: int, terminator: bytes) -> None:
        self.f, self.term = f, terminator
        self.buf, self.at, self.base, self.ahead, self.eof = b"", 0, pos, pos, False
        self.strip_cr = terminator == b"\n"  # CRLF line ends with LF as the terminator
        self.breaks = re.compile(re.escape(terminator) + rb"[\r\n]+")

    def _fill(self) -> None:
        """Read the next chunk, dropping what was taken already."""
        self.f.seek(self.ahead)  # again each time: another read of the same handle may have moved it
        more = self.f.read(CHUNK)
        self.ahead += len(more)
        self.buf, self.base, self.at = self.buf[self.at :] + more, self.base + self.at, 0
        self.eof = not more

    def _clean(self, raw: bytes) -> bytes:
        if raw and raw[0] in _BREAKS:  # line breaks after the previous terminator
            raw = raw.lstrip(_BREAKS)
        if self.strip_cr and raw.endswith(b"\r"):
            raw = raw[:-1]
        return raw

    def next(self) -> tuple[int, bytes, bool] | None:
        """``(offset, segment bytes without terminator, terminated)``; ``terminated`` False only
        for a last segment the data ends in without its terminator; None at the end."""
        while True:
            end = self.buf.find(self.term, self.at)
            if end < 0:
                if not self.eof:
                    if len(self.buf) - self.at > MAX_SEGMENT:
                        raise SegmentTooLong(self.base + self.at)
                    self._fill()
                    continue
                start, rest = self.at, self.buf[self.at :]
                self.at = len(self.buf)
                kept = rest.strip(_BREAKS)
                lead = len(rest) - len(rest.lstrip(_BREAKS))
                return (self.base + start + lead, kept, False) if kept else None
            start, raw = self.at, self.buf[self.at : end]
            self.at = end + 1
            kept = self._clean(raw)
            if kept:
                return self.base + start + len(raw) - len(raw.lstrip(_BREAKS)), kept, True

    def take_run(self, stop: re.Pattern[bytes], stop_here: re.Pattern[bytes]) -> list[bytes]:
        """The segments (cleaned, empty ones left out) before the next one ``stop`` finds
        (``stop`` matches a terminator and the segment after it, ``stop_here`` that segment
        at the very start); the stream then stands at that segment."""
        run: list[bytes] = []
        while True:
            if stop_here.match(self.buf, self.at):
                return run
            found = stop.search(self.buf, self.at)
            end = found.start() if found else self.buf.rfind(self.term, self.at)
            if end >= self.at:  # whole segments up to ``end``'s terminator
                region = self.buf[self.at : end]
                if b"\n" in region or b"\r" in region:  # line breaks after terminators, cut in one go
                    region = self.breaks.sub(self.term, region.lstrip(_BREAKS))
                    if self.strip_cr:
                        region = region.replace(b"\r\n", b"\n").removesuffix(b"\r")
                parts = region.split(self.term)
                run += parts if all(parts) else [part for part in parts if part]
                self.at = end + 1
            if found or self.eof:
                return run
            if len(self.buf) - self.at > MAX_SEGMENT:
                raise SegmentTooLong(self.base + self.at)
            self._fill()


def skip_blank(f: BinaryIO, pos: int) -> int | None:
    """The offset of the first byte at or after ``pos`` that is not a line break, blank or (at
    the very start) a UTF-8 byte order mark; None at the end of the data."""
    f.seek(pos)
    while True:
        chunk = f.read(CHUNK)
        if not chunk:
            return None
        if pos == 0 and chunk.startswith(b"\xef\xbb\xbf"):
            chunk, pos = chunk[3:], 3
        kept = chunk.lstrip(b"\r\n\t ")
        if kept:
            return pos + len(chunk) - len(kept)
        pos += len(chunk)


def run_stops(separator: bytes, terminator: bytes) -> tuple[re.Pattern[bytes], re.Pattern[bytes]]:
    """The patterns :meth:`SegmentStream.take_run` stops a set's body at: an SE, ST, GE, GS or
    IEA segment (its id followed by the separator or the terminator) or an ISA (any delimiters),
    after a terminator (the first) or right where the stream stands (the second)."""
    t = re.escape(terminator)
    ids = rb"[\r\n]*(?:(?:SE|ST|GE|GS|IEA)(?:" + re.escape(separator) + b"|" + t + rb")|ISA[^A-Za-z0-9])"
    return re.compile(t + ids), re.compile(ids)
