"""Reading X12 interchanges from a binary handle or bytes.

:class:`X12Reader` reads a handle as a stream of events, one transaction set at a time
(memory bounded by the largest set, whatever the interchange size):

- ``(ST offset, EnvelopedSet)``: a set whose own envelope (ST/SE) is sound;
- ``(offset, X12Error)``: what is broken, at the offset of the set (its ST) it spoils, or of
  the ISA/GS/GE/IEA segment in error. ``level`` "set": that set only, reading goes on;
  "group": the group's envelope (GE counts, GS version); "interchange": reading goes on at
  the next interchange; ``fatal``: nothing after it can be read;
- ``(GE offset, GroupEnd)``: a group ended (after the error at its GE, if any), and
  ``(IEA offset, Interchange)``: an interchange ended and sound (:meth:`X12Reader.events`
  only: :meth:`X12Reader.scan` keeps to sets and errors).

Offsets are byte positions a later ``scan(pos)`` / ``read_at(pos)`` starts from: reading
from inside an interchange finds its ISA (searching back) and walks from there, so counts
and segment numbers are the same whatever the start.
"""

from __future__ import annotations

import io
from collections.abc import Generator, Iterator
from typing import BinaryIO

from legacy_bridge.drivers.flatfile.x12.isa import ISA_LENGTH, looks_like_isa, parse_isa
from legacy_bridge.drivers.flatfile.x12.model import EnvelopedSet, GroupEnd, Interchange, X12Error
from legacy_bridge.drivers.flatfile.x12.resume import standing_at
from legacy_bridge.drivers.flatfile.x12.segments import SegmentStream, SegmentTooLong, run_stops, skip_blank
from legacy_bridge.drivers.flatfile.x12.walk import Event, InterchangeWalk, decode_segment

__all__ = ["X12Reader", "read_interchanges"]

_BACK = 1 << 16  # bytes read per step of the search back for an ISA


