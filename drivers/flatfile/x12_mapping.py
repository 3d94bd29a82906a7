"""The mapping of one X12 transaction set to a nested record: its config, checked, and its reading.

A mapping names values of the set (``po_number: BEG.3``) and groups them: ``loop: PO1`` is an
array with one element per loop instance, ``single: true`` makes it an object (the one instance,
null when absent, a bad record when two match), ``hl: S`` the HL loops of a level code nested by
parent ids, and a node with only ``fields`` an object read from the same segments.  ``when:
{N1.1: ST}`` keeps the segments (or loop instances) whose qualifier elements hold the codes.

Segments are assigned to loop instances in one walk of a level's segments: an instance starts at
its loop's first segment and ends before the next one of its own loop or of a sibling loop, before
a segment the level itself maps and its loop does not (a summary ``CTT`` after the last ``PO1``
loop), or before a segment of its ``until`` list.  Segments nobody maps stay where they are.  A
level's own fields read the first matching segment outside its loops' instances; the record's
level also sees the set's ``ISA`` and ``GS`` (the partner ids, the group's date).

Values are the elements' text (``""`` and absent elements are null), or with ``type`` checked and
typed: ``int``, ``decimal`` (X12 N0 and R), ``date`` (CCYYMMDD, or YYMMDD as 20YY), ``time`` (HHMM,
HHMMSS, with decimal seconds).  A value not of its type or a ``required`` one missing is a
:class:`MappingError` naming the field: the set is a bad record.  The same declarations are what
a later writer needs to put a record back into segments (qualifiers from ``when``, loops from
arrays, HL ids from nesting).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["Element", "Scalar", "Group", "SetMapping", "MappingError", "parse_mapping", "read_set"]

Segment = tuple[str, ...]
_REF = re.compile(r"^([A-Z][A-Z0-9]{1,2})\.([1-9][0-9]?)(?:\.([1-9][0-9]?))?$")
_SEGMENT = re.compile(r"^[A-Z][A-Z0-9]{1,2}$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SET = re.compile(r"^[0-9]{3}$")
_ENVELOPE = ("ISA", "GS")
_REF_HINT = "expected SEG.n or SEG.n.m (a segment id, an element position from 1, a component from 1: B2.4, C040.1.2)"


class MappingError(ValueError):
    """A set the mapping cannot read: ``field`` the mapped name (dotted), ``reason`` why."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason, self.field = reason, field


@dataclass(frozen=True)
class Element:
    """``SEG.n[.m]``: element ``n`` of segment ``SEG`` (``m``: a component of a composite)."""

    segment: str
    position: int
    component: int | None = None

    def __str__(self) -> str:
        return f"{self.segment}.{self.position}" + (f".{self.component}" if self.component else "")

    def value(self, segment: Segment, sub: str) -> str | None:
        text = segment[self.position] if self.position < len(segment) else ""
        if self.component is not None and text:
            parts = text.split(sub)
            text = parts[self.component - 1] if self.component <= len(parts) else ""
        return text or None


Condition = tuple[Element, frozenset[str]]


@dataclass(frozen=True)
class Scalar:
    name: str
    element: Element
    when: tuple[Condition, ...] = ()
    type: str = "text"
    required: bool = False


@dataclass(frozen=True)
class Group:
    """``kind``: ``loop`` (``start`` a segment id), ``hl`` (``start`` a level code) or ``object``."""

    name: str
    kind: str
    fields: tuple[Scalar | Group, ...]
    start: str | None = None
    when: tuple[Condition, ...] = ()
    until: frozenset[str] = frozenset()
    single: bool = False
    required: bool = False
    members: frozenset[str] = field(default=frozenset(), compare=False)  # segment ids mapped inside

    @property
    def opens(self) -> str | None:
        """The segment id an instance starts at (HL for every level code)."""
        return "HL" if self.kind == "hl" else self.start


Node = Scalar | Group


@dataclass(frozen=True)
class SetMapping:
    """A transaction set code and its top-level fields (the record's columns, in order)."""

    code: str
    fields: tuple[Node, ...]

    @property
    def columns(self) -> list[str]:
        return [n.name for n in self.fields]

    def inner_keys(self) -> dict[str, set[str]]:
        """Each nested column's keys at any depth (what a resource's inner ``column`` may name)."""
        return {g.name: _keys(g) for g in self.fields if isinstance(g, Group)}


def _keys(group: Group) -> set[str]:
    found: set[str] = set()
    for n in group.fields:
        found.add(n.name)
        if isinstance(n, Group):
            found |= _keys(n)
    return found


