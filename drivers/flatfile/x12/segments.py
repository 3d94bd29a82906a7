"""Raw segments of an interchange, read from a binary handle a chunk at a time (reads of the
same handle may interleave: each chunk is read from where this read stands).

Line breaks (CR, LF) after a terminator are not part of the next segment; an empty segment
(two terminators in a row, or blank lines when the terminator is a line end) holds nothing
and is skipped.  Only one chunk and one segment are held in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

__all__ = ["raw_segments", "skip_blank", "MAX_SEGMENT", "SegmentTooLong"]

CHUNK = 1 << 16
#: no X12 segment is this long: past it the terminator is missing, not late
MAX_SEGMENT = 1 << 24
_BREAKS = b"\r\n"


class SegmentTooLong(ValueError):
    """No segment terminator within :data:`MAX_SEGMENT` bytes of ``offset``."""

    def __init__(self, offset: int) -> None:
        super().__init__(f"no segment terminator within {MAX_SEGMENT} bytes")
        self.offset = offset


def raw_segments(f: BinaryIO, pos: int, terminator: bytes) -> Iterator[tuple[int, bytes, bool]]:
    """``(offset, segment bytes without terminator, terminated)`` from ``pos`` on; ``terminated``
    is False only for a last segment the data ends in without its terminator."""
    base, carry, ahead = pos, b"", pos
    strip_cr = terminator == b"\n"  # CRLF line ends with LF as the terminator
    while True:
        f.seek(ahead)  # again each time: another read of the same handle may have moved it
        more = f.read(CHUNK)
        ahead += len(more)
        parts = (carry + more).split(terminator)  # a chunk at a time: the split runs in C
        carry = parts.pop() if more else b""  # the segment the chunk ends inside
        if not more:
            rest = parts.pop()  # after the last terminator: a segment without one, or line breaks
        if len(carry) > MAX_SEGMENT:
            raise SegmentTooLong(base)
        for raw in parts:
            size, lead = len(raw), 0
            if raw and raw[0] in _BREAKS:  # line breaks after the previous terminator
                kept = raw.lstrip(_BREAKS)
                lead, raw = size - len(kept), kept
            if strip_cr and raw.endswith(b"\r"):
                raw = raw[:-1]
            if raw:
                yield base + lead, raw, True
            base += size + 1
        if not more:
            kept = rest.strip(_BREAKS)
            if kept:
                yield base + len(rest) - len(rest.lstrip(_BREAKS)), kept, False
            return


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
