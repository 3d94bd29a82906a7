"""One interchange walked segment by segment: envelopes opened and closed, control numbers
and counts compared, each transaction set handed on whole or as the error that spoils it.

Segments of a set are kept raw until its SE and only decoded when the set is handed on: a
walk that starts at the ISA to reach a later set (``since``) only counts the ones before.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Union

from legacy_bridge.drivers.flatfile.x12.isa import segment_id_at
from legacy_bridge.drivers.flatfile.x12.model import (
    EnvelopedSet,
    FunctionalGroup,
    GroupEnd,
    Interchange,
    Segment,
    TransactionSet,
    X12Error,
)
from legacy_bridge.drivers.flatfile.x12.resume import Standing

__all__ = ["Event", "InterchangeWalk", "OLDEST_VERSION", "NEWEST_VERSION", "decode_segment"]

OLDEST_VERSION, NEWEST_VERSION = "004010", "005010"
Event = Union[EnvelopedSet, GroupEnd, Interchange, X12Error]  # noqa: UP007 (a runtime alias)
# X12 ids are 2 or 3 characters; longer ones (test files use TEST, CHILD) are read as ids too
_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]+")
_ENVELOPE = (b"ISA", b"IEA", b"GS", b"GE", b"ST")
_CLOSING = (b"SE", *_ENVELOPE)  # what ends a set's run of segments


def decode_segment(raw: bytes, separator: str, encoding: str) -> Segment:
    """The elements of one segment; ValueError when it is not text of ``encoding`` or has no id."""
    try:
        seg = tuple(raw.decode(encoding).split(separator))
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"byte 0x{raw[exc.start]:02X} (byte {exc.start + 1} of the segment) is not {encoding}"
        ) from None
    if not _SEGMENT_ID.fullmatch(seg[0]):
        raise ValueError(f"{seg[0][:10]!r} is not a segment id")
    return seg


@dataclass
class _OpenSet:
    offset: int
    number: int
    code: str
    control: str
    raws: list[bytes] = field(default_factory=list)


class InterchangeWalk:
    """Feed it the segments after the ISA (:meth:`feed`); it gives back the events they make.

    ``outcome`` turns from None to ``"end"`` (its IEA was read: ``next_at`` is where the next
    interchange may start) or ``"broken"`` (an interchange-level error: the next one starts at
    ``next_at`` when known, else after the next IEA).
    Events before byte ``since`` are counted, not given.
    """

    def __init__(self, ic: Interchange, since: int, encoding: str, check_counts: bool) -> None:
        self.ic, self.since, self.encoding, self.check_counts = ic, since, encoding, check_counts
        self.sep = ic.delimiters.element
        self.sep_bytes = self.sep.encode(encoding)
        self.envelope_prefixes = (b"ISA", *(sid + self.sep_bytes for sid in _CLOSING))
        self.number = 1  # the ISA
        self.groups = 0
        self.group: FunctionalGroup | None = None
        self.group_broken: str | None = None  # why the open group's sets cannot be read
        self.in_group = 0
        self.stray = False  # a segment outside any set was reported in this run
        self.open: _OpenSet | None = None
        self.outcome: str | None = None
        self.next_at: int | None = None
        self.previous = ic.offset  # the offset of the segment read last

    # -- errors, each naming where it is ---------------------------------------------------

    def _error(self, reason: str, offset: int, level: str = "interchange", **where: str | int | None) -> X12Error:
        where.setdefault("segment", self.number)
        group = self.group.control if self.group is not None and level != "interchange" else None
        return X12Error(
            reason,
            level=level,
            interchange=self.ic,
            interchange_control=self.ic.control,
            group_control=group,
            offset=offset,
            **where,  # type: ignore[arg-type]
        )

    def _set_error(
        self, s: _OpenSet, reason: str, code: str, number: int, segment_id: str | None, element: str | None = None
    ) -> X12Error:
        return self._error(
            reason, s.offset, "set", code=code, set_control=s.control, set_code=s.code, segment=number,
            segment_id=segment_id, element=element,
        )  # fmt: skip

    # -- the walk ---------------------------------------------------------------------------

    def feed(self, offset: int, raw: bytes, terminated: bool) -> Sequence[tuple[int, Event]]:
        """The events one segment makes (most make none: a segment inside a set is kept)."""
        self.number += 1
        if self.open is not None and not raw.startswith(self.envelope_prefixes) and raw not in _CLOSING:
            self.open.raws.append(raw)  # the hot path, kept to a few calls
            self.previous = offset
            return ()
        events = list(self._feed(offset, raw, terminated))
        self.previous = offset
        return events

    def take(self, run: list[bytes]) -> None:
        """The segments of the open set's body, read in one go (none of them an envelope's)."""
        if run:
            assert self.open is not None
            self.open.raws += run
            self.number += len(run)

    def _feed(self, offset: int, raw: bytes, terminated: bool) -> Iterator[tuple[int, Event]]:
        before = self.open.offset if self.open is not None else self.previous  # a place reads resume from
        cut = raw.find(self.sep_bytes)
        sid = raw if cut < 0 else raw[:cut]
        if self.open is not None:
            if sid == b"SE":
                self.open.raws.append(raw)
                yield from self._close_set()
                return
            s, self.open = self.open, None
            if s.offset >= self.since:
                yield (
                    s.offset,
                    self._set_error(
                        s, f"no SE before segment {self.number} ({segment_id_at(raw)})", "2", s.number, "ST"
                    ),
                )
        if raw[:3] == b"ISA" and raw[3:4] and not raw[3:4].isalnum():  # (its delimiters may be others)
            # the next interchange began before this one ended: read it from there
            # the error is this interchange's: given before the ISA, a read from which is the next one's
            self.outcome, self.next_at = "broken", offset
            yield before, self._error("no IEA before this next ISA", offset, segment_id="ISA", code="023")
            return
        try:
            seg = decode_segment(raw, self.sep, self.encoding)
        except ValueError as exc:  # an envelope segment (or one between sets) we cannot read
            self.outcome = "broken"
            yield offset, self._error(str(exc), offset, segment_id=segment_id_at(raw))
            return
        if self.group is not None:
            yield from self._in_group(offset, seg, raw)
        elif sid == b"GS":
            yield from self._open_group(offset, seg)
        elif sid == b"IEA":
            yield from self._end(offset, seg, raw, terminated)
        else:
            self.outcome = "broken"
            yield (
                offset,
                self._error(f"expected a GS segment (or IEA), found {seg[0]}", offset, code="024", segment_id=seg[0]),
            )

    def resume(self, standing: Standing, gs: Segment | None) -> None:
        """Stand where the segments before ``since`` left the walk (see :mod:`.resume`),
        ``gs`` the header of the group open there."""
        if gs is not None and standing.group_offset is not None:
            self.number = standing.group_number
            for _ in self._open_group(standing.group_offset, gs):  # before since: nothing to give
                pass
        self.number, self.groups, self.in_group = standing.segments, standing.groups, standing.sets_in_group

    def end_of_data(self, last: int) -> Iterator[tuple[int, Event]]:
        """The data ended before the IEA (``last``: the offset of the last segment read)."""
        at = self.open.offset if self.open is not None else last
        inside = f" (inside set {self.open.control})" if self.open is not None else ""
        yield at, self._error(f"the data ends before IEA{inside}", at, segment=None, fatal=True, code="023")

    def _in_group(self, offset: int, seg: Segment, raw: bytes) -> Iterator[tuple[int, Event]]:
        group, sid = self.group, seg[0]
        assert group is not None
        if sid == "ST":
            self.in_group, self.stray = self.in_group + 1, False
            self.open = _OpenSet(offset, self.number, _at(seg, 1), _at(seg, 2), [raw])
        elif sid == "GE":
            group.trailer = seg
            problem = self._group_problem(group, seg, offset)
            if offset >= self.since:
                if problem:
                    yield offset, problem
                yield offset, GroupEnd(self.ic, group, self.in_group, seg)
            self.group = None
        elif sid.encode() not in _ENVELOPE:
            if not self.stray and offset >= self.since:
                yield (
                    offset,
                    self._error(f"{sid} outside a transaction set: expected ST or GE", offset, "group", segment_id=sid),
                )
            self.stray = True
        else:
            self.outcome = "broken"
            yield (
                offset,
                self._error(f"group {group.control} has no GE before {sid}", offset, code="024", segment_id=sid),
            )

    def _open_group(self, offset: int, gs: Segment) -> Iterator[tuple[int, Event]]:
        if len(gs) < 9:
            self.outcome = "broken"
            yield offset, self._error(f"GS has {len(gs) - 1} elements, 8 expected", offset, code="024", segment_id="GS")
            return
        self.groups += 1
        self.group = FunctionalGroup(
            code=gs[1], sender=gs[2], receiver=gs[3], date=gs[4], time=gs[5], control=gs[6], agency=gs[7],
            version=gs[8], offset=offset, header=gs, number=self.number,
        )  # fmt: skip
        self.in_group = 0
        version = gs[8][:6]
        self.group_broken = None
        if not (version.isdigit() and OLDEST_VERSION <= version <= NEWEST_VERSION):
            self.group_broken = f"version (GS08) {gs[8]!r} is not read: {OLDEST_VERSION} to {NEWEST_VERSION} are"
            if offset >= self.since:
                yield offset, self._error(self.group_broken, offset, "group", code="2", segment_id="GS", element="GS08")

    def _close_set(self) -> Iterator[tuple[int, Event]]:
        """The set ended by the SE just read, or what is wrong with it."""
        s, self.open = self.open, None
        assert s is not None and self.group is not None
        if s.offset < self.since:
            return
        if self.group_broken:
            yield s.offset, self._set_error(s, f"its group's {self.group_broken}", "1", s.number, "ST")
            return
        segments = self._decode_set(s.raws)
        if segments is None:  # one at a time, to name the segment in error if there is one
            segments = []
            for i, raw in enumerate(s.raws):
                try:
                    segments.append(decode_segment(raw, self.sep, self.encoding))
                except ValueError as exc:
                    yield s.offset, self._set_error(s, str(exc), "5", s.number + i, segment_id_at(raw))
                    return
        se = segments[-1]
        if _at(se, 2) != s.control:
            yield (
                s.offset,
                self._set_error(s, f"SE02 is {_at(se, 2)!r}, ST02 is {s.control!r}", "3", self.number, "SE", "SE02"),
            )
        elif not s.control:
            yield s.offset, self._set_error(s, "ST02 (the control number) is missing", "7", s.number, "ST", "ST02")
        elif self.check_counts and _at(se, 1) != str(len(segments)):
            yield (
                s.offset,
                self._set_error(
                    s, f"SE01 says {_at(se, 1)} segments, the set has {len(segments)}", "4", self.number, "SE", "SE01"
                ),
            )
        else:
            yield (
                s.offset,
                EnvelopedSet(self.ic, self.group, TransactionSet(s.code, s.control, segments, s.number, s.offset)),
            )

    def _decode_set(self, raws: list[bytes]) -> list[Segment] | None:
        """All the segments of a set decoded in one go (None when one of them cannot be)."""
        try:
            text = b"\n".join(raws).decode(self.encoding)
        except UnicodeDecodeError:
            return None
        sep = self.sep
        segments = [tuple(line.split(sep)) for line in text.split("\n")]
        if len(segments) != len(raws) or not all(map(_SEGMENT_ID.fullmatch, {seg[0] for seg in segments})):
            return None  # a value held a line feed (the terminator is not one), or an id is not an id
        return segments

    def _group_problem(self, group: FunctionalGroup, ge: Segment, offset: int) -> X12Error | None:
        if _at(ge, 2) != group.control:
            return self._error(
                f"GE02 is {_at(ge, 2)!r}, GS06 is {group.control!r}",
                offset,
                "group",
                code="4",
                segment_id="GE",
                element="GE02",
            )
        if self.check_counts and _at(ge, 1) != str(self.in_group):
            return self._error(
                f"GE01 says {_at(ge, 1)} transaction sets, the group has {self.in_group}", offset, "group", code="5",
                segment_id="GE", element="GE01",
            )  # fmt: skip
        return None

    def _end(self, offset: int, iea: Segment, raw: bytes, terminated: bool) -> Iterator[tuple[int, Event]]:
        ic = self.ic
        ic.trailer, ic.terminated = iea, terminated
        self.outcome, self.next_at = "end", offset + len(raw) + 1 if terminated else None
        problem: X12Error | None = None
        if _at(iea, 2) != ic.control:
            problem = self._error(
                f"IEA02 is {_at(iea, 2)!r}, ISA13 is {ic.control!r}",
                offset,
                code="001",
                segment_id="IEA",
                element="IEA02",
            )
        elif self.check_counts and _at(iea, 1) != str(self.groups):
            problem = self._error(
                f"IEA01 says {_at(iea, 1)} groups, the interchange has {self.groups}", offset, code="021",
                segment_id="IEA", element="IEA01",
            )  # fmt: skip
        if offset >= self.since:
            yield offset, problem or ic


def _at(seg: Segment, n: int) -> str:
    return seg[n] if len(seg) > n else ""