# -- the config ------------------------------------------------------------------------

_TYPES = ("text", "int", "decimal", "date", "time")
_SCALAR_KEYS = {"element", "when", "type", "required"}
_GROUP_KEYS = {"loop", "hl", "fields", "when", "until", "single", "required"}


def parse_element(text: Any) -> Element | None:
    m = _REF.match(text) if isinstance(text, str) else None
    if m is None:
        return None
    return Element(m.group(1), int(m.group(2)), int(m.group(3)) if m.group(3) else None)


class _Checker:
    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []

    def fail(self, key: str, message: str) -> None:
        self.problems.append((key, message))

    def flag(self, node: dict, key: str, path: str) -> bool:
        value = node.get(key, False)
        if not isinstance(value, bool):
            self.fail(f"{path}.{key}", f"expected true or false, got {value!r}")
            return False
        return value

    def when(self, node: dict, path: str, segment: str | None) -> tuple[Condition, ...]:
        raw = node.get("when")
        if raw is None:
            return ()
        if not isinstance(raw, dict) or not raw:
            self.fail(f"{path}.when", "expected {SEG.n: CODE} or {SEG.n: [CODE, ...]}: the qualifiers to match")
            return ()
        found = []
        for ref, codes in raw.items():
            element = parse_element(ref)
            where = f"{path}.when.{ref}"
            if element is None:
                self.fail(where, f"not an element reference: {ref!r}; {_REF_HINT}")
                continue
            if segment is not None and element.segment != segment:
                self.fail(where, f"a condition tests the {segment} segment it selects, not {element.segment}")
                continue
            values = codes if isinstance(codes, list) else [codes]
            if not values or not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in values):
                self.fail(where, f"expected a code or a list of codes, got {codes!r}")
                continue
            found.append((element, frozenset(str(v) for v in values)))
        return tuple(found)

    def fields(self, raw: Any, path: str) -> tuple[Node, ...]:
        if not isinstance(raw, dict) or not raw:
            self.fail(path, "expected the mapped fields: {name: SEG.n, ...}")
            return ()
        nodes = []
        for name, node in raw.items():
            where = f"{path}.{name}"
            if not isinstance(name, str) or not _NAME.match(name):
                self.fail(where, "field names are letters, digits and _ (not starting with a digit)")
                continue
            checked = self.node(str(name), node, where)
            if checked is not None:
                nodes.append(checked)
        return tuple(nodes)

    def node(self, name: str, node: Any, path: str) -> Node | None:
        if isinstance(node, str):
            node = {"element": node}
        if not isinstance(node, dict):
            self.fail(path, "expected SEG.n, {element: SEG.n, ...}, or {loop|hl: ..., fields: {...}}")
            return None
        if "element" in node:
            return self.scalar(name, node, path)
        return self.group(name, node, path)

    def scalar(self, name: str, node: dict, path: str) -> Scalar | None:
        for key in sorted(set(node) - _SCALAR_KEYS, key=str):
            self.fail(f"{path}.{key}", f"unknown key; known for an element: {', '.join(sorted(_SCALAR_KEYS))}")
        element = parse_element(node["element"])
        if element is None:
            self.fail(f"{path}.element", f"not an element reference: {node['element']!r}; {_REF_HINT}")
            return None
        type_ = node.get("type", "text")
        if type_ not in _TYPES:
            self.fail(f"{path}.type", f"unknown type {type_!r}; known: {', '.join(_TYPES)}")
        when = self.when(node, path, element.segment)
        return Scalar(name, element, when, str(type_), self.flag(node, "required", path))

    def group(self, name: str, node: dict, path: str) -> Group | None:
        for key in sorted(set(node) - _GROUP_KEYS, key=str):
            self.fail(f"{path}.{key}", f"unknown key; known: element, or {', '.join(sorted(_GROUP_KEYS))}")
        if "loop" in node and "hl" in node:
            self.fail(path, "a group is a loop or an hl level, not both")
            return None
        kind = "loop" if "loop" in node else "hl" if "hl" in node else "object"
        start = node.get(kind) if kind != "object" else None
        if kind == "loop" and (not isinstance(start, str) or not _SEGMENT.match(start)):
            self.fail(
                f"{path}.loop", f"expected the segment id each loop instance starts at (N1, S5, PO1), got {start!r}"
            )
            return None
        if kind == "hl" and (not isinstance(start, (str, int)) or isinstance(start, bool) or not str(start)):
            self.fail(f"{path}.hl", f"expected the HL level code (HL.3: S, O, P, I), got {start!r}")
            return None
        if kind == "object":
            if "fields" not in node:
                self.fail(path, "expected element: SEG.n, or loop: SEG / hl: CODE with fields, or fields alone")
                return None
            for key in ("when", "until", "single"):
                if key in node:
                    self.fail(
                        f"{path}.{key}", "only for a loop or an hl level (an object of fields reads the same segments)"
                    )
        until = node.get("until", [])
        until = [until] if isinstance(until, str) else until
        if not isinstance(until, list) or not all(isinstance(s, str) and _SEGMENT.match(s) for s in until):
            self.fail(f"{path}.until", f"expected segment ids that end the loop ([CTT]), got {node.get('until')!r}")
            until = []
        when = self.when(node, path, start if kind == "loop" else "HL")
        if kind == "hl" and when:
            self.fail(f"{path}.when", "an hl level is selected by its code: hl: S")
        fields = self.fields(node.get("fields"), f"{path}.fields")
        members = frozenset(_referenced(fields))
        return Group(
            name,
            kind,
            fields,
            None if start is None else str(start),
            when,
            frozenset(until),
            self.flag(node, "single", path),
            self.flag(node, "required", path),
            members,
        )


