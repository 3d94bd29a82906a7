"""JSON encoding for records: orjson, with Decimals as strings (no float rounding) and bytes
in base64 (RFC 4648, padded: OpenAPI's ``format: byte``)."""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

import orjson


def json_default(value: Any) -> Any:
    """What orjson cannot encode by itself: decimals and bytes."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=json_default)
