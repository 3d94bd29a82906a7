"""Outbound X12: a ``drop:`` on a ``format: x12`` source, checked, and records made into one
interchange (ISA, one GS group, an ST..SE set per record, GE, IEA) delivered into its folder.

```yaml
drop:
  folder: /data/edi/outbound           # an existing, writable folder
  sender: "02:FSTC"                    # ISA05:ISA06 (qualifier:id)
  receiver: "ZZ:ACMESHIPPER"           # ISA07:ISA08
  application_sender: FSTC             # GS02 (default: the sender's id)
  application_receiver: ACMESHIPPER    # GS03 (default: the receiver's id)
  functional_id: GF                    # GS01 (default by set: 990 GF, 214 QM, 856 SH, 204 SM, 850 PO, ...)
  version: "004010"                    # GS08; ISA12 follows it (00401)
  usage: P                             # ISA15: P production, T test
  segments: [B1, N9]                   # the order of the set's segments (default: as the mapping names them)
```

The control numbers are handed in (the state store allocates them, one numbering per
``partner``); the file is named ``<set>.<ISA13>.x12`` (``<set>.<ISA13>.<tag>.x12`` with a tag).
"""

from __future__ import annotations

import datetime as dt
import glob
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from legacy_bridge.drivers.flatfile.x12 import (
    DEFAULT_DELIMITERS,
    deliver_interchange,
    envelope_group,
    envelope_interchange,
    envelope_set,
    read_interchanges,
)
from legacy_bridge.drivers.flatfile.x12_mapping import SetMapping
from legacy_bridge.drivers.flatfile.x12_writing import default_order, order_problems, write_set

__all__ = ["X12DropRules", "check_x12_drop", "Outbound", "FUNCTIONAL_IDS"]

#: GS01 by transaction set code (X12's functional identifier codes)
FUNCTIONAL_IDS = {
    "204": "SM", "210": "IM", "211": "BL", "214": "QM", "810": "IN", "850": "PO", "855": "PR", "856": "SH",
    "860": "PC", "940": "OW", "945": "SW", "990": "GF", "997": "FA",
}  # fmt: skip
_KEYS = {
    "folder", "sender", "receiver", "application_sender", "application_receiver", "functional_id", "version",
    "usage", "segments",
}  # fmt: skip
_PARTY = re.compile(r"^([0-9A-Z]{2}):([^*~^:>]{1,15})$")
_VERSION = re.compile(r"^00(40[1-9]0|50[01]0)$")


@dataclass(frozen=True)
class X12DropRules:
    """A checked x12 ``drop:``: the folder, the envelope ids, the segment order."""

    folder: str
    sender: tuple[str, str]  # (ISA05 qualifier, ISA06 id)
    receiver: tuple[str, str]
    application_sender: str
    application_receiver: str
    functional_id: str
    version: str  # GS08, "004010"
    usage: str
    segments: tuple[str, ...]

    @property
    def partner(self) -> str:
        """The numbering the control numbers come from: ``02:FSTC>ZZ:ACMESHIPPER``."""
        return f"{':'.join(self.sender)}>{':'.join(self.receiver)}"


def _party(node: dict, key: str, problems: list[tuple[str, str]]) -> tuple[str, str]:
    m = _PARTY.match(node.get(key) or "") if isinstance(node.get(key), str) else None
    if m is None:
        problems.append(
            (key, f"expected QUALIFIER:ID (ZZ:ACMESHIPPER; 2 characters, then 1 to 15), got {node.get(key)!r}")
        )
        return ("ZZ", "")
    return m.group(1), m.group(2)


