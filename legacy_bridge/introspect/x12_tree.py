"""The segment tree of a transaction set code, with counts, from the sets read.

X12 files do not say where loops are; this infers them the way a reader of an
implementation guide would: a segment id that comes back after other segments starts a loop
(N1 N3 N4 N1 N3 N4, S5 ... S5 ..., HL ... HL ...); one repeated straight away (G62 G62) is a
repeated segment. When two candidates overlap (an N1 before the stops and inside each of
them), the usual outer loop wins (HL, then LX/S5/LIN/PO1/IT1, then N7/AT7, then N1/OID/L5),
then the one seen first. A loop's last instance runs while its segments are ones its other
instances held. What one set shows is a hint for all sets of the code (:func:`learn`, a first
pass): a loop met once in a set is still a loop. HL loops nest by their parent (HL02) and are
told apart by their level code (HL03).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from legacy_bridge.drivers.flatfile.x12 import Segment

__all__ = ["SegmentNode", "LoopHints", "learn", "add_set", "render"]

_OUTER = {"HL": 0, "LX": 1, "S5": 1, "LIN": 2, "PO1": 2, "IT1": 2, "N7": 3, "AT7": 3, "N1": 4, "OID": 4, "L5": 4}
_NO_CODES = {"ST", "SE", "HL", "LX"}  # their first element is no code list
_QUALIFIERS_SHOWN = 8

#: loop starter id -> the ids its instances held
LoopHints = dict[str, set[str]]


@dataclass
class SegmentNode:
    """A segment (or a loop: ``loop`` True, counted by instances) and what it holds."""

    segment_id: str
    loop: bool = False
    count: int = 0
    most: int = 0  # the most in one set (or one instance of the enclosing loop)
    qualifiers: set[str] = field(default_factory=set)  # values of element 1 when they look like codes
    children: dict[str, SegmentNode] = field(default_factory=dict)


def _split(ids: list[str], hints: LoopHints) -> tuple[str, list[int]] | None:
    """The loop that starts among ``ids``: its starter and the bounds of its instances
    (instance i is ``ids[b[i]:b[i+1]]``), or None."""
    where: dict[str, list[int]] = {}
    for i, sid in enumerate(ids):
        where.setdefault(sid, []).append(i)
    candidates = [
        (sid, at)
        for sid, at in where.items()
        if sid in hints or (len(at) > 1 and any(b - a > 1 for a, b in zip(at, at[1:])))
    ]
    if not candidates:
        return None
    sid, starts = min(candidates, key=lambda c: (_OUTER.get(c[0], 9), c[1][0]))
    body = ({ids[i] for i in range(starts[0], starts[-1])} | hints.get(sid, set())) - {sid}
    end = starts[-1] + 1
    while end < len(ids) and ids[end] in body:
        end += 1
    return sid, [*starts, end]


def learn(segments: list[Segment], hints: LoopHints) -> None:
    """Record the loops ``segments`` (a set, or a loop instance's body) show into ``hints``."""
    ids = [s[0] for s in segments]
    found = _split(ids, {})
    if found is None:
        return
    sid, bounds = found
    hints.setdefault(sid, set()).update(ids[bounds[0] + 1 : bounds[-1]])
    learn(segments[: bounds[0]], hints)
    for a, b in zip(bounds, bounds[1:]):
        learn(segments[a + 1 : b], hints)
    learn(segments[bounds[-1] :], hints)


def _count(seg: Segment, into: dict[str, SegmentNode], seen: dict[str, int], key: str, loop: bool) -> SegmentNode:
    node = into.setdefault(key, SegmentNode(key, loop))
    node.count += 1
    seen[key] = seen.get(key, 0) + 1
    node.most = max(node.most, seen[key])
    code = seg[1] if len(seg) > 1 else ""
    if not loop and 0 < len(code) <= 3 and code.isalnum() and seg[0] not in _NO_CODES:
        node.qualifiers.add(code)
    return node


def _add(segments: list[Segment], into: dict[str, SegmentNode], hints: LoopHints, hl: dict[str, SegmentNode]) -> None:
    found = _split([s[0] for s in segments], hints)
    if found is None:
        seen: dict[str, int] = {}
        for seg in segments:
            _count(seg, into, seen, seg[0], False)
        return
    sid, bounds = found
    _add(segments[: bounds[0]], into, hints, hl)
    seen = {}
    for a, b in zip(bounds, bounds[1:]):
        start = segments[a]
        level = into
        if sid == "HL":  # nested under its parent's level (HL02), keyed by its own (HL03)
            parent = hl.get(start[2] if len(start) > 2 else "")
            level = parent.children if parent is not None else into
        key = f"HL {start[3]}" if sid == "HL" and len(start) > 3 and start[3] else sid
        node = _count(start, level, seen, key, True)
        if sid == "HL" and len(start) > 1:
            hl[start[1]] = node
        _count(start, node.children, {}, sid, False)  # the starter, inside its loop
        _add(segments[a + 1 : b], node.children, hints, {})
    _add(segments[bounds[-1] :], into, hints, hl)


def add_set(segments: list[Segment], tree: dict[str, SegmentNode], hints: LoopHints) -> None:
    """Count one transaction set (ST to SE) into ``tree`` (one per set code)."""
    _add(segments, tree, hints, {})


def render(tree: dict[str, SegmentNode], indent: str = "  ") -> list[str]:
    """The tree as lines: id (``loop`` for a loop), count, the most in one set or instance,
    and the codes its first element held (for a mapping's ``when``)."""
    lines = []
    for node in tree.values():
        name = f"{node.segment_id} loop" if node.loop else node.segment_id
        codes = sorted(node.qualifiers)
        if all(c.isdigit() and not c.startswith("0") for c in codes) and max(map(int, codes), default=0) <= node.count:
            codes = []  # sequence numbers (S501, LIN01), not codes
        shown = ", ".join(codes[:_QUALIFIERS_SHOWN]) + (", ..." if len(codes) > _QUALIFIERS_SHOWN else "")
        note = f"  {node.segment_id}01: {shown}" if shown else ""
        lines.append(f"{indent}{name:<{max(24 - len(indent), 8)}} {node.count:>7}  (up to {node.most}){note}")
        lines += render(node.children, indent + "  ")
    return lines
