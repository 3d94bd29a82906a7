"""Functional acknowledgements: a 997, or a 999 for the 005010 implementation guides (GS08
``005010X...``), for one received functional group and the problems found in it; a TA1 for
an interchange whose envelope is broken (:func:`interchange_acknowledgement`).

Pure functions: what was received and what is wrong with it in, segments out. The codes
are X12's: AK5/IK5 and AK9 acknowledgement codes ``A`` accepted, ``E`` accepted with errors
noted, ``R`` rejected, ``P`` (AK9 only) partially accepted, some sets rejected; set syntax
error codes (AK502/IK502: ``3`` ST02/SE02 differ, ``4`` SE01 wrong, ``5`` segments in error),
segment codes (AK304/IK304: ``8`` data element errors, ...), element codes (AK403/IK403) and
group codes (AK905: ``4`` GS06/GE02 differ, ``5`` GE01 wrong). :class:`Receipt` gathers them
from a reader's events; :func:`acknowledgement` envelopes the answer back to the sender.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from legacy_bridge.drivers.flatfile.x12.model import (
    Delimiters,
    EnvelopedSet,
    FunctionalGroup,
    GroupEnd,
    Interchange,
    Segment,
    X12Error,
)
from legacy_bridge.drivers.flatfile.x12.writer import envelope_group, envelope_interchange, envelope_set, trimmed

__all__ = [
    "ElementProblem",
    "SegmentProblem",
    "SetProblems",
    "Receipt",
    "ack_code",
    "is_999",
    "acknowledgement_set",
    "acknowledgement",
    "interchange_acknowledgement",
    "ACK_999_VERSION",
]

#: the implementation guide of the 999 itself (GS08 and ST03 of a 999)
ACK_999_VERSION = "005010X231A1"


@dataclass(frozen=True)
class ElementProblem:
    """A data element in error (AK4/IK4): its position in the segment (N103 -> 3), and the
    X12 code: 1 mandatory missing, 2 conditional missing, 3 too many elements, 4 too short,
    5 too long, 6 invalid character, 7 invalid code value, 8 invalid date, 9 invalid time..."""

    position: int
    code: str
    component: int | None = None  # position in a composite
    repeat: int | None = None  # which repeat (999 only)
    reference: str = ""  # the data element dictionary number, e.g. "98"
    value: str = ""  # a copy of the bad value


@dataclass(frozen=True)
class SegmentProblem:
    """A segment in error (AK3/IK3): its position in the set (ST is 1), id, and the X12 code
    (1 unrecognized id, 2 unexpected, 3 mandatory missing, 4 loop over maximum, 5 over
    maximum use, 6 not in the set, 7 out of sequence, 8 has data element errors)."""

    position: int
    segment_id: str
    code: str = "8"
    loop: str = ""
    elements: tuple[ElementProblem, ...] = ()


@dataclass(frozen=True)
class SetProblems:
    """What is wrong with one transaction set (by its ST02); ``accepted``: noted, the set is
    accepted all the same (E), else it is rejected (R)."""

    control: str
    codes: tuple[str, ...] = ()  # AK502../IK502.. (at most 5)
    segments: tuple[SegmentProblem, ...] = ()
    accepted: bool = False


@dataclass
class Receipt:
    """What one functional group brought: its sets as (code, control, ST03) and their
    problems, the group's own error codes (AK905), whether the group itself is rejected, and
    how many sets its GE declared."""

    interchange: Interchange
    group: FunctionalGroup
    sets: list[tuple[str, str, str]] = field(default_factory=list)
    problems: dict[str, SetProblems] = field(default_factory=dict)
    group_codes: list[str] = field(default_factory=list)
    group_rejected: bool = False
    declared: int | None = None

    @classmethod
    def gather(cls, events: Iterable[tuple[int, object]]) -> Iterator[Receipt]:
        """The receipt of each group a reader's ``events()`` end (a group whose interchange
        breaks before its GE gets none: that calls for a TA1, not a 997)."""
        sets: dict[str, list[tuple[str, str, str]]] = {}
        problems: dict[str, dict[str, SetProblems]] = {}
        group_errors: dict[str, list[X12Error]] = {}
        for _, event in events:
            if isinstance(event, EnvelopedSet):
                t = event.transaction_set
                sets.setdefault(event.group.control, []).append((t.code, t.control, _at(t.segments[0], 3)))
            elif isinstance(event, X12Error):
                key = event.group_control or ""
                if event.level == "set" and event.set_control is not None:
                    sets.setdefault(key, []).append((event.set_code or "", event.set_control, ""))
                    codes = (event.code,) if event.code else ()
                    problems.setdefault(key, {})[event.set_control] = SetProblems(event.set_control, codes)
                elif event.level == "group":
                    group_errors.setdefault(key, []).append(event)
                else:  # the interchange is broken: its open groups get no 997
                    for pending in (sets, problems, group_errors):
                        pending.clear()
            elif isinstance(event, GroupEnd):
                key = event.group.control
                errors = group_errors.pop(key, [])
                declared = _at(event.trailer, 1)
                yield cls(
                    event.interchange,
                    event.group,
                    sets.pop(key, []),
                    problems.pop(key, {}),
                    [e.code for e in errors if e.code],
                    bool(errors),
                    int(declared) if declared.isdigit() else None,
                )


def _at(seg: Segment, n: int) -> str:
    return seg[n] if len(seg) > n else ""


def is_999(version: str) -> bool:
    """True when a group of this GS08 is acknowledged with a 999 (005010 implementation guides)."""
    return version.startswith("005010X")


def _set_code(problems: SetProblems | None) -> str:
    if problems is None:
        return "A"
    return "E" if problems.accepted else "R"


def ack_code(statuses: Sequence[str], group_rejected: bool) -> str:
    """AK901 from the sets' AK501/IK501 codes and whether the group itself is rejected."""
    if group_rejected:
        return "R"
    if not statuses or all(s == "A" for s in statuses):
        return "A"
    if all(s == "R" for s in statuses):
        return "R"
    return "P" if "R" in statuses else "E"


