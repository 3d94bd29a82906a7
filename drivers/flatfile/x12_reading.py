"""One transaction set's segments read into a record through its :class:`~.x12_mapping.SetMapping`.

Each level (the set, a loop instance, an HL instance) is split in one walk into its own segments,
indexed by id, and its loops' instances (see :mod:`.x12_mapping` for where a loop ends); what that
walk needs of a level (its loops, the ids it maps itself) is worked out once per mapping, not per
set.  A scalar reads the first of its level's segments with its id whose ``when`` holds.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from legacy_bridge.drivers.flatfile.x12_mapping import Condition, Group, MappingError, Node, Scalar, SetMapping

__all__ = ["read_set"]

Segment = tuple[str, ...]
Instances = dict[str, list[tuple[Segment, list[Segment]]]]
_ENVELOPE = ("ISA", "GS")
_R = re.compile(r"^-?[0-9]*\.?[0-9]*$")


def _digits(text: str) -> int:
    if not text.lstrip("-").isdigit():
        raise ValueError(text)
    return int(text)


def _decimal(text: str) -> Decimal:
    value = Decimal(text)
    if not value.is_finite() or not _R.match(text):
        raise ValueError(text)
    return value


def _date(text: str) -> dt.date:
    if not text.isdigit() or len(text) not in (6, 8):
        raise ValueError(text)
    year = int(text[:-4]) + (2000 if len(text) == 6 else 0)
    return dt.date(year, int(text[-4:-2]), int(text[-2:]))


def _time(text: str) -> dt.time:
    if not text.isdigit() or len(text) < 4 or len(text) == 5:
        raise ValueError(text)
    seconds = int(text[4:6]) if len(text) >= 6 else 0
    fraction = text[6:][:6].ljust(6, "0") if len(text) > 6 else "0"
    return dt.time(int(text[:2]), int(text[2:4]), seconds, int(fraction))


_PARSE: dict[str, Callable[[str], Any]] = {"int": _digits, "decimal": _decimal, "date": _date, "time": _time}
_TYPE_WORDS = {"int": "an integer", "decimal": "a decimal number", "date": "a date", "time": "a time"}


@dataclass(frozen=True)
class _Level:
    """What splitting a level's segments needs: the loops' start ids with the ids mapped inside
    them, and their ``until`` ids."""

    starts: dict[str, frozenset[str]]
    until: dict[str, frozenset[str]]
    has_hl: bool


def _loops(nodes: Iterable[Node]) -> Iterable[Group]:
    """The loops and hl levels of one level (those inside its plain objects too)."""
    for n in nodes:
        if isinstance(n, Group):
            if n.kind == "object":
                yield from _loops(n.fields)
            else:
                yield n


def _level(nodes: Sequence[Node], in_hl: bool) -> _Level:
    """``in_hl``: the level of an HL instance, whose hl children are other instances."""
    loops = [g for g in _loops(nodes) if not (in_hl and g.kind == "hl")]
    starts: dict[str, frozenset[str]] = {}
    until: dict[str, frozenset[str]] = {}
    for g in loops:
        opens = g.opens or ""
        starts[opens] = starts.get(opens, frozenset()) | g.members
        until[opens] = until.get(opens, frozenset()) | g.until
    return _Level(starts, until, any(g.kind == "hl" for g in loops))


def _plans(mapping: SetMapping) -> dict[tuple[int, bool], _Level]:
    """The level of the set and of each group's fields, by (id of the fields tuple, in an HL)."""
    found = getattr(mapping, "_levels", None)
    if found is not None:
        return found
    found = {}
    stack: list[tuple[tuple[Node, ...], bool]] = [(mapping.fields, False)]
    while stack:
        nodes, in_hl = stack.pop()
        found[(id(nodes), in_hl)] = _level(nodes, in_hl)
        for g in _loops(nodes):
            stack.append((g.fields, g.kind == "hl"))
    object.__setattr__(mapping, "_levels", found)  # the mapping is frozen: a cache beside its fields
    return found


def _split(segments: Iterable[Segment], plan: _Level) -> tuple[dict[str, list[Segment]], Instances]:
    """A level's own segments by id, and the instances of its loops by start id: (head, body).

    An instance runs to the next start of a loop of the level or to a segment of its ``until``;
    the last one ends after the last segment its loop maps, what follows going back to the level
    (the summary after the last detail loop: CTT, AMT, L3)."""
    starts, until = plan.starts, plan.until
    own: dict[str, list[Segment]] = {}
    instances: Instances = {}
    current: list[Segment] | None = None
    opened, inside, ends = "", frozenset[str](), frozenset[str]()
    for segment in segments:
        sid = segment[0]
        if current is not None and sid != opened and sid in inside and sid not in ends:
            current.append(segment)  # mapped inside the open loop (a nested loop's start too)
        elif sid in starts:
            current, opened, inside, ends = [segment], sid, starts[sid], until[sid]
            instances.setdefault(sid, []).append((segment, current))
        elif current is not None and sid in ends:
            current = None
            own.setdefault(sid, []).append(segment)
        elif current is not None:
            current.append(segment)  # mapped by the loop or by nobody: it stays in the loop it follows
        else:
            own.setdefault(sid, []).append(segment)
    if current is not None:
        last = max(i for i, s in enumerate(current) if i == 0 or s[0] in inside)
        for segment in current[last + 1 :]:
            own.setdefault(segment[0], []).append(segment)
        del current[last + 1 :]
    return own, instances


