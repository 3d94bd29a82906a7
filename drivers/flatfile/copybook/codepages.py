"""Code pages for copybook data: byte -> character tables and the digit/sign tables derived from them.

EBCDIC cp037, cp500, cp1047 (built from cp037: Python has no cp1047 codec) and ASCII;
any other single-byte codec Python knows works too. Control characters count as bad
code points in text fields.
"""

from __future__ import annotations

import codecs
from functools import lru_cache

__all__ = ["CodePage", "codepage"]

# cp1047 differs from cp037 in these positions (IBM's published tables)
_CP1047 = {0x5F: "^", 0xAD: "[", 0xB0: "¬", 0xBA: "Ý", 0xBB: "¨", 0xBD: "]", 0x15: "\n", 0x25: "\x85"}
_ALIASES = {"ebcdic": "cp037", "ibm037": "cp037", "ibm500": "cp500", "ibm1047": "cp1047", "us-ascii": "ascii"}


class CodePage:
    """The tables a decoder needs for one code page."""

    def __init__(self, name: str) -> None:
        name = _ALIASES.get(name.lower(), name.lower())
        self.name = name
        if name == "cp1047":
            chars = list(bytes(range(256)).decode("cp037"))
            for b, c in _CP1047.items():
                chars[b] = c
        else:
            try:
                codecs.lookup(name)
            except LookupError:
                raise ValueError(f"unknown code page {name!r}; e.g. cp037, cp500, cp1047, ascii") from None
            chars = [bytes([b]).decode(name, errors="replace") for b in range(256)]
        #: character of each byte, None where the byte is undefined or a control character
        self.chars: list[str | None] = [
            None if (c == "\ufffd" or ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F) else c for c in chars
        ]
        self.ebcdic = chars[0xF0] == "0"
        self.latin1 = all(c is None or ord(c) < 256 for c in self.chars)
        self.encode_map = {c: b for b, c in enumerate(self.chars) if c is not None}
        self.space = self.encode_map[" "]
        self.plus, self.minus = self.encode_map["+"], self.encode_map["-"]
        self.digit_bytes = [self.encode_map[str(d)] for d in range(10)]

    def text_table(self, bad: int) -> bytes:
        """translate() table: byte -> its latin-1 byte, ``bad`` for bad code points.

        Byte 0x00 (low-values, the usual padding of mainframe text) reads as a space.
        """
        return bytes(0x20 if b == 0 else bad if c is None else ord(c) for b, c in enumerate(self.chars))

    def digit_table(self) -> bytes:
        """translate() table: digit byte -> ASCII digit, anything else -> '!' (int() refuses it)."""
        t = bytearray(b"!" * 256)
        for d, b in enumerate(self.digit_bytes):
            t[b] = 0x30 + d
        return bytes(t)

    def overpunch(self) -> tuple[list[int | None], list[int]]:
        """(digit, sign) of a byte holding a digit and an overpunched sign; digit None if invalid."""
        val: list[int | None] = [None] * 256
        sign = [1] * 256
        for d, b in enumerate(self.digit_bytes):
            val[b] = d
        if self.ebcdic:
            pos = [0xC0 + d for d in range(10)]
            neg = [0xD0 + d for d in range(10)]
        else:
            pos = [ord(c) for c in "{ABCDEFGHI"]
            neg = [ord(c) for c in "}JKLMNOPQR"]
        for d in range(10):
            val[pos[d]] = d
            val[neg[d]] = d
            sign[neg[d]] = -1
        return val, sign

    def overpunch_byte(self, digit: int, negative: bool) -> int:
        if self.ebcdic:
            return (0xD0 if negative else 0xC0) + digit
        return ord(("}JKLMNOPQR" if negative else "{ABCDEFGHI")[digit])


@lru_cache(maxsize=32)
def codepage(name: str) -> CodePage:
    return CodePage(name)
