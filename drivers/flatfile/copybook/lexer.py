"""A copybook's text as sentences of words: fixed format (sequence numbers in columns 1-6,
indicator in 7, code in 8-72) or free format, detected per copybook; comments, control
characters and inline ``*>`` comments dropped.  The parser (:mod:`.parse`) reads the sentences.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

__all__ = ["source_lines", "sentences", "literal"]

_TOKEN = re.compile(r"""'[^']*'\.?|"[^"]*"\.?|[^\s]+""")


def source_lines(text: str) -> list[tuple[int, str]]:
    """Code area of each line, comments dropped, with its line number."""
    # control characters (a DOS end-of-file ^Z, form feeds) are not part of the source
    text = text.translate({c: None for c in range(32) if c not in (9, 10, 13)})
    raw = [ln.expandtabs(8).rstrip("\r\n") for ln in text.splitlines()]
    fixed = all(not ln[:6].strip() or ln[:6].strip().isdigit() for ln in raw if ln.strip())
    out = []
    for no, ln in enumerate(raw, 1):
        if fixed:
            if len(ln) > 6 and ln[6] in "*/":
                continue
            code = ln[7:72] if len(ln) > 6 and ln[6] in " -Dd" else ln[6:72]
        else:
            if ln.lstrip().startswith("*"):
                continue
            code = ln
        code = code.split("*>", 1)[0]
        if code.strip():
            out.append((no, code))
    return out


def sentences(text: str) -> Iterator[tuple[int, list[str]]]:
    """The sentences of the code area (words up to a period), each with its first line's number."""
    words: list[str] = []
    first = 0
    for no, code in source_lines(text):
        for tok in _TOKEN.findall(code):
            if not words:
                first = no
            if tok.endswith("."):
                if len(tok) > 1:
                    words.append(tok[:-1])
                yield first, words
                words = []
            else:
                words.append(tok)
    if words:
        yield first, words


def literal(tok: str) -> Any:
    """A VALUE clause's word as a value: a quoted string, SPACES, ZEROS, a number, else the word."""
    if tok[:1] in "'\"":
        return tok[1:-1]
    up = tok.upper()
    if up in ("SPACE", "SPACES"):
        return " "
    if up in ("ZERO", "ZEROS", "ZEROES"):
        return 0
    try:
        return int(tok)
    except ValueError:
        try:
            return Decimal(tok)
        except ArithmeticError:
            return tok
