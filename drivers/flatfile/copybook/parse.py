"""COBOL copybook parser: text -> :class:`Layout` (offsets, lengths and types of every leaf).

The text is read as sentences by :mod:`.lexer` (fixed or free format).
Levels 01-49, 66 (ignored), 77 and 88, PIC X/A/9/S/V/P
and edited numerics, USAGE DISPLAY/COMP/COMP-3/COMP-1/COMP-2 (also inherited from a
group), SIGN LEADING/TRAILING [SEPARATE], OCCURS (fixed and DEPENDING ON, laid out at its
maximum, as Cobrix reads fixed-length records; :mod:`.variable` reads the counted size), REDEFINES
and FILLER.  A DEPENDING ON names the counter read last (inside a table: the same element's).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from legacy_bridge.drivers.flatfile.copybook.lexer import literal, sentences
from legacy_bridge.drivers.flatfile.copybook.pic import USAGES as _USAGES
from legacy_bridge.drivers.flatfile.copybook.pic import CopybookError, leaf_info

__all__ = ["CopybookError", "Field", "Item", "Layout", "parse_copybook"]


@dataclass(frozen=True)
class Field:
    """One decodable leaf: where it is in the record and how its bytes read."""

    name: str  # column name (unique in the layout)
    cobol_name: str
    offset: int
    length: int
    type: str  # 'text' | 'int' | 'decimal' | 'float'
    usage: str  # 'display' | 'binary' | 'packed' | 'float'
    scale: int = 0  # value = digits * 10**-scale (negative: P scaling)
    digits: int = 0
    signed: bool = False
    sign: str = "trailing"  # overpunch/separate sign position
    sign_separate: bool = False
    edited: str | None = None  # the expanded picture of an edited numeric
    pic: str = ""
    path: tuple[tuple[str, int | None], ...] = ()  # (group or field name, OCCURS index)
    odo: tuple[tuple[str, int], ...] = ()  # present when column > index
    conditions: tuple[tuple[str, tuple[Any, ...]], ...] = ()  # 88 levels: (name, values)
    redefined: bool = False  # under a REDEFINES (another view of the same bytes)
    key: str = ""  # the column name without its OCCURS index suffix (the key inside an array element)


@dataclass
class Layout:
    """A parsed copybook: fixed record length and the flattened leaf fields."""

    record_length: int
    fields: list[Field]
    fillers: list[Field] = field(default_factory=list)
    tree: Item | None = None  # the parsed items (sizes, OCCURS, DEPENDING ON) for variable-size reads

    @property
    def columns(self) -> list[str]:
        return [f.name for f in self.fields]


@dataclass
class Item:
    """One copybook entry (group or elementary) as parsed, with its size and offset."""

    level: int
    name: str
    line: int
    pic: str | None = None
    usage: str | None = None
    sign: str | None = None
    separate: bool = False
    occurs: int | None = None
    occurs_min: int | None = None
    depending: str | None = None
    redefines: str | None = None
    conditions: list = field(default_factory=list)
    children: list[Item] = field(default_factory=list)
    size: int = 0  # bytes of one occurrence
    offset: int = 0  # relative to the parent's start


def _item(no: int, words: list[str]) -> Item | None:
    if not words[0].isdigit():
        raise CopybookError(f"line {no}: expected a level number, got {words[0]!r}")
    level = int(words[0])
    rest = words[1:]
    name = "FILLER"
    if rest and rest[0].upper() not in _CLAUSE_WORDS:
        name, rest = rest[0], rest[1:]
    it = Item(level, name.upper(), no)
    if level == 66:
        return None
    i = 0
    up = [w.upper() for w in rest]

    def skip(*opt: str) -> None:
        nonlocal i
        while i < len(up) and up[i] in opt:
            i += 1

    try:
        while i < len(up):
            w = up[i]
            i += 1
            if w in ("PIC", "PICTURE"):
                skip("IS")
                it.pic = rest[i].upper()
                i += 1
            elif w == "USAGE":
                skip("IS")
            elif w in _USAGES:
                it.usage = _USAGES[w]
            elif w == "SIGN":
                skip("IS")
            elif w in ("LEADING", "TRAILING"):
                it.sign = w.lower()
            elif w == "SEPARATE":
                it.separate = True
                skip("CHARACTER")
            elif w == "OCCURS":
                n = int(up[i])
                i += 1
                if i < len(up) and up[i] == "TO":
                    it.occurs_min, n = n, int(up[i + 1])
                    i += 2
                it.occurs = n
                skip("TIMES")
            elif w == "DEPENDING":
                skip("ON")
                it.depending = up[i]
                i += 1
            elif w in ("ASCENDING", "DESCENDING", "INDEXED"):
                skip("KEY", "BY", "IS")
                while i < len(up) and up[i] not in _CLAUSE_WORDS:
                    i += 1
            elif w == "REDEFINES":
                it.redefines = up[i]
                i += 1
            elif w in ("VALUE", "VALUES"):
                skip("IS", "ARE")
                while i < len(up) and up[i] not in _CLAUSE_WORDS - _VALUE_WORDS:
                    if up[i] in ("THRU", "THROUGH"):
                        it.conditions[-1] = (it.conditions[-1], literal(rest[i + 1]))
                        i += 2
                    else:
                        it.conditions.append(literal(rest[i]))
                        i += 1
            elif w in _IGNORED:
                pass
            else:
                raise CopybookError(f"line {no}: unexpected {rest[i - 1]!r} in {' '.join(words)}")
    except IndexError:
        raise CopybookError(f"line {no}: incomplete entry {' '.join(words)!r}") from None
    return it


# words that are part of a VALUE clause although they are clause words elsewhere (BLANK WHEN ZERO)
_VALUE_WORDS = {"THRU", "THROUGH", "ZERO", "ZEROS", "ZEROES"}
_IGNORED = {
    "JUST",
    "JUSTIFIED",
    "RIGHT",
    "LEFT",
    "BLANK",
    "WHEN",
    "ZERO",
    "ZEROS",
    "ZEROES",
    "SYNC",
    "SYNCHRONIZED",
    "GLOBAL",
    "EXTERNAL",
    "IS",
    "TIMES",
}
_CLAUSE_WORDS = (
    {
        "PIC",
        "PICTURE",
        "USAGE",
        "SIGN",
        "LEADING",
        "TRAILING",
        "SEPARATE",
        "OCCURS",
        "DEPENDING",
        "REDEFINES",
        "VALUE",
        "VALUES",
        "ASCENDING",
        "DESCENDING",
        "INDEXED",
        "THRU",
        "THROUGH",
        "RENAMES",
    }
    | set(_USAGES)
    | _IGNORED
)


def _tree(text: str) -> Item:
    root = Item(0, "", 0)
    stack = [root]
    last: Item | None = None
    for no, words in sentences(text):
        if not words:
            continue
        it = _item(no, words)
        if it is None:
            continue
        if it.level == 88:
            if last is None:
                raise CopybookError(f"line {no}: level 88 before any item")
            last.conditions.append((it.name, tuple(it.conditions)))
            continue
        if it.level == 77:
            it.level = 1
        if not 1 <= it.level <= 49:
            raise CopybookError(f"line {no}: level {it.level} is not 01-49, 66, 77 or 88")
        while stack[-1].level >= it.level:
            stack.pop()
        parent = stack[-1]
        if parent.pic is not None:
            raise CopybookError(f"line {no}: {parent.name} has a PIC but {it.name} is below it")
        if it.usage is None and parent.usage is not None:
            it.usage = parent.usage
        if it.sign is None and parent.sign is not None:
            it.sign, it.separate = parent.sign, parent.separate
        parent.children.append(it)
        stack.append(it)
        last = it
    if not root.children:
        raise CopybookError("no data items in the copybook")
    return root


def _size(it: Item) -> int:
    """Bytes of one occurrence; sets children's offsets."""
    if not it.children:
        it.leaf = leaf_info(it)  # type: ignore[attr-defined]
        it.size = it.leaf["length"]  # type: ignore[attr-defined]
        return it.size
    pos = end = 0
    seen: dict[str, Item] = {}
    for ch in it.children:
        ch_size = _size(ch) * (ch.occurs or 1)
        if ch.redefines:
            target = seen.get(ch.redefines)
            if target is None:
                raise CopybookError(f"line {ch.line}: {ch.name} REDEFINES unknown {ch.redefines}")
            ch.offset = target.offset
        else:
            ch.offset = pos
            pos += ch_size
        end = max(end, ch.offset + ch_size)
        seen[ch.name] = ch
    it.size = end
    return end


