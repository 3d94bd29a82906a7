"""Which record format a data file has, from its first bytes: ``VB`` when block descriptor words
(BDW) each hold a chain of record descriptor words (RDW) ending exactly at the block's end, ``V``
when RDWs chain from the start, ``F`` when neither does and the size is a multiple of the record
length.  A descriptor word is a big-endian length (at least 4, counting itself) and two zero bytes.
"""

from __future__ import annotations

__all__ = ["detect", "looks_like", "SAMPLE"]

SAMPLE = 1 << 16  # bytes read to decide; a chain that runs off the sample still counts
_DESCRIBED = {
    "VB": "block descriptor words (BDW), each holding record descriptor words (RDW)",
    "V": "record descriptor words (RDW), no block descriptor words",
    "F": "no descriptor words; fixed-length records",
}


def _word(data: bytes, at: int) -> int | None:
    """The length in a descriptor word at ``at``, or None when the bytes are not one."""
    if at + 4 > len(data) or data[at + 2 : at + 4] != b"\0\0":
        return None
    length = int.from_bytes(data[at : at + 2], "big")
    return length if length > 4 else None


def _chain(data: bytes, start: int, end: int) -> int | None:
    """How many RDWs chain from ``start`` to exactly ``end`` (or off the sample); None if broken."""
    at, count = start, 0
    while at < min(end, len(data)):
        length = _word(data, at)
        if length is None:
            return None if at + 4 <= len(data) else count  # a word cut by the sample's end
        at, count = at + length, count + 1
    return count if at == end or at >= len(data) else None


def _blocked(data: bytes, size: int) -> bool:
    at, blocks = 0, 0
    while at < len(data) and blocks < 50:
        length = _word(data, at)
        if length is None or not _chain(data, at + 4, at + length):
            return at >= len(data) - 4 and blocks > 0
        at, blocks = at + length, blocks + 1
    return blocks > 0 and (at >= len(data) or at == size)


def detect(data: bytes, size: int, record_length: int) -> tuple[str | None, str]:
    """(``F``/``V``/``VB`` or None, what the bytes look like) for a file of ``size`` bytes
    starting with ``data``."""
    if _blocked(data, size):
        return "VB", _DESCRIBED["VB"]
    if _chain(data, 0, size if size <= len(data) else len(data) + 1):
        return "V", _DESCRIBED["V"]
    if record_length and size % record_length == 0:
        return "F", _DESCRIBED["F"] + f" ({size // record_length} x {record_length} bytes)"
    return None, f"neither descriptor words nor a multiple of the record length {record_length} ({size} bytes)"


def looks_like(record_format: str) -> str:
    """What a file of ``record_format`` holds (for messages)."""
    return _DESCRIBED[record_format]
