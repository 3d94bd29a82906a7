"""Where a walk stands at a byte offset inside an interchange, found at the speed of a byte
search rather than by walking every segment before it.

A read from a set's offset (a page's cursor, a key lookup) needs what the segments before
it add up to: their number (segment numbers are counted from the ISA), the groups opened
(IEA01), the group open there and the sets it had (GE01). Those come from counting
terminators and finding the GS/ST/GE segment starts between the ISA and the offset, a
chunk at a time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import BinaryIO

from legacy_bridge.drivers.flatfile.x12.segments import MAX_SEGMENT, SegmentTooLong

__all__ = ["Standing", "standing_at"]

_CHUNK = 1 << 20


@dataclass(frozen=True)
class Standing:
    """What the segments between an ISA and an offset add up to."""

    segments: int  # segments read before the offset, the ISA included
    groups: int  # GS segments among them
    group_offset: int | None  # the GS of the group still open at the offset, if one is
    group_number: int  # its segment number
    sets_in_group: int  # the ST segments of that group before the offset


def standing_at(f: BinaryIO, start: int, until: int, separator: bytes, terminator: bytes) -> Standing | None:
    """The standing at ``until`` (a segment start) of the interchange whose segments after the
    ISA start at ``start``; None when an IEA comes first (``until`` is past the interchange)."""
    # patterns that open with the terminator, a literal the regex engine scans for fast; a
    # block's first segment (no terminator before it in the block) is matched on its own
    t, ids = re.escape(terminator), rb"[\r\n]*(GS|ST|GE|IEA)" + re.escape(separator)
    envelope, first_envelope = re.compile(t + ids), re.compile(ids)
    empty, first_empty = re.compile(t + rb"(?=[\r\n]*" + t + b")"), re.compile(rb"[\r\n]*" + t)

    def count(block: bytes) -> int:
        """The segments that end in ``block`` (which starts at a segment start), empty ones aside."""
        return block.count(terminator) - len(empty.findall(block)) - (1 if first_empty.match(block) else 0)

    done, groups, in_group = 1, 0, 0
    group: tuple[int, int] | None = None
    f.seek(start)
    base, carry = start, b""
    while base < until:
        more = f.read(min(_CHUNK, until - base - len(carry)))
        data = carry + more
        if not data:
            break
        whole = not more or base + len(data) >= until
        cut = len(data) if whole else data.rfind(terminator) + 1
        if cut == 0:  # no terminator yet: read on
            if len(data) > MAX_SEGMENT:
                raise SegmentTooLong(base)
            carry = data
            continue
        block, carry = data[:cut], data[cut:]
        at = 0
        head = first_envelope.match(block)
        for found in ([head] if head else []) + list(envelope.finditer(block)):
            kind, p = found.group(1), found.start(1)
            if kind == b"ST":  # the most frequent: counted, its segments are counted later in one go
                in_group += 1
                continue
            done += count(block[at:p])
            at = p
            if kind == b"GS":
                groups, in_group, group = groups + 1, 0, (base + p, done + 1)
            elif kind == b"GE":
                group = None
            else:
                return None
        done += count(block[at:])
        base += cut
        if whole:
            break
    return Standing(done, groups, group[0] if group else None, group[1] if group else 0, in_group)