def _flatten(
    it: Item,
    base: int,
    path: tuple,
    odo: tuple,
    redefined: bool,
    out: list[Field],
    fillers: list[Field],
    names: dict[str, Item],
    latest: dict[str, int],
) -> None:
    for ch in it.children:
        names.setdefault(ch.name, ch)
        count = ch.occurs or 1
        # the counter is the instance read last (INNER-COUNT of this element, not of the last one)
        counter = f"#{latest[ch.depending]}" if ch.depending in latest else ch.depending
        for k in range(count):
            idx = k if ch.occurs else None
            step = (base + ch.offset + k * ch.size, path + ((ch.name, idx),))
            ch_odo = odo + (((counter, k),) if ch.depending else ())
            red = redefined or bool(ch.redefines)
            if ch.children:
                _flatten(ch, step[0], step[1], ch_odo, red, out, fillers, names, latest)
                continue
            leaf = dict(ch.leaf)  # type: ignore[attr-defined]
            f = Field(
                name=ch.name,
                cobol_name=ch.name,
                offset=step[0],
                path=step[1],
                odo=ch_odo,
                conditions=tuple(c for c in ch.conditions if isinstance(c, tuple)),
                redefined=red,
                **leaf,
            )
            if ch.name != "FILLER":
                latest[ch.name] = len(out)
            (fillers if ch.name == "FILLER" else out).append(f)


