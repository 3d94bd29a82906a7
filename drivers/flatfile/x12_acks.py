"""Functional acknowledgements (997, or 999 for ``005010X...`` groups) of the groups a ``format:
x12`` source receives, written into the folder its ``acknowledge:`` option names.

One pass over a file version (see :meth:`.surveys.Surveys._acknowledge`) gathers each group's
receipt (:class:`~.x12.acks.Receipt`: sets whose envelope is broken, the group's own errors) and
adds the sets of the source's code that its mapping refuses (:mod:`.x12_refusals`). Each group is
then handed to an :class:`AckLedger` (the state store's, given by legacy_bridge), which writes it
once across workers and hosts, keyed by the received interchange's sender and receiver, ISA13 and
GS06, with control numbers of the numbering of that partner.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

from legacy_bridge.drivers.flatfile.x12 import EnvelopedSet, X12Error, X12Reader, deliver_interchange
from legacy_bridge.drivers.flatfile.x12.acks import (
    Receipt,
    SetProblems,
    acknowledgement,
    interchange_acknowledgement,
    is_999,
)
from legacy_bridge.drivers.flatfile.x12.model import Delimiters, Interchange, Segment
from legacy_bridge.drivers.flatfile.x12.reader import read_interchanges
from legacy_bridge.drivers.flatfile.x12_mapping import MappingError, SetMapping
from legacy_bridge.drivers.flatfile.x12_reading import read_set
from legacy_bridge.drivers.flatfile.x12_refusals import refusal

__all__ = ["AckLedger", "AckSettings", "ack_settings", "check_acknowledge", "acknowledge_groups"]

_QUALIFIER = re.compile(r"^[0-9A-Z]{2}$")
_ID = re.compile(r"^[0-9A-Za-z][0-9A-Za-z .\-_/]{0,14}$")


class AckLedger(Protocol):
    """Writes each received group's acknowledgement once (the state store's: across hosts)."""

    def once(
        self,
        received: str,
        partner: str,
        write: Callable[[int, list[int]], str],
        written: Callable[[int], Sequence[int] | None],
        groups: int = 1,
    ) -> str | None:
        """``write(interchange, group numbers)`` with the partner's next control numbers (an
        interchange and ``groups`` groups) unless ``received`` was answered already; the path
        written, or None."""
        ...


@dataclass(frozen=True)
class AckSettings:
    """``acknowledge:``: the folder, and our ISA05/ISA06 when not the received ISA07/ISA08."""

    folder: str
    qualifier: str | None = None
    id: str | None = None


def check_acknowledge(options: dict[str, Any]) -> list[tuple[str, str]]:
    """The problems of a source's ``acknowledge`` option, as (key, message)."""
    raw = options.get("acknowledge")
    if raw is None:
        return []
    if not isinstance(raw, dict):
        return [("acknowledge", "expected {folder: /out/acks, sender: {qualifier: ZZ, id: MYID}}")]
    problems = [
        (f"acknowledge.{k}", "unknown key; known: folder, sender") for k in raw if k not in ("folder", "sender")
    ]
    folder = raw.get("folder")
    if not isinstance(folder, str) or not folder:
        problems.append(("acknowledge.folder", "required: the folder the 997/999 files are written into"))
    elif not os.path.isdir(folder):
        problems.append(("acknowledge.folder", f"{folder} is not a folder"))
    elif not os.access(folder, os.W_OK | os.X_OK):
        problems.append(("acknowledge.folder", f"{folder} is not writable"))
    sender = raw.get("sender")
    if sender is None:
        return problems
    if not isinstance(sender, dict) or set(sender) != {"qualifier", "id"}:
        return problems + [("acknowledge.sender", "expected {qualifier: ZZ, id: MYID} (ISA05 and ISA06)")]
    if not isinstance(sender["qualifier"], str) or not _QUALIFIER.match(sender["qualifier"]):
        problems.append(
            ("acknowledge.sender.qualifier", f"expected 2 letters or digits (ISA05), got {sender['qualifier']!r}")
        )
    if not isinstance(sender["id"], str) or not _ID.match(sender["id"]):
        problems.append(
            ("acknowledge.sender.id", f"expected 1 to 15 letters, digits, spaces or .-_/ (ISA06), got {sender['id']!r}")
        )
    return problems


def ack_settings(options: dict[str, Any]) -> AckSettings | None:
    """The checked ``acknowledge`` option, None when the source has none."""
    raw = options.get("acknowledge")
    if not isinstance(raw, dict):
        return None
    sender = raw.get("sender") or {}
    return AckSettings(str(raw["folder"]), sender.get("qualifier"), sender.get("id"))


def _safe(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z_-]", "_", text.strip()) or "_"


