"""``introspect --x12 FILE``: the interchanges, groups and transaction sets of an X12 file,
what is broken in their envelopes, and the segment tree of each set code with counts (loops
inferred, see :mod:`.x12_tree`). Read as a stream: memory holds one set and the trees."""

from __future__ import annotations

from pathlib import Path

from legacy_bridge.drivers.flatfile.x12 import EnvelopedSet, FunctionalGroup, GroupEnd, Interchange, X12Error, X12Reader
from legacy_bridge.introspect.x12_tree import LoopHints, SegmentNode, add_set, learn, render

__all__ = ["report", "SETS_LISTED"]

#: sets listed one by one per group; past this, a count
SETS_LISTED = 20
_ERRORS_LISTED = 50


def _delimiters(ic: Interchange) -> str:
    d = ic.delimiters
    end = {"": "", "\n": " + LF", "\r\n": " + CRLF"}.get(d.line_break, f" + {d.line_break!r}")
    repetition = repr(d.repetition) if d.repetition else "none"
    return f"element {d.element!r}, sub-element {d.sub_element!r}, repetition {repetition}, segment {d.segment!r}{end}"


class _Survey:
    def __init__(self, hints: dict[str, LoopHints]) -> None:
        self.hints = hints
        self.lines: list[str] = []
        self.errors: list[str] = []
        self.trees: dict[str, dict[str, SegmentNode]] = {}
        self.sets_by_code: dict[str, int] = {}
        self.interchanges = self.groups = self.sets = self.error_count = 0
        self.interchange: Interchange | None = None
        self.group: FunctionalGroup | None = None
        self.listed = 0

    def _headers(self, ic: Interchange, group: FunctionalGroup) -> None:
        """The interchange's and the group's lines, the first time a set (or the end) names them."""
        if ic is not self.interchange:
            self.interchange, self.interchanges = ic, self.interchanges + 1
            self.lines.append(
                f"interchange {ic.control} (byte {ic.offset}): {ic.sender_qualifier}/{ic.sender} -> "
                f"{ic.receiver_qualifier}/{ic.receiver}, {ic.date} {ic.time}, ISA12 {ic.version}, usage {ic.usage}"
            )
            self.lines.append(f"  delimiters: {_delimiters(ic)}")
        if group is not self.group:
            self.group, self.groups, self.listed = group, self.groups + 1, 0
            self.lines.append(
                f"  group {group.control} ({group.code}): {group.sender} -> {group.receiver}, "
                f"{group.date} {group.time}, version {group.version}"
            )

    def add(self, event: object) -> None:
        if isinstance(event, EnvelopedSet):
            t = event.transaction_set
            self._headers(event.interchange, event.group)
            self.sets += 1
            self.sets_by_code[t.code] = self.sets_by_code.get(t.code, 0) + 1
            add_set(t.segments, self.trees.setdefault(t.code, {}), self.hints.get(t.code, {}))
            self.listed += 1
            if self.listed <= SETS_LISTED:
                self.lines.append(f"    set {t.control} ({t.code}): {len(t.segments)} segments")
        elif isinstance(event, GroupEnd):
            self._headers(event.interchange, event.group)
            if self.listed > SETS_LISTED:
                self.lines.append(f"    ... and {self.listed - SETS_LISTED} more sets")
            if event.received > self.listed:
                self.lines.append(f"    ({event.received - self.listed} set(s) not read: see the errors)")
        elif isinstance(event, X12Error):
            self.error_count += 1
            if len(self.errors) < _ERRORS_LISTED:
                self.errors.append(f"  {event}" + (" (nothing after it can be read)" if event.fatal else ""))
            elif len(self.errors) == _ERRORS_LISTED:
                self.errors.append("  ... (more errors not listed)")

    def text(self, path: str) -> str:
        out = [
            f"{path}: {self.interchanges} interchange(s), {self.groups} group(s), {self.sets} transaction set(s) read"
        ]
        if self.lines:
            out += ["", *self.lines]
        if self.errors:
            out += ["", "errors:", *self.errors]
        for code in sorted(self.trees):
            out += ["", f"transaction set {code}: {self.sets_by_code[code]} set(s); count, most in one set or instance"]
            out += render(self.trees[code])
        return "\n".join(out) + "\n"


def report(path: str, encoding: str = "utf-8", check_counts: bool = True) -> tuple[str, int]:
    """The text ``introspect --x12`` prints for the file at ``path`` (read twice: the loops
    every set shows first, then the counts), and how many errors it found; ``check_counts``
    False reads sets whose SE01 (GE01, IEA01) is wrong."""
    hints: dict[str, LoopHints] = {}
    with Path(path).open("rb") as f:
        reader = X12Reader(f, encoding, check_counts)
        for _, found in reader.scan():
            if isinstance(found, EnvelopedSet):
                learn(found.transaction_set.segments, hints.setdefault(found.transaction_set.code, {}))
        survey = _Survey(hints)
        for _, event in reader.events():
            survey.add(event)
    return survey.text(path), survey.error_count
