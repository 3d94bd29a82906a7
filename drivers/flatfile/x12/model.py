"""What an X12 interchange is made of: delimiters, segments, envelopes, and the error that
names where an envelope is broken.

A segment is a tuple of strings: ``[0]`` its id, element ``n`` at ``[n]`` (``seg[1]`` is
``N101``); a composite element stays one string (:func:`split_composite` splits it).
Envelopes keep their own header and trailer segments as read, so writing a parsed
interchange gives back its bytes (:func:`~.writer.write_interchange`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "Delimiters",
    "Segment",
    "TransactionSet",
    "FunctionalGroup",
    "Interchange",
    "EnvelopedSet",
    "GroupEnd",
    "X12Error",
    "split_composite",
    "split_repeats",
]

Segment = tuple[str, ...]


@dataclass(frozen=True)
class Delimiters:
    """The four delimiters an ISA declares; ``repetition`` None before version 00402 (ISA11
    was the standards id ``U`` then). ``line_break`` is what followed each terminator in the
    file read ("" when none, "\\r\\n" or "\\n"), so a write puts it back."""

    element: str = "*"
    sub_element: str = ":"
    repetition: str | None = "^"
    segment: str = "~"
    line_break: str = ""


@dataclass
class TransactionSet:
    """One transaction set: ``segments`` runs from its ST to its SE inclusive."""

    code: str  # ST01, e.g. "850"
    control: str  # ST02
    segments: list[Segment]
    number: int = 0  # the 1-based number of its ST among the interchange's segments
    offset: int = 0  # byte offset of its ST in the file


@dataclass
class FunctionalGroup:
    """GS header values; ``sets`` stays empty in a stream (:mod:`.reader`)."""

    code: str  # GS01 functional identifier, e.g. "PO", "SH", "SM"
    sender: str  # GS02
    receiver: str  # GS03
    date: str  # GS04 CCYYMMDD
    time: str  # GS05 HHMM[SS[dd]]
    control: str  # GS06
    agency: str  # GS07, "X"
    version: str  # GS08, e.g. "004010", "005010X222A1"
    sets: list[TransactionSet] = field(default_factory=list)
    offset: int = 0
    header: Segment = ()  # the GS segment as read
    trailer: Segment | None = None  # the GE segment as read (None in a stream)
    number: int = 0  # the 1-based number of its GS among the interchange's segments


@dataclass
class Interchange:
    """ISA header values (ids stripped of their padding); ``groups`` stays empty in a stream."""

    sender_qualifier: str  # ISA05
    sender: str  # ISA06
    receiver_qualifier: str  # ISA07
    receiver: str  # ISA08
    date: str  # ISA09 YYMMDD
    time: str  # ISA10 HHMM
    version: str  # ISA12, e.g. "00401", "00501"
    control: str  # ISA13
    usage: str  # ISA15: P production, T test
    delimiters: Delimiters
    groups: list[FunctionalGroup] = field(default_factory=list)
    offset: int = 0
    ack_requested: str = "0"  # ISA14
    header: Segment = ()  # the ISA segment as read, padding kept
    trailer: Segment | None = None  # the IEA segment as read (None in a stream)
    terminated: bool = True  # False when the file ended right after IEA without its terminator


@dataclass(frozen=True)
class EnvelopedSet:
    """One transaction set read from a stream, with the headers of its group and interchange."""

    interchange: Interchange
    group: FunctionalGroup
    transaction_set: TransactionSet


@dataclass(frozen=True)
class GroupEnd:
    """A group's GE was read (given after the error when it disagrees with the group):
    ``received`` transaction sets, good or not."""

    interchange: Interchange
    group: FunctionalGroup
    received: int
    trailer: Segment


_ERROR_FIELDS = (
    "level", "code", "interchange_control", "group_control", "set_control", "set_code", "segment", "segment_id",
    "element", "offset", "fatal",
)  # fmt: skip


class X12Error(ValueError):
    """A broken envelope or segment, and where it is.

    ``level`` says what it spoils: ``"set"`` one transaction set (the others are read on),
    ``"group"`` a functional group's envelope (its sets were read; a 997 rejects the group),
    ``"interchange"`` the interchange (reading stops there and goes on at the next one).
    ``fatal``: nothing after it in the file can be read (no delimiters, no end found).
    ``code`` is the X12 code an acknowledgement gives it: AK502/IK502 for a set, AK905 for a
    group, TA105 for an interchange (``interchange``: its header, when the ISA could be read).
    """

    def __init__(
        self,
        reason: str,
        *,
        level: str = "interchange",
        code: str | None = None,
        interchange_control: str | None = None,
        group_control: str | None = None,
        set_control: str | None = None,
        set_code: str | None = None,
        segment: int | None = None,
        segment_id: str | None = None,
        element: str | None = None,
        offset: int | None = None,
        fatal: bool = False,
        interchange: Interchange | None = None,
    ) -> None:
        self.reason, self.level, self.code, self.fatal = reason, level, code, fatal
        self.interchange = interchange  # its header, when read: whom a TA1 answers
        self.interchange_control, self.group_control = interchange_control, group_control
        self.set_control, self.set_code = set_control, set_code
        self.segment, self.segment_id, self.element, self.offset = segment, segment_id, element, offset
        where = []
        if interchange_control is not None:
            where.append(f"interchange {interchange_control}")
        if group_control is not None:
            where.append(f"group {group_control}")
        if set_control is not None:
            where.append(f"set {set_control}" + (f" ({set_code})" if set_code else ""))
        if segment is not None:
            where.append(f"segment {segment}" + (f" ({segment_id})" if segment_id else ""))
        elif offset is not None:
            where.append(f"byte {offset}")
        super().__init__(f"{', '.join(where)}: {reason}" if where else reason)

    def fields(self) -> dict[str, object]:
        """What the error says, by name (for a quarantine entry, a log line, another process)."""
        return {name: getattr(self, name) for name in _ERROR_FIELDS}

    def __reduce__(self) -> tuple:
        return _rebuilt, (self.reason, self.fields(), self.interchange)


def _rebuilt(reason: str, fields: dict, interchange: Interchange | None) -> X12Error:
    return X12Error(reason, interchange=interchange, **fields)


def split_composite(element: str, d: Delimiters) -> list[str]:
    """A composite element's components (``"EA:12"`` -> ``["EA", "12"]``)."""
    return element.split(d.sub_element)


def split_repeats(element: str, d: Delimiters) -> list[str]:
    """A repeated element's repeats (one item when the interchange declares no repetition separator)."""
    return element.split(d.repetition) if d.repetition else [element]