class X12Reader:
    """The interchanges of one binary handle (a file holds one or several, one after another).

    Args:
        f: the handle, opened binary and seekable.
        encoding: of the element values (the delimiters are single bytes).
        check_counts: compare SE01, GE01 and IEA01 with what was read (the control numbers
            ST02/SE02, GS06/GE02, ISA13/IEA02 are always compared).
    """

    def __init__(self, f: BinaryIO, encoding: str = "utf-8", check_counts: bool = True) -> None:
        self.f, self.encoding, self.check_counts = f, encoding, check_counts

    def scan(self, pos: int | None = None) -> Generator[tuple[int, EnvelopedSet | X12Error], None, None]:
        """Transaction sets (and errors) from ``pos`` (0 or an offset this reader gave) on."""
        for offset, event in self.events(pos):
            if isinstance(event, (EnvelopedSet, X12Error)):
                yield offset, event

    def read_at(self, pos: int) -> EnvelopedSet | X12Error | None:
        """The set (or error) ``scan`` gave at ``pos``; None when nothing starts there."""
        events = self.scan(pos)
        try:
            for offset, event in events:
                return event if offset == pos else None
            return None
        finally:
            events.close()

    def events(self, pos: int | None = None) -> Generator[tuple[int, Event], None, None]:
        """Every event from ``pos`` on (see the module's docstring)."""
        since = pos or 0
        at = self._isa_before(since) if since else skip_blank(self.f, 0)
        if at is None:
            if since:
                yield since, X12Error(f"no ISA segment before byte {since}", offset=since, fatal=True)
            return
        while at is not None:
            at = yield from self._interchange(at, since)
            if at is not None:
                at = skip_blank(self.f, at)

    def _interchange(self, at: int, since: int) -> Generator[tuple[int, Event], None, int | None]:
        """The events of the interchange at ``at``; returns where the next one may start."""
        self.f.seek(at)
        try:
            ic = parse_isa(self.f.read(ISA_LENGTH + 2), at, self.encoding)
        except X12Error as exc:
            yield at, exc
            return None
        walk = InterchangeWalk(ic, since, self.encoding, self.check_counts)
        term = ic.delimiters.segment.encode(self.encoding)
        first = last = at + ISA_LENGTH
        try:
            if since > first and self._resume(walk, first, since, term):
                first = since
            stream = SegmentStream(self.f, first, term)
            if walk.outcome == "broken":  # the group open at ``since`` has a GS we cannot read
                return self._next_interchange(stream, walk.sep_bytes)
            stop, stop_here = run_stops(walk.sep_bytes, term)
            while (item := stream.next()) is not None:
                offset, raw, terminated = item
                last = offset
                events = walk.feed(offset, raw, terminated)
                if events:
                    yield from (event for event in events if event[0] >= since)  # nothing before ``since``
                if walk.outcome == "end":
                    return walk.next_at
                if walk.outcome == "broken":
                    return walk.next_at if walk.next_at is not None else self._next_interchange(stream, walk.sep_bytes)
                if walk.open is not None:  # a set's body: up to its SE (or what cuts it short) in one go
                    walk.take(stream.take_run(stop, stop_here))
        except SegmentTooLong as exc:
            error = X12Error(
                str(exc), interchange=ic, interchange_control=ic.control, offset=exc.offset, fatal=True, code="023"
            )
            yield max(exc.offset, since), error
            return None
        for event in walk.end_of_data(last):
            yield max(event[0], since), event[1]
        return None

    def _resume(self, walk: InterchangeWalk, first: int, since: int, term: bytes) -> bool:
        """Set ``walk`` where the segments from ``first`` to ``since`` leave it, without walking
        them; False when it cannot tell (``since`` past the IEA, a GS it cannot read)."""
        self.f.seek(since - 3)
        before = self.f.read(3)  # a segment starts after a terminator and up to two line-break bytes
        if not any(before[:i].endswith(term) and not before[i:].strip(b"\r\n") for i in (3, 2, 1)):
            return False  # not a segment start: walk there (and find nothing starts there)
        standing = standing_at(self.f, first, since, walk.sep_bytes, term)
        if standing is None:
            return False
        gs = None
        if standing.group_offset is not None:
            found = SegmentStream(self.f, standing.group_offset, term).next()
            if found is None:
                return False
            raw = found[1]
            try:
                gs = decode_segment(raw, walk.sep, self.encoding)
            except ValueError:
                return False
        walk.resume(standing, gs)
        return True

    def _next_interchange(self, stream: SegmentStream, sep: bytes) -> int | None:
        """After an error that stops an interchange: where the next one starts (after an IEA,
        or at an ISA), None when nothing follows."""
        try:
            while (item := stream.next()) is not None:
                offset, raw, terminated = item
                if raw.startswith(b"IEA" + sep):
                    return offset + len(raw) + 1 if terminated else None
                if raw.startswith(b"ISA"):
                    return offset
        except SegmentTooLong:
            return None
        return None

    def _isa_before(self, pos: int) -> int | None:
        """The offset of the last whole ISA starting at or before ``pos``."""
        hi = pos
        while hi >= 0:
            lo = max(0, hi - _BACK)
            self.f.seek(lo)
            chunk = self.f.read(hi - lo + 3)
            end = len(chunk)
            while (i := chunk.rfind(b"ISA", 0, end)) >= 0:
                self.f.seek(lo + i)
                if looks_like_isa(self.f.read(ISA_LENGTH)):
                    return lo + i
                end = i
            hi = lo - 1
        return None


def read_interchanges(data: bytes, encoding: str = "utf-8", check_counts: bool = True) -> Iterator[Interchange]:
    """Each interchange of ``data`` whole (groups and sets filled in), in order.

    Raises:
        X12Error: at the first broken envelope or count.
    """
    for _, event in X12Reader(io.BytesIO(data), encoding, check_counts).events():
        if isinstance(event, X12Error):
            raise event
        ic = event if isinstance(event, Interchange) else event.interchange
        if isinstance(event, (EnvelopedSet, GroupEnd)) and (not ic.groups or ic.groups[-1] is not event.group):
            ic.groups.append(event.group)
        if isinstance(event, EnvelopedSet):
            event.group.sets.append(event.transaction_set)
        elif isinstance(event, Interchange):
            yield ic
