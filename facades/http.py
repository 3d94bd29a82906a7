"""What every facade needs of HTTP, once: JSON answers, the next page's link, integer arguments."""

from __future__ import annotations

from typing import Any, overload
from urllib.parse import urlencode

from flask import Response, request

from legacy_bridge.errors import InvalidInput
from legacy_bridge.formats.jsonio import dumps


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """``body`` (already encoded bytes, or data to encode) as application/json."""
    return Response(
        body if isinstance(body, bytes) else dumps(body), status=status, mimetype="application/json", headers=headers
    )


def next_link(cursor: str) -> str:
    """``Link`` header value of the next page: this request's URL with ``cursor`` replaced."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "cursor"]
    return f'<{request.base_url}?{urlencode(args + [("cursor", cursor)])}>; rel="next"'


@overload
def integer_arg(name: str, default: int, low: int, high: int | None = None, slug: str | None = None) -> int: ...
@overload
def integer_arg(name: str, default: None, low: int, high: int | None = None, slug: str | None = None) -> int | None: ...
def integer_arg(
    name: str, default: int | None, low: int, high: int | None = None, slug: str | None = None
) -> int | None:
    """The query argument ``name`` as an integer from ``low`` to ``high`` (ASCII digits only),
    or ``default`` when it is absent."""
    text = request.args.get(name)
    if text is None:
        return default
    if not (text.isascii() and text.isdigit()) or int(text) < low or (high is not None and int(text) > high):
        raise InvalidInput(
            f"{name} must be an integer from {low}" + (f" to {high}" if high else "") + f", got {text!r}",
            parameter=name,
            slug=slug,
        )
    return int(text)