def check_x12_drop(
    mapping: SetMapping | None, node: dict[str, Any]
) -> tuple[X12DropRules | None, list[tuple[str, str]]]:
    """The rules of an x12 ``drop:`` and its problems as (key under drop, message)."""
    problems = [(k, f"unknown key; known for an x12 drop: {', '.join(sorted(_KEYS))}") for k in node if k not in _KEYS]
    folder = node.get("folder")
    if not isinstance(folder, str) or not os.path.isdir(folder):
        problems.append(("folder", f"{folder!r} is not an existing folder"))
    elif not os.access(folder, os.W_OK | os.X_OK):
        problems.append(("folder", f"{folder!r} is not writable by this service"))
    sender, receiver = _party(node, "sender", problems), _party(node, "receiver", problems)
    version = str(node.get("version", "004010"))
    if not _VERSION.match(version):
        problems.append(("version", f"expected a GS08 version from 004010 to 005010 ('004010'), got {version!r}"))
    usage = node.get("usage", "P")
    if usage not in ("P", "T"):
        problems.append(("usage", f"expected P (production) or T (test), got {usage!r}"))
    texts = {}
    for key, default in (("application_sender", sender[1]), ("application_receiver", receiver[1])):
        value = node.get(key, default)
        if not isinstance(value, str) or not 2 <= len(value) <= 15:
            problems.append((key, f"expected a GS application code of 2 to 15 characters, got {value!r}"))
        texts[key] = str(value)
    functional = node.get("functional_id", FUNCTIONAL_IDS.get(mapping.code) if mapping else None)
    if not isinstance(functional, str) or not re.match(r"^[A-Z]{2}$", functional):
        problems.append(("functional_id", f"required (GS01, two letters such as GF): got {functional!r}"))
    order: list[str] = []
    if mapping is not None:
        listed = node.get("segments")
        order = default_order(mapping) if listed is None else listed
        problems += [("segments", message) for message in order_problems(mapping, order)]
    if problems or mapping is None:
        return None, problems
    return (
        X12DropRules(
            str(folder),
            sender,
            receiver,
            texts["application_sender"],
            texts["application_receiver"],
            str(functional),
            version,
            str(usage),
            tuple(order),
        ),  # fmt: skip
        [],
    )


class Outbound:
    """Records of one mapping made into interchanges by a drop's rules."""

    delimiters = DEFAULT_DELIMITERS

    def __init__(self, mapping: SetMapping, rules: X12DropRules) -> None:
        self.mapping, self.rules = mapping, rules
        d = self.delimiters  # the repetition separator is one from 00402 on (ISA11)
        self.reserved = d.element + d.segment + (d.repetition or "" if rules.version >= "004020" else "")

    def body(self, record: dict[str, Any]) -> list[tuple[str, ...]]:
        """The segments of one record between ST and SE (MappingError naming the field)."""
        return write_set(self.mapping, record, self.rules.segments, self.delimiters.sub_element, self.reserved)

    def interchange(
        self, bodies: Sequence[Sequence[tuple[str, ...]]], interchange: int, group: int, when: dt.datetime
    ) -> list[tuple[str, ...]]:
        """ISA to IEA: one group of one set per body, sets numbered 0001, 0002, ..."""
        r = self.rules
        sets = [envelope_set(self.mapping.code, n, body) for n, body in enumerate(bodies, 1)]
        gs = envelope_group(
            r.functional_id, sets, sender=r.application_sender, receiver=r.application_receiver, control=group,
            version=r.version, when=when,
        )  # fmt: skip
        return envelope_interchange(
            [gs], sender=r.sender[1], receiver=r.receiver[1], sender_qualifier=r.sender[0],
            receiver_qualifier=r.receiver[0], control=interchange, when=when, version=r.version[:5], usage=r.usage,
            delimiters=self.delimiters,
        )  # fmt: skip

    def file_name(self, interchange: int, tag: str | None = None) -> str:
        """``990.000000001.x12``, or with a tag ``214.000000007.evt_42.x12``."""
        return f"{self.mapping.code}.{interchange:09d}.{tag + '.' if tag else ''}x12"

    def files(self, interchange: int | None = None, tag: str | None = None) -> list[str]:
        """The paths of this set's interchanges in the folder with that number or tag."""
        number = "*" if interchange is None else f"{interchange:09d}"
        pattern = f"{self.mapping.code}.{number}.{glob.escape(tag) + '.' if tag else '*'}x12"
        return glob.glob(os.path.join(glob.escape(self.rules.folder), pattern))

    def carried(self, interchange: int) -> list[int] | None:
        """The group numbers (GS06) the file of interchange ``interchange`` carries, None when
        there is none: the allocator's guard against a crash between rename and commit."""
        for path in self.files(interchange):
            with open(path, "rb") as f:
                return [int(g.control) for ic in read_interchanges(f.read()) for g in ic.groups]
        return None

    def deliver(self, segments: Sequence[tuple[str, ...]], name: str) -> str:
        """Written atomically into the drop's folder; its path (FileExistsError: never replaced)."""
        return deliver_interchange(self.rules.folder, segments, self.delimiters, name)