def _at(segment: Segment, n: int) -> str:
    return segment[n] if n < len(segment) else ""


def _what(g: Group) -> str:
    if g.kind == "hl":
        return f"HL level {g.start}"
    return f"{g.start} loop{_qualified(g.when)}"


def _qualified(when: tuple[Condition, ...]) -> str:
    return "".join(f" with {e} {'/'.join(sorted(c))}" for e, c in when)


class _Reader:
    """Reads one set: the sub-element separator, the plans, the set's HL instances."""

    def __init__(self, mapping: SetMapping, sub: str, lenient: bool) -> None:
        self.sub, self.lenient = sub, lenient
        self.plans = _plans(mapping)
        self.hl: list[tuple[Segment, list[Segment]]] = []

    def matches(self, segment: Segment, when: tuple[Condition, ...]) -> bool:
        sub = self.sub
        return all(e.value(segment, sub) in codes for e, codes in when)

    def level(self, nodes: tuple[Node, ...], segments: Iterable[Segment], path: str) -> dict[str, Any]:
        plan = self.plans[(id(nodes), False)]
        own, instances = _split(segments, plan)
        if plan.has_hl:
            self.hl = instances.get("HL", [])
        return self.fields(nodes, own, instances, path, None)

    def fields(
        self, nodes: Sequence[Node], own: dict[str, list[Segment]], instances: Instances, path: str, hl: Segment | None
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for n in nodes:
            if isinstance(n, Scalar):
                out[n.name] = self.scalar(n, own.get(n.element.segment, ()), path)
            elif n.kind == "object":
                out[n.name] = self.fields(n.fields, own, instances, f"{path}{n.name}.", hl)
            else:
                found = self.hl_children(n, hl) if n.kind == "hl" else instances.get(n.opens or "", [])
                chosen = [(head, body) for head, body in found if not n.when or self.matches(head, n.when)]
                out[n.name] = self.group(n, chosen, f"{path}{n.name}")
        return out

    def group(self, g: Group, chosen: list[tuple[Segment, list[Segment]]], where: str) -> Any:
        if self.lenient:
            chosen = chosen[:1] if g.single else chosen
        elif g.single and len(chosen) > 1:
            raise MappingError(f"{len(chosen)} {_what(g)} where one is mapped", where)
        if g.required and not chosen and not self.lenient:
            raise MappingError(f"required {_what(g)} is missing", where)
        elements = []
        for head, body in chosen:
            if g.kind == "hl":  # an HL instance holds its own segments only: its children are other HLs
                own, instances = _split(body[1:], self.plans[(id(g.fields), True)])
                own.setdefault("HL", []).insert(0, head)
                elements.append(self.fields(g.fields, own, instances, f"{where}.", head))
            else:
                elements.append(self.level(g.fields, body, f"{where}."))
        if g.single:
            return elements[0] if elements else None
        return elements

    def hl_children(self, g: Group, parent: Segment | None) -> list[tuple[Segment, list[Segment]]]:
        if parent is None:  # the outermost hl level: every HL of its code
            return [(h, b) for h, b in self.hl if _at(h, 3) == g.start]
        found, frontier = [], {_at(parent, 1)}
        for head, body in self.hl:  # parents come before their children
            if _at(head, 2) in frontier:
                if _at(head, 3) == g.start:
                    found.append((head, body))  # not searched below: an item does not hold items
                else:
                    frontier.add(_at(head, 1))
        return found

    def scalar(self, s: Scalar, candidates: Sequence[Segment], path: str) -> Any:
        e, text = s.element, None
        for segment in candidates:
            if not s.when or self.matches(segment, s.when):
                text = e.value(segment, self.sub)
                break
        if text is None:
            if s.required and not self.lenient:
                raise MappingError(f"required {e}{_qualified(s.when)} is missing", f"{path}{s.name}")
            return None
        if s.type == "text":
            return text
        try:
            return _PARSE[s.type](text)
        except (ValueError, ArithmeticError, InvalidOperation):
            if self.lenient:
                return None
            raise MappingError(f"{e} {text!r} is not {_TYPE_WORDS[s.type]}", f"{path}{s.name}") from None


def read_set(
    mapping: SetMapping,
    segments: Sequence[Segment],
    sub: str = ">",
    envelope: Sequence[Segment] = (),
    lenient: bool = False,
) -> tuple:
    """The record of one transaction set (its segments, ST to SE), in ``mapping.columns`` order.

    Args:
        envelope: its ISA and GS segments, which the top-level fields may map (ISA.6, GS.4).
        lenient: what can be read of a set the mapping refuses (None for bad values, the first
            of several instances), to tell a get by key that the set with that key is quarantined.

    Raises:
        MappingError: naming the field, when the set has no ``required`` value, a value not of
            its ``type`` or two instances of a ``single`` loop.
    """
    kept = [s for s in envelope if s and s[0] in _ENVELOPE]
    values = _Reader(mapping, sub, lenient).level(mapping.fields, [*kept, *segments], "")
    return tuple(values[n.name] for n in mapping.fields)
