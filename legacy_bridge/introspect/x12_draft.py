"""Draft configs for ``introspect --x12``: for each transaction set code of a file, a ``format: x12``
source with a mapping in the shape the source reads (see README, "EDI X12") and a resource over it.

The loops are those the segment tree infers (:mod:`.x12_tree`): a loop whose first segment carries
qualifier codes becomes one object per code (``n1_st: {loop: N1, when: {N1.1: ST}, single: true}``),
else an array (``s5: {loop: S5}``); HL levels nest by level code.  A segment repeated with
qualifier codes becomes one field per code and element (``dtm_011: {element: DTM.2, when: ...}``),
any other one field per element it was seen with (``beg_3: BEG.3``).  Elements that always held a
CCYYMMDD date get ``type: date`` (and the ``date`` converter).  Names are drafts to rename.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from legacy_bridge.drivers.flatfile.x12 import EnvelopedSet, Segment, X12Reader
from legacy_bridge.introspect.x12_tree import LoopHints, SegmentNode, add_set, learn

__all__ = ["drafts"]

#: the element that identifies a set of the common codes (else the first field is the key)
KEYS = {"204": "B2.4", "210": "B3.2", "214": "B10.2", "810": "BIG.2", "850": "BEG.3", "856": "BSN.2", "990": "B1.2"}
_SKIPPED = {"ST", "SE"}


@dataclass
class _Shapes:
    """Per segment id: the most elements seen, and the positions that only ever held a date."""

    widths: dict[str, int] = field(default_factory=dict)
    dated: dict[tuple[str, int], bool] = field(default_factory=dict)

    def add(self, segments: list[Segment]) -> None:
        for seg in segments:
            sid = seg[0]
            self.widths[sid] = max(self.widths.get(sid, 0), len(seg) - 1)
            for n, value in enumerate(seg[1:], 1):
                if value:
                    self.dated[(sid, n)] = self.dated.get((sid, n), True) and _is_date(value)


def _is_date(value: str) -> bool:
    if len(value) != 8 or not value.isdigit() or not value.startswith(("19", "20")):
        return False
    try:
        dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return False
    return True


def _name(*parts: str) -> str:
    return re.sub(r"[^a-z0-9_]", "_", "_".join(parts).lower())


def _codes(node: SegmentNode) -> list[str]:
    """The qualifier codes a segment's first element held (not sequence numbers: S501, LX01)."""
    codes = sorted(node.qualifiers)
    if all(c.isdigit() and not c.startswith("0") for c in codes) and max(map(int, codes), default=0) <= node.count:
        return []
    return codes


class _Plain(yaml.SafeDumper):
    """A dumper that writes a mapping shared by several loops (N1 by code) in full each time."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


class _Draft:
    def __init__(self, shapes: _Shapes) -> None:
        self.shapes = shapes

    def element(self, sid: str, n: int, when: dict[str, str] | None = None) -> Any:
        ref = f"{sid}.{n}"
        if not when and not self.shapes.dated.get((sid, n)):
            return ref
        node: dict[str, Any] = {"element": ref}
        if when:
            node["when"] = when
        if self.shapes.dated.get((sid, n)):
            node["type"] = "date"
        return node

    def fields(self, level: dict[str, SegmentNode]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, node in level.items():
            sid = node.segment_id
            if sid in _SKIPPED:
                continue
            if node.loop:
                out.update(self.loop(key, node))
                continue
            width = self.shapes.widths.get(sid, 1)
            codes = _codes(node) if node.most > 1 else []
            for code in codes:  # a repeated, qualified segment: one field per code and element
                for n in range(2, width + 1):
                    name = _name(sid, code) if width <= 2 else _name(sid, code, str(n))
                    out[name] = self.element(sid, n, {f"{sid}.1": code})
            if not codes:
                for n in range(1, width + 1):
                    out[_name(sid, str(n))] = self.element(sid, n)
        return out

    def loop(self, key: str, node: SegmentNode) -> dict[str, Any]:
        inner = self.fields(node.children)
        if key.startswith("HL "):
            level = key[3:]
            # a shipment (S) is one per notice; orders, packs and items are drafted as arrays
            return {_name("hl", level): {"hl": level, **({"single": True} if level == "S" else {}), "fields": inner}}
        sid = node.segment_id
        starter = node.children.get(sid)
        codes = _codes(starter) if starter is not None else []
        if not codes:
            return {_name(sid): {"loop": sid, "fields": inner}}
        single = node.most <= len(codes)  # no code comes back within one set (or instance)
        return {
            _name(sid, code): {
                "loop": sid,
                "when": {f"{sid}.1": code},
                **({"single": True} if single else {}),
                "fields": inner,
            }
            for code in codes
        }


def _resource_fields(mapping: dict[str, Any]) -> dict[str, Any]:
    """The resource's fields over the mapping's columns: the same names, dates through ``date``."""
    out: dict[str, Any] = {}
    for name, node in mapping.items():
        if isinstance(node, dict) and "fields" in node:
            kind = "array" if ("loop" in node or "hl" in node) and not node.get("single") else "object"
            out[name] = {"type": kind, "column": name, "fields": _resource_fields(node["fields"])}
        elif isinstance(node, dict) and node.get("type") == "date":
            out[name] = {"column": name, "converter": "date"}
        else:
            out[name] = name
    return out


def _key(mapping: dict[str, Any], code: str) -> str:
    """The field of the set's identifying element (made required), else the first top-level one."""
    wanted = KEYS.get(code)
    scalars = {n: v for n, v in mapping.items() if not (isinstance(v, dict) and "fields" in v)}
    for name, node in scalars.items():
        ref = node if isinstance(node, str) else node.get("element")
        if ref == wanted:
            mapping[name] = {"element": ref, "required": True} if isinstance(node, str) else {**node, "required": True}
            return name
    return next(iter(scalars), next(iter(mapping)))


def drafts(path: str, encoding: str = "utf-8", check_counts: bool = True) -> str:
    """A draft config (YAML) per transaction set code of the file at ``path``."""
    hints: dict[str, LoopHints] = {}
    trees: dict[str, dict[str, SegmentNode]] = {}
    shapes: dict[str, _Shapes] = {}
    with Path(path).open("rb") as f:
        reader = X12Reader(f, encoding, check_counts)
        for _, found in reader.scan():  # the loops every set shows first, as the tree's report does
            if isinstance(found, EnvelopedSet):
                learn(found.transaction_set.segments, hints.setdefault(found.transaction_set.code, {}))
        for _, found in reader.scan():
            if isinstance(found, EnvelopedSet):
                t = found.transaction_set
                add_set(t.segments, trees.setdefault(t.code, {}), hints.get(t.code, {}))
                shapes.setdefault(t.code, _Shapes()).add(t.segments)
    out = []
    folder = str(Path(path).resolve().parent)
    for code in sorted(trees):
        mapping = _Draft(shapes[code]).fields(trees[code])
        key = _key(mapping, code)
        name = f"x12_{code}"
        source = {"kind": "flatfile", "format": "x12", "path": folder, "pick": "all", "bad_records": "quarantine"}
        if not check_counts:
            source["envelope"] = "lenient"
        draft = {
            "sources": {name: {**source, "x12": {"set": code, "fields": mapping}}},
            "resources": {name: {"source": name, "key": [key], "fields": _resource_fields(mapping)}},
        }
        out.append(
            f"# Draft config for transaction set {code}: rename the fields, check the key ({key}) and the loops."
        )
        out.append(yaml.dump(draft, Dumper=_Plain, sort_keys=False, default_flow_style=None, width=1 << 16).rstrip())
    return "\n".join(out) + "\n" if out else ""
