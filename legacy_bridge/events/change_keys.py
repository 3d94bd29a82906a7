"""Keys and hashes of change detection: an order-preserving byte encoding of keys (the
snapshot is read back from the state store in the source's key order) and row hashes."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import orjson

from legacy_bridge.errors import KeyOrderError
from legacy_bridge.formats.jsonio import json_default

_SMALL = 1 << 63


def _int(n: int) -> bytes:
    if -_SMALL <= n < _SMALL:  # the common case: 8 bytes, offset so negatives sort first
        return b"\x03" + (n + _SMALL).to_bytes(8, "big")
    digits = str(abs(n)).encode()
    if n > 0:  # beyond 64 bits: longer is larger
        return b"\x04" + len(digits).to_bytes(2, "big") + digits
    # very negative: longer is smaller, and digits are complemented
    return b"\x02" + (65535 - len(digits)).to_bytes(2, "big") + bytes(0x69 - d for d in digits)


def _text(s: str) -> bytes:
    # 0x00 is escaped so the terminator 0x00 0x01 sorts below any continuation
    return b"\x05" + s.encode("utf-8", "surrogatepass").replace(b"\x00", b"\x00\xff") + b"\x00\x01"


def _bool(v: bool) -> bytes:
    return b"\x01" + (b"1" if v else b"0")


def _decimal(v: Decimal) -> bytes:
    if v != v.to_integral_value():
        raise KeyOrderError("a key with decimal places cannot be diffed in key order")
    return _int(int(v))


def _datetime(v: dt.datetime) -> bytes:
    if v.tzinfo is not None:
        v = v.astimezone(dt.UTC).replace(tzinfo=None)
    return b"\x06" + v.strftime("%Y-%m-%dT%H:%M:%S.%f").encode().rjust(26, b"0")


_ENCODERS: dict[type, Callable[[Any], bytes]] = {
    bool: _bool,
    int: _int,
    Decimal: _decimal,
    str: _text,
    dt.datetime: _datetime,
    dt.date: lambda v: b"\x07" + v.isoformat().encode(),
    dt.time: lambda v: b"\x08" + v.strftime("%H:%M:%S.%f").encode(),
}


def _encode(v: Any) -> bytes:
    encode = _ENCODERS.get(type(v))
    if encode is None:
        raise KeyOrderError(f"a key of type {type(v).__name__} cannot be diffed in key order")
    return encode(v)


def encode_key(values: tuple) -> bytes:
    """Bytes whose order is the tuple's order (ints, text, dates, times, bools)."""
    return b"".join([_encode(v) for v in values])


def key_encoder(names: list[str]) -> Callable[[dict[str, Any]], bytes]:
    """``encode_key`` of a record's key fields; the one-field case without a tuple (hot loop)."""
    if len(names) == 1:
        name, get = names[0], _ENCODERS.get

        def one(record: dict[str, Any]) -> bytes:
            value = record[name]
            encode = get(type(value))
            return encode(value) if encode is not None else _encode(value)

        return one
    return lambda record: b"".join([_encode(record[n]) for n in names])


def row_hash(record: dict[str, Any]) -> bytes:
    """blake2b (16 bytes) of the record's canonical JSON (fields in mapping order, Decimals
    as text): changing a resource's fields makes the next scan report its rows as updated."""
    return hashlib.blake2b(orjson.dumps(record, default=json_default), digest_size=16).digest()
