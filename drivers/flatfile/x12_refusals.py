"""A set the mapping refuses, told as an acknowledgement's AK3/AK4 (IK3/IK4): the segment and
element the refused field reads, with the X12 code of what is wrong.

- a ``required`` element that is empty: AK3 code 8 at its segment, AK4 code 1 (mandatory
  element missing); its segment absent: AK3 code 3 (mandatory segment missing) at the SE;
- a value not of its ``type``: AK3 code 8, AK4 code 8 (date), 9 (time) or 6 (invalid
  character: a number), with a copy of the value;
- two instances of a ``single`` loop: AK3 code 4 (loop over its maximum) at the second; a
  ``required`` loop absent: AK3 code 3 at the SE.
"""

from __future__ import annotations

from collections.abc import Sequence

from legacy_bridge.drivers.flatfile.x12.acks import ElementProblem, SegmentProblem, SetProblems
from legacy_bridge.drivers.flatfile.x12.model import Segment, TransactionSet
from legacy_bridge.drivers.flatfile.x12_mapping import Group, MappingError, Node, Scalar, SetMapping

__all__ = ["refusal"]

_TYPE_CODES = {"date": "8", "time": "9", "int": "6", "decimal": "6"}


def _node(nodes: Sequence[Node], path: list[str]) -> Node | None:
    """The mapped field a dotted ``MappingError.field`` names."""
    found: Node | None = None
    for name in path:
        found = next((n for n in nodes if n.name == name), None)
        if found is None:
            return None
        nodes = found.fields if isinstance(found, Group) else ()
    return found


def _matches(segment: Segment, node: Scalar | Group, sub: str) -> bool:
    return all(e.value(segment, sub) in codes for e, codes in node.when)


def _scalar(node: Scalar, ts: TransactionSet, reason: str, sub: str) -> tuple[SegmentProblem, ...]:
    e = node.element
    found = [(i, s) for i, s in enumerate(ts.segments, 1) if s[0] == e.segment and _matches(s, node, sub)]
    if not found:
        return (SegmentProblem(len(ts.segments), e.segment, "3"),)
    for position, segment in found:
        value = e.value(segment, sub)
        if value is None and "missing" in reason:
            element = ElementProblem(e.position, "1", e.component)
        elif value is not None and repr(value) in reason:
            element = ElementProblem(e.position, _TYPE_CODES.get(node.type, "6"), e.component, value=value)
        else:
            continue
        return (SegmentProblem(position, e.segment, "8", elements=(element,)),)
    return (SegmentProblem(found[0][0], e.segment, "8"),)


def _loop(node: Group, ts: TransactionSet, sub: str) -> tuple[SegmentProblem, ...]:
    if node.kind == "hl":
        starts = [(i, s) for i, s in enumerate(ts.segments, 1) if s[0] == "HL" and len(s) > 3 and s[3] == node.start]
    else:
        starts = [(i, s) for i, s in enumerate(ts.segments, 1) if s[0] == node.start and _matches(s, node, sub)]
    if len(starts) > 1:
        return (SegmentProblem(starts[1][0], starts[1][1][0], "4", loop=starts[1][1][0]),)
    return (SegmentProblem(len(ts.segments), node.opens or "", "3"),)


def refusal(mapping: SetMapping, ts: TransactionSet, error: MappingError, sub: str) -> SetProblems:
    """The problems of set ``ts`` that the mapping refused with ``error`` (rejected: AK5 R, 5)."""
    node = _node(mapping.fields, (error.field or "").split("."))
    if isinstance(node, Scalar):
        segments = _scalar(node, ts, error.reason, sub)
    elif isinstance(node, Group) and node.kind != "object":
        segments = _loop(node, ts, sub)
    else:
        segments = ()
    return SetProblems(ts.control, ("5",), segments)
