"""The ISA segment: fixed width (106 bytes with its terminator), and the only place an
interchange declares its delimiters: the element separator is byte 3, the repetition
separator ISA11 (from version 00402), the sub-element separator ISA16, and the segment
terminator the byte right after ISA16.
"""

from __future__ import annotations

from legacy_bridge.drivers.flatfile.x12.model import Delimiters, Interchange, X12Error

__all__ = ["ISA_LENGTH", "ISA_WIDTHS", "parse_isa", "looks_like_isa", "segment_id_at"]

#: widths of ISA01..ISA16
ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)
#: "ISA", 16 separators and elements, the terminator
ISA_LENGTH = 3 + len(ISA_WIDTHS) + sum(ISA_WIDTHS) + 1
_STARTS = []  # where each element starts
_at = 4
for _w in ISA_WIDTHS:
    _STARTS.append(_at)
    _at += _w + 1
_SEPARATORS = [s - 1 for s in _STARTS]  # where each element separator stands
_REPETITION_FROM = "00402"  # ISA11 is the repetition separator from this version on


def segment_id_at(head: bytes) -> str:
    """The segment id (letters and digits) that ``head`` starts with, for a message."""
    end = 0
    while end < min(len(head), 8) and chr(head[end]).isalnum():
        end += 1
    return head[:end].decode("latin-1") or repr(head[:10].decode("latin-1"))


def looks_like_isa(head: bytes) -> bool:
    """True when ``head`` starts with a whole ISA: its separators where the fixed widths put them."""
    if len(head) < ISA_LENGTH or not head.startswith(b"ISA"):
        return False
    sep = head[3]
    return all(head[i] == sep for i in _SEPARATORS)


def _broken(reason: str, offset: int, element: str | None = None, code: str = "022", found: str = "ISA") -> X12Error:
    """An ISA we cannot read: fatal, there are no delimiters to read anything after it."""
    return X12Error(reason, segment=1, segment_id=found, element=element, offset=offset, fatal=True, code=code)


def _delimiter(char: str, what: str, offset: int, element: str) -> str:
    if char.isalnum() or char == " ":
        raise _broken(
            f"the {what} is {char!r}: a letter, digit or space cannot delimit (is the ISA cut short?)",
            offset,
            element,
            "026" if element == "ISA" else "027",
        )
    return char


def _in(char: str, encoding: str, offset: int) -> str:
    """A delimiter (read as latin-1: one byte, one character) as the character it is among
    values of ``encoding``, so that splitting decoded values on it splits them where its byte is."""
    if char < "\x80":
        return char
    try:
        text = char.encode("latin-1").decode(encoding)
    except UnicodeDecodeError:
        text = ""
    if len(text) != 1:
        raise _broken(
            f"the delimiter byte 0x{ord(char):02X} is no character of {encoding} on its own: "
            "read the file with its single-byte encoding",
            offset,
        )
    return text


def parse_isa(head: bytes, offset: int, encoding: str = "utf-8") -> Interchange:
    """The interchange header from the bytes at ``offset``; ``head`` holds at least the ISA;
    ``encoding`` the values', in which the delimiters must be characters of their own.

    Raises :class:`X12Error` (fatal: without delimiters nothing after can be read) when it
    is not a whole fixed-width ISA with usable delimiters.
    """
    if not head.startswith(b"ISA"):
        found = segment_id_at(head)
        raise _broken(f"expected an ISA segment, found {found}: an interchange starts with ISA", offset, found=found)
    text = head[:ISA_LENGTH].decode("latin-1")
    if len(text) < 4:
        raise _broken("the data ends inside the ISA segment", offset, code="023")
    sep = _delimiter(text[3], "element separator (byte 3 of ISA)", offset, "ISA")
    values = []
    for i, (start, width) in enumerate(zip(_STARTS, ISA_WIDTHS), 1):
        value, after = text[start : start + width], start + width
        if len(value) < width or (i < len(ISA_WIDTHS) and text[after : after + 1] != sep):
            got = text[start:].split(sep, 1)[0] if i < len(ISA_WIDTHS) else value
            ends = " and the data ends inside it" if len(text) < after else ""
            raise _broken(
                f"ISA{i:02d} is {got!r} ({len(got)} characters), {width} expected: the ISA is fixed width{ends}",
                offset,
                f"ISA{i:02d}",
            )
        values.append(value)
    if len(text) < ISA_LENGTH:
        raise _broken("no segment terminator after ISA16: the data ends there", offset, "ISA16", "023")
    sub = _delimiter(values[15], "sub-element separator (ISA16)", offset, "ISA16")
    term = text[ISA_LENGTH - 1]
    if term.isalnum() or term == " ":
        raise _broken(
            f"the segment terminator (the byte after ISA16) is {term!r}, a letter, digit or space: "
            "the ISA has no segment terminator",
            offset,
            "ISA16",
        )
    version = values[11]
    repetition = None
    if version >= _REPETITION_FROM and values[10] != "U":  # U (the old standards id): no repeats sent
        repetition = _delimiter(values[10], "repetition separator (ISA11)", offset, "ISA11")
    used = [c for c in (sep, sub, repetition, term) if c is not None]
    if len(set(used)) != len(used):
        raise _broken(
            f"the delimiters are not distinct: element {sep!r}, sub-element {sub!r}, "
            f"repetition {repetition!r}, segment {term!r}",
            offset,
        )
    sep, sub, term = (_in(c, encoding, offset) for c in (sep, sub, term))
    if repetition is not None:
        repetition = values[10] = _in(repetition, encoding, offset)
    values[15] = sub
    following = head[ISA_LENGTH : ISA_LENGTH + 2]
    if term in "\r\n":  # a line end as the terminator: "\r\n" when CR is it
        line_break = "\n" if term == "\r" and following[:1] == b"\n" else ""
    else:
        line_break = "\r\n" if following.startswith(b"\r\n") else "\n" if following[:1] == b"\n" else ""
    delimiters = Delimiters(sep, sub, repetition, term, line_break)
    return Interchange(
        sender_qualifier=values[4],
        sender=values[5].strip(),
        receiver_qualifier=values[6],
        receiver=values[7].strip(),
        date=values[8],
        time=values[9],
        version=version,
        control=values[12],
        usage=values[14],
        delimiters=delimiters,
        offset=offset,
        ack_requested=values[13],
        header=("ISA", *values),
    )