def _column_names(fields: list[Field], names: dict[str, Item]) -> list[Field]:
    """Unique column names: '-' -> '_', OCCURS indexes as _1.., parents prefixed on clashes."""

    def base(f: Field, depth: int) -> str:
        parts = [n for n, _ in f.path[-depth:]]
        idx = "".join(f"_{i + 1}" for _, i in f.path if i is not None)
        return "_".join(parts).replace("-", "_") + idx

    depth = {id(f): 1 for f in fields}
    for _ in range(10):
        seen: dict[str, int] = {}
        for f in fields:
            seen[base(f, depth[id(f)])] = seen.get(base(f, depth[id(f)]), 0) + 1
        clashes = [f for f in fields if seen[base(f, depth[id(f)])] > 1]
        if not clashes:
            break
        for f in clashes:
            depth[id(f)] += 1
    result, used = [], set()
    for f in fields:
        n = key = base(f, depth[id(f)])
        suffix = "".join(f"_{i + 1}" for _, i in f.path if i is not None)
        key = key[: len(key) - len(suffix)] if suffix else key
        while n in used:
            n += "_"
        used.add(n)
        result.append(Field(**{**f.__dict__, "name": n, "key": key}))
    col = {f.cobol_name: f.name for f in result}

    def counter(d: str) -> str:
        return result[int(d[1:])].name if d.startswith("#") else col.get(names[d].name, names[d].name)

    return [Field(**{**f.__dict__, "odo": tuple((counter(d), i) for d, i in f.odo)}) for f in result]


def parse_copybook(text: str) -> Layout:
    """Parse copybook text into a :class:`Layout`; several 01 records overlay each other."""
    root = _tree(text)
    for ch in root.children[1:]:
        if ch.level == root.children[0].level == 1 and not ch.redefines:
            ch.redefines = root.children[0].name  # record types share the buffer
    # the 01 group itself is not part of a column's path (Cobrix: collapse_root)
    for top in root.children:
        _size(top)
    _size(root)
    fields: list[Field] = []
    fillers: list[Field] = []
    names: dict[str, Item] = {}
    latest: dict[str, int] = {}
    for top in root.children:
        if top.level == 1 and top.children and not top.occurs:
            _flatten(top, top.offset, (), (), bool(top.redefines), fields, fillers, names, latest)
        else:
            wrapper = Item(0, "", 0, children=[top], size=root.size)
            _flatten(wrapper, 0, (), (), False, fields, fillers, names, latest)
    for f in fields:
        if any(not d.startswith("#") and (d not in names or names[d].children) for d, _ in f.odo):
            raise CopybookError(f"{f.name}: DEPENDING ON names no elementary item: {f.odo}")
    return Layout(record_length=root.size, fields=_column_names(fields, names), fillers=fillers, tree=root)
