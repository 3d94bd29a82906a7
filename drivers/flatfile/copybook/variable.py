"""Variable-size OCCURS (Cobrix ``variable_size_occurs``): an OCCURS DEPENDING ON table takes
only the bytes of its counted elements, so whatever follows it moves with the count.

The decoder is generated once per layout like the fixed one (:mod:`.decode`), as straight-line
code over a position variable per table: element ``k`` of a table is decoded when its counter
says it is there (its fields are None otherwise) and moves the position on by its own size,
which nested tables make variable too.  It delivers the same flat tuple as the fixed decoder
(``layout.columns`` order), so arrays, 88 levels and projections work alike.  A record shorter
than its counts need is a ``RecordError`` ("truncated record"); bytes after the end are ignored.

:func:`make_array_decoder` generates the same walk (at fixed offsets, or variable ones) building
each table's list as its elements are read: the decoder of a layout with tables.

:func:`make_measure` generates the same walk reading only the counters: the length of a record
whose bytes start at a position, which is how records packed back to back in an ``F`` file are
found (Cobrix test21).  Limits: a counter must come before its table, and a REDEFINES never moves
the end of a record (it is read at its target's place).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from legacy_bridge.drivers.flatfile.copybook.decode import DECODE_FAILURES, Expressions, RecordError, failure_reason
from legacy_bridge.drivers.flatfile.copybook.nested import dict_source, nested_values
from legacy_bridge.drivers.flatfile.copybook.parse import CopybookError, Field, Item, Layout

__all__ = ["make_variable_decoder", "make_array_decoder", "make_measure"]


def _moves(it: Item) -> bool:
    """Whether the size of ``it`` depends on a counter."""
    return bool(it.depending) or any(_moves(ch) for ch in it.children)


class _Walk:
    """Emits the decoding lines of one layout; ``mode``: fast | slow | measure."""

    def __init__(
        self, layout: Layout, gen: Expressions, mode: str, strip: str, variable: bool = True, arrays: bool = False
    ) -> None:
        self.fields: Iterator[tuple[int, Field]] = iter(enumerate(layout.fields))
        self.gen, self.mode, self.strip = gen, mode, strip
        self.variable, self.arrays = variable, arrays  # fixed offsets; OCCURS tables built as lists
        self.counters = _counter_names(layout.tree)
        self.lines: list[str] = []
        self.assigned: list[str] = []
        self.texts: list[str] = []
        self.latest: dict[str, tuple[str, str]] = {}  # counter name -> (variable, column)
        self.positions = 0
        self.path: list[str] = []  # the groups around the item being walked
        self.members: list[list[tuple[str, str]]] = []  # (key, variable) of the elements being walked
        self.lists: dict[tuple[str, ...], str] = {}  # tables outside tables: their list variables

    def emit(self, depth: int, line: str) -> None:
        self.lines.append("    " * depth + line)

    def moves(self, it: Item) -> bool:
        return self.variable and _moves(it)

    def children(self, items: list[Item], base: str, static: int, depth: int) -> tuple[str, int]:
        starts: dict[str, tuple[str, int]] = {}
        for ch in items:
            if ch.redefines:  # read at its target's place; the position does not move
                at = starts.get(ch.redefines, (base, static))
                self.item(ch, *at, depth)
                continue
            starts[ch.name] = (base, static)
            base, static = self.item(ch, base, static, depth)
        return base, static

    def item(self, it: Item, base: str, static: int, depth: int) -> tuple[str, int]:
        if not it.occurs:
            return self.one(it, base, static, depth)
        if not it.depending and not self.moves(it) and not self.arrays:
            for _ in range(it.occurs):
                base, static = self.one(it, base, static, depth)
            return base, static
        moves = self.moves(it)
        q = f"q{self.positions}"
        self.positions += 1
        if moves:
            self.emit(depth, f"{q} = {base}+{static}")
        if self.arrays:
            self.emit(depth, f"o{q} = []")
            if self.members:
                self.members[-1].append((it.name.replace("-", "_"), f"o{q}"))
            else:
                self.lists[(*self.path, it.name)] = f"o{q}"
        count = self.count(it, depth) if it.depending else None
        for k in range(it.occurs):
            inner = depth
            if count is not None:
                self.emit(depth, f"if {count} > {k}:")
                inner += 1
            before = len(self.assigned)
            self.members.append([])
            if moves:
                end, size = self.one(it, q, 0, inner)
                self.emit(inner, f"{q} = {end}+{size}")
            else:
                self.one(it, base, static + k * it.size, inner)
            members = self.members.pop()
            if self.arrays:
                element = dict_source(members) if it.children else members[0][1]
                self.emit(inner, f"o{q}.append({element})")
            absent = self.assigned[before:]
            if count is not None and absent:
                self.emit(depth, "else:")
                self.emit(depth + 1, " = ".join(absent) + " = None")
        return (q, 0) if moves else (base, static + it.occurs * it.size)

    def count(self, it: Item, depth: int) -> str:
        """The variable holding the count of ``it`` (checked against its maximum)."""
        if it.depending not in self.latest:
            raise CopybookError(f"{it.name}: variable-size OCCURS needs {it.depending} before the table")
        count, column = self.latest[it.depending]
        if self.mode == "fast":
            self.emit(depth, f"if not 0 <= {count} <= {it.occurs}: raise ValueError")
        else:
            self.emit(depth, f"_count({count}, {it.occurs}, {column!r})")
        return count

    def one(self, it: Item, base: str, static: int, depth: int) -> tuple[str, int]:
        if it.children:
            self.path.append(it.name)
            end = self.children(it.children, base, static, depth)
            self.path.pop()
            return end if self.moves(it) else (base, static + it.size)
        if it.name != "FILLER":
            self.leaf(it, base, static, depth)
        return base, static + it.size

    def leaf(self, it: Item, base: str, static: int, depth: int) -> None:
        i, f = next(self.fields)
        if f.cobol_name != it.name:  # the walk and the parser's flattening disagree: a bug, not data
            raise CopybookError(f"variable-size OCCURS: expected {f.cobol_name}, met {it.name}")
        var = f"v{i}"
        if it.name in self.counters:
            self.latest[it.name] = (var, f.name)
        elif self.mode == "measure":
            return
        self.assigned.append(var)
        if self.members:
            self.members[-1].append((f.key, var))
        at = f"{base}+" if base else ""
        if self.mode == "fast":
            if f.type == "text":
                expr = f"r[{at}{static}:{at}{static + f.length}].translate(_T).decode('latin-1'){self.strip}"
                self.texts.append(var)
            else:
                expr = self.gen.expr(replace(f, offset=static), at)
            self.emit(depth, f"{var} = {expr}")
        else:
            self.emit(depth, f"{var} = _one({i}, r, {at}{static})")


def _counter_names(tree: Item | None) -> set[str]:
    found: set[str] = set()
    stack = [tree] if tree is not None else []
    while stack:
        it = stack.pop()
        if it.depending:
            found.add(it.depending)
        stack += it.children
    return found


def _walk(
    layout: Layout, gen: Expressions, mode: str, strip: str, depth: int, variable: bool = True, arrays: bool = False
) -> tuple[_Walk, str]:
    """The lines of the whole record (01 levels read from 0, as the parser lays them out) and its
    end (fixed offsets when not ``variable``: the record length)."""
    if layout.tree is None:
        raise ValueError("variable-size OCCURS needs a layout parsed by parse_copybook")
    w = _Walk(layout, gen, mode, strip, variable, arrays)
    end = ("p0", 0)
    for n, top in enumerate(layout.tree.children):
        items = top.children if top.level == 1 and top.children and not top.occurs else [top]
        reached = w.children(items, "p0" if variable else "", 0, depth)
        if n == 0:  # other 01 records overlay the first: they never move its end
            end = reached
    return w, f"{end[0]}+{end[1]}" if variable else str(layout.record_length)


def _helpers(layout: Layout, gen: Expressions, strict: bool, strip: str) -> dict[str, Any]:
    """``_one`` (a field at a position, naming it on failure) and ``_count`` for the careful walk."""
    cp, blank = gen.cp, gen.cp.space

    def chk(b: bytes) -> bytes:
        if strict and b"\0" in b:
            raise ValueError("bad code point")
        return b

    gen.ns["_chk"] = chk
    singles = []  # each field read from its own bytes (at 0), so no record-wide hex is needed
    for f in layout.fields:
        rel = replace(f, offset=0)
        if f.type == "text":
            e = f"_chk(r[p:p+{f.length}].translate(_T)).decode('latin-1'){strip}"
        else:
            e = gen.expr(rel, "p+")
        singles.append(eval(f"lambda r, h, p: {e}", gen.ns))  # noqa: S307 - our own generated source
    fields = layout.fields

    def one(i: int, r: bytes, p: int) -> Any:
        f = fields[i]
        if p + f.length > len(r):
            raise RecordError(f"truncated record: {len(r)} bytes, its OCCURS counts need more", f.name, p)
        raw = r[p : p + f.length]
        try:
            return singles[i](raw, raw.hex(), 0)
        except DECODE_FAILURES:
            if f.type != "text" and f.usage == "display" and raw.count(blank) == len(raw):
                return None  # an all-space numeric is "no value"
            if strict:
                raise RecordError(failure_reason(f, raw, cp), f.name, p) from None
            return None

    def count(value: Any, top: int, column: str) -> None:
        if not (isinstance(value, int) and 0 <= value <= top):
            raise RecordError(f"OCCURS DEPENDING ON count {value} outside 0..{top}", column)

    return {"_one": one, "_count": count, "_chk": chk}


def make_variable_decoder(
    layout: Layout, codepage_name: str = "cp037", floating_point: str = "ibm", strict: bool = True, trim: str = "right"
) -> Callable[[bytes], tuple]:
    """``decode(record) -> tuple`` for records whose OCCURS DEPENDING ON tables take only their
    counted elements (see the module docstring)."""
    gen = Expressions(codepage_name, floating_point, strict, trim)
    strip = {"right": ".rstrip()", "both": ".strip()", "none": ""}[trim]
    helpers = _helpers(layout, gen, strict, strip)
    careful, end = _walk(layout, gen, "slow", strip, 1)
    fast, _ = _walk(layout, gen, "fast", strip, 2)
    values = ", ".join(f"v{i}" for i in range(len(layout.fields))) + ("," if len(layout.fields) == 1 else "")
    nul = ""
    if strict and fast.texts:  # a bad code point translated to NUL (see .decode)
        texts = "".join(f"{t} or '', " for t in fast.texts)
        nul = f"\n        if '\\0' in ''.join(({texts})): raise ValueError"
    short = "f'truncated record: {len(r)} bytes, its OCCURS counts need {" + end + "}'"
    src = (
        "def slow(r, p0=0):\n" + "\n".join(careful.lines) + "\n"
        f"    if len(r) < {end}:\n"
        f"        raise RecordError({short}, None, len(r))\n"
        f"    return ({values})\n"
        "def decode(r, p0=0):\n"
        "    try:\n" + ("        h = r.hex()\n" if gen.uses_hex else "") + "\n".join(fast.lines) + "\n"
        f"        if len(r) < {end}: raise ValueError{nul}\n"
        f"        return ({values})\n"
        "    except DECODE_FAILURES:\n"
        "        return slow(r)\n"
    )
    ns = dict(gen.ns, RecordError=RecordError, DECODE_FAILURES=DECODE_FAILURES, **helpers)
    exec(compile(src, f"<variable-size copybook decoder {len(layout.fields)} fields>", "exec"), ns)  # noqa: S102
    decode = ns["decode"]
    decode.source = src
    return decode


def make_array_decoder(
    layout: Layout, codepage_name: str, floating_point: str, variable: bool, fallback: Callable[[bytes], tuple]
) -> Callable[[bytes], tuple]:
    """``decode(record) -> flat columns + nested columns`` in one generated function: each element
    of a table is decoded under one test of its counter and put in its list as it is read, which
    costs less than decoding the flat row and building the arrays from it after.  Strict; any
    failure (and a short fixed record) goes to ``fallback``, the flat decoder and :func:`make_nester`,
    which name the field or put None in it as they do."""
    gen = Expressions(codepage_name, floating_point, True, "right")
    walk, length = _walk(layout, gen, "fast", ".rstrip()", 2, variable, arrays=True)
    nested = nested_values(layout, "v{}", walk.lists)
    values = ", ".join([f"v{i}" for i in range(len(layout.fields))] + nested)
    texts = "".join(f"{t} or '', " for t in walk.texts)
    short = "" if variable else f"    if len(r) < {layout.record_length}:\n        return _fallback(r)\n"
    src = (
        "def decode(r, p0=0):\n"
        + short
        + "    try:\n"
        + ("        h = r.hex()\n" if gen.uses_hex else "")
        + "\n".join(walk.lines)
        + f"\n        if len(r) < {length}: raise ValueError\n"
        + (f"        if '\\0' in ''.join(({texts})): raise ValueError\n" if texts else "")
        + f"        return ({values},)\n"
        "    except DECODE_FAILURES:\n"
        "        return _fallback(r)\n"
    )
    ns = dict(gen.ns, DECODE_FAILURES=DECODE_FAILURES, _fallback=fallback)
    exec(compile(src, f"<copybook decoder with arrays {len(layout.fields)} fields>", "exec"), ns)  # noqa: S102
    decode = ns["decode"]
    decode.source = src
    return decode


def make_measure(
    layout: Layout, codepage_name: str = "cp037", floating_point: str = "ibm"
) -> Callable[[bytes, int], int]:
    """``measure(buffer, start) -> end``: where the record starting at ``start`` ends, read from
    its counters alone; a buffer too short for it raises ``RecordError`` (truncated)."""
    gen = Expressions(codepage_name, floating_point, True, "right")
    helpers = _helpers(layout, gen, True, ".rstrip()")
    walk, end = _walk(layout, gen, "measure", ".rstrip()", 1)
    short = "f'truncated record: {len(r) - p0} bytes left, its OCCURS counts need {" + end + " - p0}'"
    src = (
        "def measure(r, p0=0):\n" + "\n".join(walk.lines) + "\n"
        f"    if len(r) < {end}:\n"
        f"        raise RecordError({short}, None, p0)\n"
        f"    return {end}\n"
    )
    ns = dict(gen.ns, RecordError=RecordError, **helpers)
    exec(compile(src, "<variable-size copybook record length>", "exec"), ns)  # noqa: S102
    measure = ns["measure"]
    measure.source = src
    return measure