def _position(problem: ElementProblem, d: Delimiters, ik: bool) -> str:
    parts = [str(problem.position)]
    if problem.component is not None or (ik and problem.repeat is not None):
        parts.append(str(problem.component or ""))
    if ik and problem.repeat is not None:
        parts.append(str(problem.repeat))
    return d.sub_element.join(parts)


def acknowledgement_set(
    receipt: Receipt, d: Delimiters, control: int | str = 1, *, implementation: bool | None = None
) -> list[Segment]:
    """The 997 (or 999: ``implementation`` True, by default when GS08 is ``005010X...``) of
    the group in ``receipt``, from its ST to its SE; composites written with ``d``."""
    group = receipt.group
    ik = is_999(group.version) if implementation is None else implementation
    body: list[Segment] = [
        ("AK1", group.code, group.control, group.version) if ik else ("AK1", group.code, group.control)
    ]
    unknown = set(receipt.problems) - {control for _, control, _ in receipt.sets}
    if unknown:
        raise ValueError(f"problems for sets the group did not bring: {', '.join(sorted(unknown))}")
    statuses = []
    for code, set_control, convention in receipt.sets:
        problems = receipt.problems.get(set_control)
        status = _set_code(problems)
        statuses.append(status)
        body.append(trimmed(("AK2", code, set_control, convention if ik else "")))  # AK203: the set's ST03
        for seg in problems.segments if problems else ():
            body.append(trimmed(("IK3" if ik else "AK3", seg.segment_id, str(seg.position), seg.loop, seg.code)))
            for el in seg.elements:
                body.append(trimmed(("IK4" if ik else "AK4", _position(el, d, ik), el.reference, el.code, el.value)))
        codes = problems.codes if problems else ()
        if status != "A" and not codes and problems and problems.segments:
            codes = ("5",)  # one or more segments in error
        body.append(("IK5" if ik else "AK5", status, *codes[:5]))
    declared = receipt.declared if receipt.declared is not None else len(receipt.sets)
    accepted = sum(1 for s in statuses if s != "R")
    overall = ack_code(statuses, receipt.group_rejected or bool(receipt.group_codes))
    if overall == "R":
        accepted = 0
    body.append(("AK9", overall, str(declared), str(len(receipt.sets)), str(accepted), *receipt.group_codes[:5]))
    return envelope_set("999" if ik else "997", control, body, ACK_999_VERSION if ik else None)


def acknowledgement(
    receipt: Receipt,
    *,
    interchange_control: int | str,
    group_control: int | str,
    when: dt.datetime,
    set_control: int | str = 1,
    delimiters: Delimiters | None = None,
) -> list[Segment]:
    """The whole interchange that carries the acknowledgement back: ISA/GS with the received
    sender and receiver swapped, GS01 ``FA``, the 997/999 set, GE, IEA."""
    ic, group = receipt.interchange, receipt.group
    ik = is_999(group.version)
    d = delimiters or ic.delimiters
    version = ("00501" if ic.version < "00501" else ic.version) if ik else ic.version
    if version >= "00402" and d.repetition is None:
        spare = next(c for c in "^{}|\\" if c not in (d.element, d.sub_element, d.segment))
        d = Delimiters(d.element, d.sub_element, spare, d.segment, d.line_break)
    ack = acknowledgement_set(receipt, d, set_control, implementation=ik)
    fa = envelope_group(
        "FA",
        [ack],
        sender=group.receiver,
        receiver=group.sender,
        control=group_control,
        version=ACK_999_VERSION if ik else group.version,
        when=when,
    )
    return _back_to_sender(ic, [fa], interchange_control, when, version, d)


def _back_to_sender(
    ic: Interchange, groups: list[list[Segment]], control: int | str, when: dt.datetime, version: str, d: Delimiters
) -> list[Segment]:
    """An interchange of ``groups`` from the receiver of ``ic`` to its sender."""
    return envelope_interchange(
        groups,
        sender=ic.receiver,
        receiver=ic.sender,
        sender_qualifier=ic.receiver_qualifier,
        receiver_qualifier=ic.sender_qualifier,
        control=control,
        when=when,
        version=version,
        usage=ic.usage,
        delimiters=d,
    )


def interchange_acknowledgement(
    ic: Interchange,
    note: str = "000",
    *,
    interchange_control: int | str,
    when: dt.datetime,
    code: str | None = None,
    delimiters: Delimiters | None = None,
) -> list[Segment]:
    """A TA1 for the interchange ``ic`` (its header: an :class:`X12Error`'s ``interchange``),
    in an interchange of its own back to the sender (ISA, TA1, IEA with no group).

    ``note`` is TA105 (``000`` no error; an interchange-level error's ``code``: ``001`` ISA13
    and IEA02 differ, ``021`` IEA01 wrong, ``022``/``024`` a broken structure or content,
    ``023`` the data ending early); TA104 ``code`` is ``A`` for ``000``, else ``R`` by default."""
    ack = code or ("A" if note == "000" else "R")
    ta1: Segment = ("TA1", ic.control, ic.date, ic.time, ack, note)
    isa, iea = _back_to_sender(ic, [], interchange_control, when, ic.version, delimiters or ic.delimiters)
    return [isa, ta1, iea]
