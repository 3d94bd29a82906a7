"""A record written into one transaction set's segments through its :class:`~.x12_mapping.SetMapping`:
the inverse of :mod:`.x12_reading`.

Each level (the set, a loop instance, an HL instance) writes its scalars into segments: the
scalars of one segment id and one ``when`` share a segment, the qualifier codes of the ``when``
written into it (the first code when it lists several); a scalar without ``when`` joins the first
segment of its id.  A segment none of whose mapped values is given is not written.  An array
(``loop``) is one instance per element, its first segment the loop's; an object (``single``) one
instance, none when null.  HL instances are numbered from 1 in the order written, each with its
parent's id and its level code (HL01, HL02, HL03) and HL04 ``1`` when levels follow below it.

A level's segments and loop instances are written in the order of their ids in ``order`` (the
drop's ``segments:`` list, or by default the order the mapping first names them), instances of
one loop in the order of the array.  ``ISA`` and ``GS`` values are the envelope's: not written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from legacy_bridge.drivers.flatfile.x12.writer import trimmed
from legacy_bridge.drivers.flatfile.x12_mapping import Group, MappingError, Node, Scalar, SetMapping

__all__ = ["write_set", "default_order", "order_problems"]

Segment = tuple[str, ...]
Seg = list[str]  # a segment being written
#: what a level's walk fills: its own segments by (id, qualifiers), those given a value, its parts
_Level = tuple[dict[tuple[str, frozenset], Seg], set[int], list[tuple[int, list[Seg]]]]
_ENVELOPE = ("ISA", "GS")


def _date(value: Any) -> str:
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return f"{value.year:04d}{value.month:02d}{value.day:02d}"
    text = str(value)
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        return _date(dt.date.fromisoformat(text))
    if text.isdigit() and len(text) == 8:
        dt.date(int(text[:4]), int(text[4:6]), int(text[6:]))
        return text
    raise ValueError(text)


def _time(value: Any) -> str:
    if isinstance(value, str):
        value = dt.time.fromisoformat(value) if ":" in value else _digits_time(value)
    if not isinstance(value, dt.time):
        raise ValueError(value)
    text = f"{value.hour:02d}{value.minute:02d}"
    if value.second or value.microsecond:
        text += f"{value.second:02d}"
    if value.microsecond:
        text += f"{value.microsecond:06d}".rstrip("0")
    return text


def _digits_time(text: str) -> dt.time:
    if not text.isdigit() or len(text) not in (4, 6):
        raise ValueError(text)
    return dt.time(int(text[:2]), int(text[2:4]), int(text[4:6] or 0))


def _int(value: Any) -> str:
    if isinstance(value, bool):
        raise ValueError(value)
    number = Decimal(str(value))
    if number != number.to_integral_value():
        raise ValueError(value)
    return str(int(number))


def _decimal(value: Any) -> str:
    if isinstance(value, bool):
        raise ValueError(value)
    number = Decimal(str(value))
    if not number.is_finite():
        raise ValueError(value)
    return format(number, "f")  # X12 R: digits, an optional point and sign, never an exponent


_FORMAT = {"int": _int, "decimal": _decimal, "date": _date, "time": _time}
_TYPE_WORDS = {"int": "an integer", "decimal": "a decimal number", "date": "a date", "time": "a time"}


def default_order(mapping: SetMapping) -> list[str]:
    """Segment ids in the order the mapping first names them (depth first)."""
    found: dict[str, None] = {}

    def walk(nodes: Iterable[Node]) -> None:
        for n in nodes:
            if isinstance(n, Scalar):
                found.setdefault(n.element.segment)
            else:
                if n.opens:
                    found.setdefault(n.opens)
                walk(n.fields)

    walk(mapping.fields)
    return [s for s in found if s not in _ENVELOPE]


def order_problems(mapping: SetMapping, listed: Any) -> list[str]:
    """What is wrong with a ``segments:`` order list for ``mapping`` (empty: fine)."""
    if not isinstance(listed, list) or not all(isinstance(s, str) for s in listed):
        return [f"expected the segment ids in the order the set holds them ([B1, N9, G62]), got {listed!r}"]
    twice = sorted({s for s in listed if listed.count(s) > 1})
    missing = [s for s in default_order(mapping) if s not in listed]
    problems = [f"{', '.join(twice)} listed twice"] if twice else []
    if missing:
        problems.append(f"the mapping writes {', '.join(missing)}, not in the list")
    return problems


class _Writer:
    def __init__(self, order: Sequence[str], sub: str, reserved: str) -> None:
        self.rank = {s: i for i, s in enumerate(order)}
        self.sub, self.reserved = sub, reserved
        self.hl_count = 0

    def text(self, s: Scalar, value: Any, path: str) -> str:
        if s.type == "text":
            text = value if isinstance(value, str) else str(value)
        else:
            try:
                text = _FORMAT[s.type](value)
            except (ValueError, TypeError, ArithmeticError, InvalidOperation):
                raise MappingError(f"{value!r} is not {_TYPE_WORDS[s.type]} for {s.element}", path) from None
        bad = sorted(set(text) & set(self.reserved + self.sub))
        if bad:
            raise MappingError(f"holds {''.join(bad)!r}, a delimiter of the interchange ({s.element})", path)
        return text

    def level(self, nodes: Sequence[Node], values: dict[str, Any], path: str, head: Seg | None = None) -> list[Seg]:
        """A level's segments in order: its own segments and its loops' instances, ranked by id.
        ``head``: an instance's first segment, already begun (its scalars go into it, it is not
        returned)."""
        segments: dict[tuple[str, frozenset], Seg] = {}
        filled: set[int] = set()
        if head is not None:
            segments[(head[0], frozenset())] = head
        parts: list[tuple[int, list[Seg]]] = []
        self.fields(nodes, values or {}, path, (segments, filled, parts))
        parts += [(self.ranked(seg[0]), [seg]) for seg in segments.values() if id(seg) in filled and seg is not head]
        return [seg for _, segs in sorted(parts, key=lambda p: p[0]) for seg in segs]

    def ranked(self, segment: str) -> int:
        return self.rank.get(segment, len(self.rank))

    def fields(self, nodes: Sequence[Node], values: dict[str, Any], path: str, into: _Level) -> None:
        segments, filled, parts = into
        for n in nodes:
            value = values.get(n.name)
            where = f"{path}{n.name}"
            if isinstance(n, Scalar):
                if n.element.segment in _ENVELOPE:
                    continue
                if value is None:
                    if n.required:
                        raise MappingError(f"required {n.element} is missing", where)
                    continue
                seg = self.segment(segments, n)
                self.put(seg, n.element.position, n.element.component, self.text(n, value, where))
                filled.add(id(seg))
            elif n.kind == "object":
                self.fields(n.fields, value or {}, f"{where}.", into)
            else:
                items = _items(n, value)
                if n.required and not items:
                    raise MappingError(f"required {n.opens} loop is missing", where)
                for i, item in enumerate(items):
                    at = where if n.single else f"{where}[{i}]"
                    parts.append((self.ranked(n.opens or ""), self.instance(n, item, f"{at}.", None)))

    def segment(self, segments: dict, s: Scalar) -> list[str]:
        key = (s.element.segment, frozenset((str(e), min(c)) for e, c in s.when))
        if key not in segments and not s.when:  # no qualifier: the first segment of its id
            key = next((k for k in segments if k[0] == s.element.segment), key)
        if key not in segments:
            seg = [s.element.segment]
            for e, codes in s.when:
                self.put(seg, e.position, e.component, sorted(codes)[0])
            segments[key] = seg
        return segments[key]

    def put(self, seg: list[str], position: int, component: int | None, text: str) -> None:
        seg.extend([""] * (position + 1 - len(seg)))
        if component is None:
            seg[position] = text
            return
        parts = seg[position].split(self.sub) if seg[position] else []
        parts.extend([""] * (component - len(parts)))
        parts[component - 1] = text
        seg[position] = self.sub.join(parts)

    def instance(self, g: Group, item: dict[str, Any], path: str, parent: int | None) -> list[Seg]:
        """One loop or HL instance: its first segment, its own segments, its nested instances
        (an HL's child levels after its own segments, numbered after it)."""
        if g.kind != "hl":
            head = [g.opens or ""]
            for e, codes in g.when:
                self.put(head, e.position, e.component, sorted(codes)[0])
            return [head, *self.level(g.fields, item, path, head)]
        self.hl_count += 1
        number = self.hl_count
        head = ["HL", str(number), "" if parent is None else str(parent), g.start or ""]
        own = self.level([n for n in g.fields if not _is_hl(n)], item, path, head)
        children: list[Seg] = []
        for n in g.fields:
            if isinstance(n, Group) and n.kind == "hl":
                for i, child in enumerate(_items(n, item.get(n.name))):
                    at = f"{path}{n.name}" if n.single else f"{path}{n.name}[{i}]"
                    children += self.instance(n, child, f"{at}.", number)
        head.append("1" if children else "0")  # HL04: levels follow below this one
        return [head, *own, *children]


def _is_hl(n: Node) -> bool:
    return isinstance(n, Group) and n.kind == "hl"


def _items(g: Group, value: Any) -> list[dict[str, Any]]:
    """The instances a loop's value makes: an array's elements, a ``single`` object (none when null)."""
    return ([] if value is None else [value]) if g.single else list(value or [])


def write_set(
    mapping: SetMapping, record: dict[str, Any], order: Sequence[str], sub: str = ":", reserved: str = "*~^"
) -> list[Segment]:
    """The segments between ST and SE of ``record`` (mapping names, nested as read).

    Args:
        order: segment ids in the order a level holds them (:func:`default_order` when none is given).
        sub: the sub-element separator (joins composites ``SEG.n.m``); ``reserved``: the other
            delimiters (no value may hold any of them, nor ``sub``).

    Raises:
        MappingError: naming the field (``stops[1].date``): a ``required`` value or loop missing, a
            value not of its ``type``, a value holding a delimiter.
    """
    return [trimmed(tuple(s)) for s in _Writer(order, sub, reserved).level(mapping.fields, record, "")]
