"""The mapping of one X12 transaction set to a nested record: its model and its config, checked.

A mapping names values of the set (``po_number: BEG.3``) and groups them: ``loop: PO1`` is an
array with one element per loop instance, ``single: true`` makes it an object (the one instance,
null when absent, a bad record when two match), ``hl: S`` the HL loops of a level code nested by
parent ids, and a node with only ``fields`` an object read from the same segments.  ``when:
{N1.1: ST}`` keeps the segments (or loop instances) whose qualifier elements hold the codes.

Segments are assigned to loop instances in one walk of a level's segments: an instance starts at
its loop's first segment and ends before the next first segment of a loop of its level, or before
a segment of its ``until`` list; the last instance ends after the last segment its loop maps, what
follows being the level's again (a summary ``CTT`` after the last ``PO1`` loop).  A level's own
fields read the first matching segment outside its loops' instances; the record's level also sees
the set's ``ISA`` and ``GS`` (the partner ids, the group's date).

Values are the elements' text (``""`` and absent elements are null), or with ``type`` checked and
typed: ``int``, ``decimal`` (X12 N0 and R), ``date`` (CCYYMMDD, or YYMMDD as 20YY), ``time`` (HHMM,
HHMMSS, with decimal seconds).  A value not of its type or a ``required`` one missing is a
:class:`MappingError` naming the field: the set is a bad record (:mod:`.x12_reading` reads
sets).  The same declarations are what a later writer needs to put a record back into
segments (qualifiers from ``when``, loops from arrays, HL ids from nesting).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Element", "Condition", "Scalar", "Group", "Node", "SetMapping", "MappingError", "parse_mapping"]

Segment = tuple[str, ...]
_REF = re.compile(r"^([A-Z][A-Z0-9]{1,2})\.([1-9][0-9]?)(?:\.([1-9][0-9]?))?$")
_SEGMENT = re.compile(r"^[A-Z][A-Z0-9]{1,2}$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SET = re.compile(r"^[0-9]{3}$")
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
            if any(isinstance(v, int) for v in values):  # YAML reads 011 as 9 and 002 as 2
                self.fail(where, f"write codes as quoted text ('011', not 011: YAML reads numbers), got {codes!r}")
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
            if not isinstance(name, str) or not _NAME.match(name) or name.startswith("__"):
                self.fail(where, "field names are letters, digits and _ (not starting with a digit or __)")
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
            for key in ("when", "until", "single", "required"):
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
