"""Opaque, signed keyset cursors.

A cursor holds the legacy values of the last row's sort columns and a fingerprint of
the query it belongs to (resource, filters, sort).  It is signed, so a tampered
cursor, or one taken from another resource or another query, is refused with a 400.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

from legacy_bridge.errors import InvalidInput

_TAGS: dict[type, str] = {
    bool: "b",
    int: "i",
    float: "f",
    str: "s",
    Decimal: "n",
    dt.datetime: "t",
    dt.date: "d",
    dt.time: "h",
    bytes: "x",
}
_READ: dict[str, Callable[[Any], Any]] = {
    "b": bool,
    "i": int,
    "f": float,
    "s": str,
    "n": Decimal,
    "t": dt.datetime.fromisoformat,
    "d": dt.date.fromisoformat,
    "h": dt.time.fromisoformat,
    "x": base64.urlsafe_b64decode,
}


def tag_value(value: Any) -> Any:
    """A legacy value as JSON that keeps its type (a Decimal stays a Decimal): ``[tag, text]``."""
    if value is None:
        return None
    tag = _TAGS.get(type(value))
    if tag is None:
        raise TypeError(f"cannot put a {type(value).__name__} in a cursor")
    if tag == "x":
        return [tag, base64.urlsafe_b64encode(value).decode()]
    if tag in ("t", "d", "h"):
        return [tag, value.isoformat()]
    return [tag, str(value) if tag == "n" else value]


def untag_value(item: Any) -> Any:
    """The inverse of :func:`tag_value`."""
    if item is None:
        return None
    tag, raw = item
    return _READ[tag](raw)


def fingerprint(*parts: Any) -> str:
    return hashlib.blake2b(repr(parts).encode(), digest_size=8).hexdigest()


class CursorCodec:
    """Signs and reads cursors for one deployment (one secret)."""

    def __init__(self, secret: str) -> None:
        self._signer = URLSafeSerializer(secret, salt="legacy-bridge.cursor")

    def dump(self, query_id: str, values: tuple) -> str:
        return self._signer.dumps([query_id, [tag_value(v) for v in values]])

    def load(self, token: str, query_id: str, width: int) -> tuple:
        """The values in ``token``; a 400 unless it is ours and belongs to this query."""
        try:
            found_id, items = self._signer.loads(token)
            values = tuple(untag_value(i) for i in items)
        except BadSignature:
            raise InvalidInput(
                "the cursor is not one this service issued (tampered or truncated)",
                parameter="cursor",
                slug="invalid-cursor",
            ) from None
        except (ValueError, TypeError, KeyError, ArithmeticError):  # Decimal("x") is an ArithmeticError
            raise InvalidInput("the cursor cannot be read", parameter="cursor", slug="invalid-cursor") from None
        if found_id != query_id or len(values) != width:
            raise InvalidInput(
                "the cursor belongs to another resource or to other filters or sort; start again without it",
                parameter="cursor",
                slug="invalid-cursor",
            )
        return values