class _Reply:
    """One answer back to a sender (a group's 997/999, an interchange's TA1): the file it goes to,
    its numbering, what it answers (the once-only key)."""

    groups = 1  # group numbers it takes

    def __init__(self, ic: Interchange, settings: AckSettings, code: str, answers: str) -> None:
        self.ic, self.settings, self.code = ic, settings, code
        self.now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        ours = (settings.qualifier or ic.receiver_qualifier, settings.id or ic.receiver.strip())
        self.partner = f"{ours[0]}:{ours[1]}>{ic.sender_qualifier}:{ic.sender.strip()}"
        their = f"{ic.sender_qualifier}:{ic.sender.strip()}>{ic.receiver_qualifier}:{ic.receiver.strip()}"
        self.received = f"{their}|{ic.control}|{answers}"
        self.prefix = f"{_safe(ic.sender_qualifier)}-{_safe(ic.sender)}"

    def name(self, interchange: int, code: str | None = None) -> str:
        """``997.ZZ-SHIPPERCO.000000001.x12``: by partner and our ISA13 (the crash guard looks for it)."""
        return f"{code or self.code}.{self.prefix}.{interchange:09d}.x12"

    def segments(self, interchange: int, groups: list[int]) -> list[Segment]:
        raise NotImplementedError

    def write(self, interchange: int, groups: list[int]) -> str:
        segments = self.segments(interchange, groups)
        isa = list(segments[0])
        if self.settings.qualifier and self.settings.id:
            isa[5], isa[6] = self.settings.qualifier, self.settings.id.ljust(15)
        segments[0] = tuple(isa)
        d = self.ic.delimiters
        used = Delimiters(d.element, isa[16], None if isa[11] == "U" else isa[11], d.segment, d.line_break)
        return deliver_interchange(self.settings.folder, segments, used, self.name(interchange))

    def written(self, interchange: int) -> list[int] | None:
        """The group numbers a file of ours with that interchange number carries (a writer that
        died before its commit left it), None when there is none."""
        for code in ("997", "999", "TA1"):
            path = os.path.join(self.settings.folder, self.name(interchange, code))
            if os.path.exists(path):
                try:
                    with open(path, "rb") as f:
                        return [int(g.control) for ic in read_interchanges(f.read()) for g in ic.groups]
                except (X12Error, ValueError, OSError):
                    return []  # no group read (a TA1, or unreadable): the number is skipped all the same
        return None


class _GroupReply(_Reply):
    """A received group's 997 (999 for ``005010X...``)."""

    def __init__(self, receipt: Receipt, settings: AckSettings) -> None:
        super().__init__(
            receipt.interchange, settings, "999" if is_999(receipt.group.version) else "997", receipt.group.control
        )
        self.receipt = receipt

    def segments(self, interchange: int, groups: list[int]) -> list[Segment]:
        return acknowledgement(self.receipt, interchange_control=interchange, group_control=groups[0], when=self.now)


class _InterchangeReply(_Reply):
    """The TA1 of a received interchange whose envelope is broken (its TA105 note)."""

    groups = 0

    def __init__(self, error: X12Error, ic: Interchange, settings: AckSettings) -> None:
        super().__init__(ic, settings, "TA1", "TA1")
        self.note = error.code or "024"

    def segments(self, interchange: int, groups: list[int]) -> list[Segment]:
        return interchange_acknowledgement(self.ic, self.note, interchange_control=interchange, when=self.now)


def _refusals(
    events: Iterable[tuple[int, object]],
    mapping: SetMapping,
    refused: dict[tuple[str, str, str], SetProblems],
    broken: list[tuple[X12Error, Interchange]],
    step: Callable[[int], None],
) -> Iterator[tuple[int, object]]:
    """``events`` passed on; the sets of ``mapping``'s code that it refuses noted in ``refused``,
    the interchanges broken in their content (not cut short: the file may be growing) in ``broken``."""
    for offset, event in events:
        if isinstance(event, X12Error) and event.level == "interchange" and not event.fatal and event.interchange:
            broken.append((event, event.interchange))
        elif isinstance(event, EnvelopedSet) and event.transaction_set.code == mapping.code:
            ic, ts = event.interchange, event.transaction_set
            try:
                read_set(mapping, ts.segments, ic.delimiters.sub_element, [ic.header, event.group.header])
            except MappingError as exc:
                refused[(ic.control, event.group.control, ts.control)] = refusal(
                    mapping, ts, exc, ic.delimiters.sub_element
                )
        step(offset)
        yield offset, event


def acknowledge_groups(
    handle: BinaryIO,
    *,
    mapping: SetMapping,
    settings: AckSettings,
    ledger: AckLedger,
    encoding: str = "utf-8",
    strict: bool = True,
    step: Callable[[int], None] = lambda offset: None,
) -> Iterator[str]:
    """Acknowledge every functional group of the file ``handle`` but those that are
    acknowledgements themselves (GS01 ``FA``), and answer an interchange whose envelope is broken
    with a TA1, each once (through ``ledger``); the paths of the files written now."""
    refused: dict[tuple[str, str, str], SetProblems] = {}
    broken: list[tuple[X12Error, Interchange]] = []
    events = X12Reader(handle, encoding, check_counts=strict).events()
    replies: list[_Reply] = []
    for receipt in Receipt.gather(_refusals(events, mapping, refused, broken, step)):
        here = (receipt.interchange.control, receipt.group.control)
        for (ic_control, group_control, control), problems in refused.items():
            if (ic_control, group_control) == here and control not in receipt.problems:
                receipt.problems[control] = problems
        refused.clear()
        if receipt.group.code != "FA":  # acknowledgements are not acknowledged
            replies.append(_GroupReply(receipt, settings))
        replies += [_InterchangeReply(error, ic, settings) for error, ic in broken]
        broken.clear()
        yield from _sent(replies, ledger)
    replies += [_InterchangeReply(error, ic, settings) for error, ic in broken]
    yield from _sent(replies, ledger)


def _sent(replies: list[_Reply], ledger: AckLedger) -> Iterator[str]:
    """Each reply written once (through ``ledger``): the paths written now."""
    for reply in replies:
        path = ledger.once(reply.received, reply.partner, reply.write, reply.written, reply.groups)
        if path is not None:
            yield path
    replies.clear()
