"""PIC and USAGE of an elementary copybook item -> type, byte length, digits, scale, sign."""

from __future__ import annotations

import math
import re
from typing import Any

__all__ = ["CopybookError", "USAGES", "binary_size", "leaf_info"]


class CopybookError(ValueError):
    """The copybook cannot be parsed; the message names the line."""


USAGES = {
    "DISPLAY": "display",
    "COMP": "binary",
    "COMPUTATIONAL": "binary",
    "COMP-0": "binary",
    "COMP-4": "binary",
    "COMPUTATIONAL-4": "binary",
    "BINARY": "binary",
    "COMP-5": "binary",
    "COMPUTATIONAL-5": "binary",
    "COMP-3": "packed",
    "COMPUTATIONAL-3": "packed",
    "PACKED-DECIMAL": "packed",
    "COMP-1": "float4",
    "COMPUTATIONAL-1": "float4",
    "COMP-2": "float8",
    "COMPUTATIONAL-2": "float8",
}
REPEAT = re.compile(r"(.)\((\d+)\)")


def binary_size(digits: int) -> int:
    if digits <= 4:
        return 2
    if digits <= 9:
        return 4
    if digits <= 18:
        return 8
    return math.ceil((digits * math.log2(10) + 1) / 8)  # as Cobrix sizes wider binaries


def leaf_info(it: Any) -> dict:
    """Type, size and scale of an elementary item."""
    usage = it.usage or "display"
    if usage in ("float4", "float8"):
        return dict(type="float", usage="float", length=4 if usage == "float4" else 8, signed=True)
    if it.pic is None:
        raise CopybookError(f"line {it.line}: {it.name} has neither PIC nor children")
    pic = REPEAT.sub(lambda m: m.group(1) * int(m.group(2)), it.pic)
    if set(pic) <= set("XA9B0/") and set(pic) & set("XA"):
        if usage != "display":
            raise CopybookError(f"line {it.line}: {it.name}: text PIC with a numeric USAGE")
        return dict(type="text", usage="display", length=len(pic), pic=pic)
    if set(pic) - set("S9VP.+-Z*,CRDB$"):
        raise CopybookError(f"line {it.line}: {it.name}: unsupported PIC {it.pic}")
    signed = it.separate or "S" in pic or "+" in pic or "-" in pic or "CR" in pic or "DB" in pic
    edited = bool(set(pic) & set(".+-Z*,$")) or "CR" in pic or "DB" in pic
    body = pic.replace("S", "")
    positions = [c for c in body if c in "9ZP*V."]
    point = next((k for k, c in enumerate(positions) if c in "V."), None)
    positions = [c for c in positions if c not in "V."]
    if point is None:
        point = 0 if positions and positions[0] == "P" else len(positions)
    digit_idx = [k for k, c in enumerate(positions) if c != "P"]
    if not digit_idx:
        raise CopybookError(f"line {it.line}: {it.name}: PIC {it.pic} has no digits")
    digits = len(digit_idx)
    scale = (digit_idx[-1] + 1) - point
    info = dict(
        type="decimal" if scale > 0 else "int",
        signed=signed,
        digits=digits,
        scale=scale,
        pic=pic,
        sign=it.sign or "trailing",
        sign_separate=it.separate,
    )
    if edited:
        if usage != "display":
            raise CopybookError(f"line {it.line}: {it.name}: edited PIC needs USAGE DISPLAY")
        return dict(info, usage="display", length=len(body.replace("V", "").replace("P", "")), edited=body)
    if usage == "packed":
        return dict(info, usage="packed", length=digits // 2 + 1)
    if usage == "binary":
        return dict(info, usage="binary", length=binary_size(digits))
    return dict(info, usage="display", length=digits + (1 if it.separate and signed else 0))