def _referenced(nodes: Iterable[Node]) -> Iterable[str]:
    """Segment ids a set of fields maps, at any depth (loop starts and HL included)."""
    for n in nodes:
        if isinstance(n, Scalar):
            yield n.element.segment
            yield from (e.segment for e, _ in n.when)
        else:
            if n.opens:
                yield n.opens
            yield from (e.segment for e, _ in n.when)
            yield from _referenced(n.fields)


def parse_mapping(raw: Any, path: str = "x12") -> tuple[SetMapping | None, list[tuple[str, str]]]:
    """The mapping of ``raw`` (``{set: "850", fields: {...}}``) and its problems as (key, message)."""
    ck = _Checker()
    if not isinstance(raw, dict):
        return None, [(path, "expected {set: '850', fields: {...}}: the transaction set and its mapped fields")]
    for key in sorted(set(raw) - {"set", "fields"}, key=str):
        ck.fail(f"{path}.{key}", "unknown key; known: set, fields")
    code = raw.get("set")
    code = f"{code:03d}" if isinstance(code, int) and not isinstance(code, bool) else code
    if not isinstance(code, str) or not _SET.match(code):
        ck.fail(f"{path}.set", f"expected a transaction set code of 3 digits ('850'), got {raw.get('set')!r}")
    fields = ck.fields(raw.get("fields"), f"{path}.fields")
    if ck.problems:
        return None, ck.problems
    return SetMapping(str(code), fields), []


# -- reading ---------------------------------------------------------------------------


def _digits(text: str) -> int:
    if not text.lstrip("-").isdigit():
        raise ValueError(text)
    return int(text)


def _decimal(text: str) -> Decimal:
    value = Decimal(text)
    if not value.is_finite() or not re.match(r"^-?[0-9]*\.?[0-9]*$", text):
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


def _matches(segment: Segment, when: tuple[Condition, ...], sub: str) -> bool:
    return all(e.value(segment, sub) in codes for e, codes in when)


