"""Writing X12: segments to bytes, and the envelopes (ISA/GS/ST ... SE/GE/IEA) around them.

Nothing is cut or replaced: a value holding one of the interchange's delimiters, or too
long for a fixed-width ISA field, is refused (ValueError naming the segment and element).
Each segment is followed by the terminator and ``delimiters.line_break``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from legacy_bridge.drivers.flatfile.x12.isa import ISA_WIDTHS
from legacy_bridge.drivers.flatfile.x12.model import Delimiters, Interchange, Segment

__all__ = [
    "write_segments",
    "write_interchange",
    "interchange_segments",
    "envelope_set",
    "envelope_group",
    "envelope_interchange",
    "trimmed",
    "DEFAULT_DELIMITERS",
]

_REPETITION_FROM = "00402"
#: ``*`` elements, ``:`` components, ``^`` repeats, ``~`` ends each segment (no line breaks)
DEFAULT_DELIMITERS = Delimiters()


def trimmed(seg: Segment) -> Segment:
    """``seg`` without trailing empty elements (X12 writes ``N1*ST*ACME``, not ``N1*ST*ACME**``)."""
    end = len(seg)
    while end > 1 and seg[end - 1] == "":
        end -= 1
    return seg[:end]


def write_segments(segments: Iterable[Segment], d: Delimiters, encoding: str = "utf-8") -> bytes:
    """The bytes of ``segments`` with the delimiters ``d``; ValueError for a value holding one."""
    reserved = {d.element, d.segment} | ({d.repetition} if d.repetition else set())
    end = (d.segment + d.line_break).encode(encoding)
    out = []
    for seg in segments:
        for n, value in enumerate(seg):
            if reserved.intersection(value) and not (seg[0] == "ISA" and n in (11, 16)):
                raise ValueError(
                    f"{seg[0]}{n:02d} {value!r} holds a delimiter of the interchange ({''.join(sorted(reserved))!r})"
                )
        out.append(d.element.join(seg).encode(encoding) + end)
    return b"".join(out)


def interchange_segments(ic: Interchange) -> Iterable[Segment]:
    """Every segment of a parsed interchange, headers and trailers as they were read."""
    yield ic.header
    for group in ic.groups:
        yield group.header
        for tset in group.sets:
            yield from tset.segments
        if group.trailer is not None:
            yield group.trailer
    if ic.trailer is not None:
        yield ic.trailer


def write_interchange(ic: Interchange, encoding: str = "utf-8") -> bytes:
    """The bytes of a parsed interchange (what :func:`~.reader.read_interchanges` read): the
    same bytes, line breaks included, when they followed every terminator alike."""
    data = write_segments(interchange_segments(ic), ic.delimiters, encoding)
    if not ic.terminated:  # the data ended right after IEA, without its terminator
        data = data[: -len((ic.delimiters.segment + ic.delimiters.line_break).encode(encoding))]
    return data


def envelope_set(
    code: str, control: int | str, body: Sequence[Segment], convention: str | None = None
) -> list[Segment]:
    """ST, the body, SE with its segment count; ``convention`` is ST03 (005010 guides)."""
    control = f"{control:04d}" if isinstance(control, int) else control
    if not 4 <= len(control) <= 9:
        raise ValueError(f"ST02 {control!r} is not 4 to 9 characters")
    st: Segment = ("ST", code, control, convention) if convention else ("ST", code, control)
    return [st, *body, ("SE", str(len(body) + 2), control)]


def envelope_group(
    code: str,
    sets: Sequence[Sequence[Segment]],
    *,
    sender: str,
    receiver: str,
    control: int | str,
    version: str,
    when: dt.datetime,
    agency: str = "X",
) -> list[Segment]:
    """GS, the sets (each from ST to SE), GE with the number of sets."""
    control = str(control)
    if not (control.isdigit() and len(control) <= 9):
        raise ValueError(f"GS06 {control!r} is not 1 to 9 digits")
    gs: Segment = (
        "GS",
        code,
        sender,
        receiver,
        when.strftime("%Y%m%d"),
        when.strftime("%H%M"),
        control,
        agency,
        version,
    )
    return [gs, *(seg for s in sets for seg in s), ("GE", str(len(sets)), control)]


def _fixed(name: str, value: str, width: int) -> str:
    if len(value) > width:
        raise ValueError(f"{name} {value!r} is longer than its {width} characters")
    return value.ljust(width)


def envelope_interchange(
    groups: Sequence[Sequence[Segment]],
    *,
    sender: str,
    receiver: str,
    control: int | str,
    when: dt.datetime,
    sender_qualifier: str = "ZZ",
    receiver_qualifier: str = "ZZ",
    version: str = "00401",
    usage: str = "P",
    ack_requested: str = "0",
    delimiters: Delimiters = DEFAULT_DELIMITERS,
    authorization: tuple[str, str] = ("00", ""),
    security: tuple[str, str] = ("00", ""),
) -> list[Segment]:
    """ISA (fixed width, padded), the groups (each GS to GE), IEA with the number of groups."""
    control = f"{control:09d}" if isinstance(control, int) else control
    if version >= _REPETITION_FROM and not delimiters.repetition:
        raise ValueError(f"version {version} needs a repetition separator (ISA11)")
    repetition = delimiters.repetition if version >= _REPETITION_FROM else "U"
    values = (
        authorization[0], authorization[1], security[0], security[1], sender_qualifier, sender, receiver_qualifier,
        receiver, when.strftime("%y%m%d"), when.strftime("%H%M"), repetition, version, control, ack_requested, usage,
        delimiters.sub_element,
    )  # fmt: skip
    isa = ("ISA", *(_fixed(f"ISA{i:02d}", str(v), w) for i, (v, w) in enumerate(zip(values, ISA_WIDTHS), 1)))
    if len(control) != 9 or not control.isdigit():
        raise ValueError(f"ISA13 {control!r} is not 9 digits")
    return [isa, *(seg for g in groups for seg in g), ("IEA", str(len(groups)), control)]
