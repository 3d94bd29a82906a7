"""The inverse of the decoder: a tuple in ``Layout.columns`` order -> record bytes.

Used by round-trip property tests and by generators of demo and test data. FILLER is
written as spaces; None writes spaces for DISPLAY fields and zero for binary/packed ones.
Fields under a REDEFINES share bytes: a None there leaves them to the other view,
otherwise the later field in ``columns`` wins.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from legacy_bridge.drivers.flatfile.copybook.codepages import CodePage, codepage
from legacy_bridge.drivers.flatfile.copybook.parse import Field, Layout

__all__ = ["EncodeError", "make_encoder", "ibm_float_bytes"]


class EncodeError(ValueError):
    """A value its field cannot hold as given (too long, a character the code page lacks, a
    number past its PIC); ``field`` names the copybook column."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


def ibm_float_bytes(value: float, size: int) -> bytes:
    """A float as IBM hexadecimal floating point of ``size`` (4 or 8) bytes (truncated)."""
    frac_bits = size * 8 - 8
    if value == 0:
        return bytes(size)
    sign = 0x80 if value < 0 else 0
    m, e = math.frexp(abs(value))  # value = m * 2**e, 0.5 <= m < 1
    exp16 = -(-e // 4)  # ceil(e / 4): m * 2**e = f * 16**exp16, f < 1
    frac = int(m * 2.0 ** (e - 4 * exp16) * (1 << frac_bits))
    exp16 += 64
    if not 0 <= exp16 <= 127:
        raise OverflowError(f"{value} is outside the IBM float range")
    return bytes([sign | exp16]) + frac.to_bytes(size - 1, "big")


def _unscaled(f: Field, value: Any) -> int:
    if f.scale > 0:
        d = Decimal(value).scaleb(f.scale)
    elif f.scale < 0:
        d = Decimal(value).scaleb(f.scale)
    else:
        d = Decimal(value)
    if d != d.to_integral_value():
        raise ValueError(f"{f.name}: {value} has more decimals than PIC {f.pic}")
    n = int(d)
    if n < 0 and not f.signed:
        raise ValueError(f"{f.name}: {value} is negative, PIC {f.pic} is unsigned")
    if len(str(abs(n))) > f.digits and f.usage != "binary":
        raise ValueError(f"{f.name}: {value} has more than {f.digits} digits")
    return n


def _edited(f: Field, n: int, cp: CodePage) -> str:
    pic = (f.edited or "").replace("V", "").replace("P", "")
    digits = str(abs(n)).rjust(sum(c in "9Z*" for c in pic), "0")
    out, k, leading = [], 0, True
    for pos, c in enumerate(pic):
        if c in "9Z*":
            d = digits[k]
            k += 1
            if d != "0" or c == "9" or "." in pic[:pos]:
                leading = False
            out.append(d if not leading else {"9": d, "Z": " ", "*": "*"}[c])
        elif c == "+":
            out.append("-" if n < 0 else "+")
        elif c == "-":
            out.append("-" if n < 0 else " ")
        elif c in "CD":
            out.append(("CR" if c == "C" else "DB") if n < 0 else "  ")
        elif c in "RB":
            continue
        elif c == ",":
            out.append(" " if leading else ",")
        else:
            out.append(c)
    return "".join(out)


def _field_bytes(f: Field, value: Any, cp: CodePage, fp: str) -> bytes:
    if f.type == "text":
        s = "" if value is None else str(value)
        if len(s) > f.length:
            raise ValueError(f"{f.name}: {len(s)} characters, the field holds {f.length}")
        try:
            return bytes(cp.encode_map[c] for c in s.ljust(f.length))
        except KeyError as exc:
            raise ValueError(f"{f.name}: character {exc.args[0]!r} is not in code page {cp.name}") from None
    if f.usage == "float":
        v = 0.0 if value is None else float(value)
        if fp == "ibm":
            return ibm_float_bytes(v, f.length)
        return struct.pack(">f" if f.length == 4 else ">d", v)
    if value is None and f.usage == "display":
        return bytes([cp.space]) * f.length
    n = 0 if value is None else _unscaled(f, value)
    if f.usage == "binary":
        try:
            return n.to_bytes(f.length, "big", signed=f.signed)
        except OverflowError:
            raise ValueError(f"{f.name}: {value} does not fit the {f.length} bytes of PIC {f.pic} COMP") from None
    if f.usage == "packed":
        nib = "d" if n < 0 else ("c" if f.signed else "f")
        return bytes.fromhex(str(abs(n)).rjust(2 * f.length - 1, "0") + nib)
    if f.edited:
        out = bytearray(cp.encode_map[c] for c in _edited(f, n, cp))
        if f.signed and not f.sign_separate and not any(m in f.edited for m in ("+", "-", "CR", "DB")):
            k = 0 if f.sign == "leading" else -1  # S9(6).99: overpunch the end digit
            out[k] = cp.overpunch_byte(out[k] - cp.digit_bytes[0], n < 0)
        return bytes(out)
    width = f.digits
    body = [cp.digit_bytes[int(c)] for c in str(abs(n)).rjust(width, "0")]
    if f.signed:
        if f.sign_separate:
            sign = cp.minus if n < 0 else cp.plus
            body = [sign] + body if f.sign == "leading" else body + [sign]
        else:
            k = 0 if f.sign == "leading" else -1
            body[k] = cp.overpunch_byte(body[k] - cp.digit_bytes[0], n < 0)
    return bytes(body)


def make_encoder(layout: Layout, codepage_name: str = "cp037", floating_point: str = "ibm") -> Callable[[tuple], bytes]:
    """``encode(values) -> bytes`` for ``layout`` (values in ``layout.columns`` order)."""
    cp = codepage(codepage_name)
    fields = layout.fields
    blank = bytes([cp.space]) * layout.record_length

    def encode(values: tuple) -> bytes:
        if len(values) != len(fields):
            raise ValueError(f"{len(values)} values for {len(fields)} columns")
        rec = bytearray(blank)
        for f, v in zip(fields, values):
            if v is None and f.redefined:
                continue  # leave the bytes to the view that has a value
            try:
                rec[f.offset : f.offset + f.length] = _field_bytes(f, v, cp, floating_point)
            except (ValueError, ArithmeticError, TypeError, struct.error) as exc:
                reason = str(exc).removeprefix(f"{f.name}: ")
                raise EncodeError(f.name, reason) from None
        return bytes(rec)

    return encode