class _Reader:
    """Reads one set's segments through a mapping (state: the sub-element separator, the HLs)."""

    def __init__(self, sub: str, lenient: bool = False) -> None:
        self.sub, self.lenient = sub, lenient
        self.hl: list[tuple[Segment, list[Segment]]] = []  # every HL instance of the level that holds them

    def level(
        self, nodes: Sequence[Node], segments: Sequence[Segment], path: str, envelope: Sequence[Segment] = ()
    ) -> dict[str, Any]:
        loops = list(_loops(nodes))
        own, instances = _partition(segments, loops, set(_own_refs(nodes)))
        if any(g.kind == "hl" for g in loops):
            self.hl = instances.get("HL", [])
        return self.fields(nodes, [*envelope, *own], instances, path, None)

    def fields(
        self,
        nodes: Sequence[Node],
        own: Sequence[Segment],
        instances: dict[str, list[tuple[Segment, list[Segment]]]],
        path: str,
        parent_hl: Segment | None,
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for n in nodes:
            where = f"{path}{n.name}"
            if isinstance(n, Scalar):
                out[n.name] = self.scalar(n, own, where)
            elif n.kind == "object":
                out[n.name] = self.fields(n.fields, own, instances, f"{where}.", parent_hl)
            else:
                found = self.hl_children(n, parent_hl) if n.kind == "hl" else instances.get(n.opens or "", [])
                chosen = [(head, body) for head, body in found if _matches(head, n.when, self.sub)]
                out[n.name] = self.group(n, chosen, where)
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
                element = self.fields(g.fields, *_split(body, g), f"{where}.", head)
            else:
                element = self.level(g.fields, body, f"{where}.")
            elements.append(element)
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

    def scalar(self, s: Scalar, own: Sequence[Segment], where: str) -> Any:
        e = s.element
        for segment in own:
            if segment[0] == e.segment and _matches(segment, s.when, self.sub):
                text = e.value(segment, self.sub)
                break
        else:
            text = None
        if text is None:
            if s.required and not self.lenient:
                raise MappingError(f"required {e}{_qualified(s.when)} is missing", where)
            return None
        if s.type == "text":
            return text
        try:
            return _PARSE[s.type](text)
        except (ValueError, ArithmeticError, InvalidOperation):
            if self.lenient:
                return None
            raise MappingError(f"{e} {text!r} is not {_TYPE_WORDS[s.type]}", where) from None


def _split(body: list[Segment], g: Group) -> tuple[list[Segment], dict[str, list[tuple[Segment, list[Segment]]]]]:
    """An HL instance's own segments and the loops inside it."""
    loops = [n for n in _loops(g.fields) if n.kind == "loop"]
    own, instances = _partition(body[1:], loops, set(_own_refs(g.fields)))
    return [body[0], *own], instances


def _at(segment: Segment, n: int) -> str:
    return segment[n] if n < len(segment) else ""


def _what(g: Group) -> str:
    if g.kind == "hl":
        return f"HL level {g.start}"
    return f"{g.start} loop{_qualified(g.when)}"


def _qualified(when: tuple[Condition, ...]) -> str:
    return "".join(f" with {e} {'/'.join(sorted(c))}" for e, c in when)


def _loops(nodes: Iterable[Node]) -> Iterable[Group]:
    """The loops and hl levels of one level (those inside its plain objects too)."""
    for n in nodes:
        if isinstance(n, Group):
            if n.kind == "object":
                yield from _loops(n.fields)
            else:
                yield n


def _own_refs(nodes: Iterable[Node]) -> Iterable[str]:
    """Segment ids a level maps itself (not inside its loops)."""
    for n in nodes:
        if isinstance(n, Scalar):
            yield n.element.segment
        elif n.kind == "object":
            yield from _own_refs(n.fields)


def _partition(
    segments: Sequence[Segment], loops: list[Group], own_refs: set[str]
) -> tuple[list[Segment], dict[str, list[tuple[Segment, list[Segment]]]]]:
    """A level's own segments, and the instances of its loops by start segment id: (head, body)."""
    starts: dict[str, frozenset[str]] = {}
    until: dict[str, frozenset[str]] = {}
    for g in loops:
        opens = g.opens or ""
        starts[opens] = starts.get(opens, frozenset()) | g.members
        until[opens] = until.get(opens, frozenset()) | g.until
    own: list[Segment] = []
    instances: dict[str, list[tuple[Segment, list[Segment]]]] = {}
    current: list[Segment] | None = None
    opened = ""
    for segment in segments:
        sid = segment[0]
        if current is not None and sid != opened and sid in starts[opened] and sid not in until[opened]:
            current.append(segment)  # mapped inside the open loop (a nested loop's start too)
        elif sid in starts:
            current, opened = [segment], sid
            instances.setdefault(sid, []).append((segment, current))
        elif current is not None and (sid in until[opened] or sid in own_refs):
            current = None
            own.append(segment)
        elif current is not None:
            current.append(segment)  # mapped by nobody: it stays in the loop it follows
        else:
            own.append(segment)
    return own, instances


def read_set(
    mapping: SetMapping,
    segments: Sequence[Segment],
    sub: str = ">",
    envelope: Sequence[Segment] = (),
    lenient: bool = False,
) -> tuple:
    """The record of one transaction set (its segments, ST to SE), in ``mapping.columns`` order;
    ``envelope``: its ISA and GS segments, which the top-level fields may map (ISA.6, GS.4);
    ``lenient``: what can be read of a set the mapping refuses (None for bad values, the first of
    several instances), to tell a get by key that the set with that key is quarantined."""
    values = _Reader(sub, lenient).level(mapping.fields, segments, "", [s for s in envelope if s and s[0] in _ENVELOPE])
    return tuple(values[n.name] for n in mapping.fields)
