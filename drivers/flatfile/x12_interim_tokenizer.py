"""TEMPORARY: the smallest X12 envelope reader the x12 record format needs, until the codec
(``legacy_bridge.drivers.flatfile.x12``, branch edi-codec) lands; then this module goes.

``sets_from(f, start)`` reads the interchanges of a file from the ISA at byte ``start`` and
yields, for each transaction set, ``(offset of ST, SetRead)``; an envelope problem is a
``SetRead`` with ``error`` (``fatal`` when nothing after it can be read).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

__all__ = ["SetRead", "sets_from", "ISA_LENGTH", "isa_at"]

ISA_LENGTH = 106
_SEPARATOR_AT = (3, 6, 17, 20, 31, 34, 50, 53, 69, 76, 81, 83, 89, 99, 101, 103)
_CHUNK = 1 << 20

Segment = tuple[str, ...]


@dataclass
class SetRead:
    """One transaction set with its envelope, or an envelope problem (``error``)."""

    code: str = ""
    control: str = ""
    segments: list[Segment] = field(default_factory=list)
    isa: Segment = ()
    gs: Segment = ()
    sub: str = ">"
    interchange_offset: int = 0
    error: str | None = None
    fatal: bool = False

    def where(self) -> str:
        parts = []
        if len(self.isa) > 13:
            parts.append(f"interchange {self.isa[13]}")
        if len(self.gs) > 6:
            parts.append(f"group {self.gs[6]}")
        if self.control:
            parts.append(f"set {self.control} ({self.code})")
        return ", ".join(parts)


def isa_at(head: bytes) -> tuple[bytes, bytes, bytes] | None:
    """(element, sub-element, segment terminator) of an ISA segment starting ``head``, or None."""
    if len(head) < ISA_LENGTH or not head.startswith(b"ISA"):
        return None
    sep = head[3:4]
    if sep.isalnum() or any(head[i : i + 1] != sep for i in _SEPARATOR_AT):
        return None
    return sep, head[104:105], head[105:106]


def _segments(f: BinaryIO, start: int, term: bytes) -> Iterator[tuple[int, bytes]]:
    """(offset, raw segment) from ``start``, line breaks around segments dropped."""
    f.seek(start)
    buf, base = b"", start
    while True:
        chunk = f.read(_CHUNK)
        buf += chunk
        i = 0
        while True:
            j = buf.find(term, i)
            if j < 0:
                break
            raw = buf[i:j]
            stripped = raw.lstrip(b"\r\n \t")
            if stripped:
                yield base + i + len(raw) - len(stripped), stripped.rstrip(b"\r\n")
            i = j + len(term)
        base += i
        buf = buf[i:]
        if not chunk:
            rest = buf.strip(b"\r\n \t")
            if rest:
                yield base + buf.index(rest[:1]), rest
            return


def sets_from(
    f: BinaryIO, start: int = 0, encoding: str = "utf-8", strict: bool = True
) -> Iterator[tuple[int, SetRead]]:
    """Each transaction set of the interchanges from ``start`` (an ISA's offset)."""
    f.seek(start)
    raw = f.read(ISA_LENGTH + 64)
    head = raw.lstrip(b"\r\n \t")
    start += len(raw) - len(head)
    delimiters = isa_at(head)
    if delimiters is None:
        yield start, SetRead(error=f"no ISA segment at byte {start}: not an X12 interchange", fatal=True)
        return
    sep, sub_b, term = delimiters
    esep, sub = sep.decode("ascii"), sub_b.decode("ascii", "replace")
    isa: Segment = ()
    gs: Segment = ()
    isa_offset = start
    current: SetRead | None = None
    current_offset = start
    sets = groups = 0
    offset = start
    for offset, raw in _segments(f, start, term):
        try:
            segment = tuple(raw.decode(encoding).split(esep))
        except UnicodeDecodeError:
            segment = tuple(raw.decode(encoding, "replace").split(esep))
            if current is not None:
                current.error = current.error or f"segment at byte {offset} holds bytes that are not valid {encoding}"
        sid = segment[0]
        if sid == "ISA":
            if isa:
                yield (
                    offset,
                    SetRead(
                        isa=isa, error=f"interchange {isa[13]} has no IEA before the ISA at byte {offset}", fatal=True
                    ),
                )
                return
            isa, isa_offset, groups = segment, offset, 0
            if len(segment) < 17:
                yield (
                    offset,
                    SetRead(error=f"the ISA at byte {offset} has {len(segment) - 1} elements, not 16", fatal=True),
                )
                return
            continue
        if not isa:
            yield (
                offset,
                SetRead(error=f"{sid} at byte {offset} is outside an interchange (no ISA before it)", fatal=True),
            )
            return
        if sid == "GS":
            if gs:
                yield (
                    offset,
                    SetRead(
                        isa=isa,
                        gs=gs,
                        error=f"group {gs[6] if len(gs) > 6 else '?'} has no GE before the GS at byte {offset}",
                        fatal=True,
                    ),
                )
                return
            gs, sets, groups = segment, 0, groups + 1
            continue
        if sid == "ST":
            if current is not None:
                current.error = current.error or f"ST at byte {offset} before the SE of set {current.control}"
                yield current_offset, current
            current = SetRead(_at(segment, 1), _at(segment, 2), [segment], isa, gs, sub, isa_offset)
            current_offset, sets = offset, sets + 1
            if not gs:
                current.error = "ST outside a functional group (no GS before it)"
            continue
        if current is not None:
            current.segments.append(segment)
            if sid == "SE":
                count = len(current.segments)
                if current.error is None and _at(segment, 2) != current.control:
                    current.error = f"SE02 {_at(segment, 2)!r} does not match ST02 {current.control!r}"
                elif current.error is None and strict and _at(segment, 1) != str(count):
                    current.error = f"SE01 says {_at(segment, 1) or 'nothing'} segments, the set has {count}"
                yield current_offset, current
                current = None
            continue
        if sid == "GE":
            if not gs:
                yield offset, SetRead(isa=isa, error=f"GE at byte {offset} without a GS", fatal=True)
                return
            if strict and (_at(segment, 1) != str(sets) or _at(segment, 2) != _at(gs, 6)):
                yield (
                    offset,
                    SetRead(
                        isa=isa,
                        gs=gs,
                        error=f"GE {'*'.join(segment[1:])} does not close group {_at(gs, 6)} of {sets} set(s)",
                    ),
                )
            gs = ()
            continue
        if sid == "IEA":
            if strict and (_at(segment, 1) != str(groups) or _at(segment, 2) != _at(isa, 13)):
                yield (
                    offset,
                    SetRead(
                        isa=isa,
                        error=f"IEA {'*'.join(segment[1:])} does not close interchange {_at(isa, 13)}"
                        f" of {groups} group(s)",
                    ),
                )
            isa = ()
            continue
        yield offset, SetRead(isa=isa, gs=gs, error=f"{sid} at byte {offset} is outside a transaction set", fatal=True)
        return
    if current is not None:
        current.error = "the file ends inside the set (no SE)"
        yield current_offset, current
    if isa:
        yield (
            offset,
            SetRead(isa=isa, error=f"interchange {_at(isa, 13)} has no IEA: the file ends inside it", fatal=True),
        )


def _at(segment: Segment, n: int) -> str:
    return segment[n] if n < len(segment) else ""
