"""Record decoder generated once per layout: one Python function returning a tuple of slices.

The fast path has no per-field checks: every invalid input makes the expression itself
fail (``int()`` refuses the '!' that bad digits translate to, an unknown packed sign is a
KeyError, a bad overpunch is None in arithmetic, a bad code point translates to NUL).
Any failure re-decodes the record field by field to name the field, the offset and the
reason (strict) or to put None in the bad fields (lenient).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from decimal import Context, Decimal
from functools import lru_cache
from typing import Any

from legacy_bridge.drivers.flatfile.copybook.codepages import codepage
from legacy_bridge.drivers.flatfile.copybook.parse import Field, Layout

__all__ = ["DECODE_FAILURES", "Expressions", "RecordError", "failure_reason", "make_decoder", "ibm_float"]


class RecordError(Exception):
    """A record (or one of its fields) cannot be decoded."""

    def __init__(self, reason: str, field: str | None = None, offset: int | None = None) -> None:
        where = f" in {field}" if field else ""
        at = f" at byte {offset}" if offset is not None else ""
        super().__init__(f"{reason}{where}{at}")
        self.reason, self.field, self.offset = reason, field, offset


_CTX = Context(prec=80)  # wide enough for any PIC: scaling stays exact
_SIGNED = {"c": 1, "d": -1, "f": 1, "a": 1, "b": -1, "e": 1}
_UNSIGNED = {"f": 1, "c": 1}
DECODE_FAILURES = (ValueError, KeyError, TypeError, IndexError, ArithmeticError, struct.error)


def ibm_float(raw: bytes) -> float:
    """IBM hexadecimal floating point (COMP-1: 4 bytes, COMP-2: 8 bytes) to float."""
    n = int.from_bytes(raw, "big")
    bits = len(raw) * 8
    sign = -1.0 if n >> (bits - 1) else 1.0
    exp = (n >> (bits - 8)) & 0x7F
    frac = n & ((1 << (bits - 8)) - 1)
    return sign * frac / float(1 << (bits - 8)) * 16.0 ** (exp - 64)


class Expressions:
    """Builds one expression per field; names used by the expressions go into ``ns``."""

    def __init__(self, codepage_name: str, floating_point: str, strict: bool, trim: str) -> None:
        if floating_point not in ("ibm", "ieee"):
            raise ValueError("floating_point must be 'ibm' or 'ieee'")
        if trim not in ("right", "both", "none"):
            raise ValueError("trim must be 'right', 'both' or 'none'")
        cp = self.cp = codepage(codepage_name)
        self.fp, self.strict, self.trim = floating_point, strict, trim
        val, sign = cp.overpunch()
        self.ns: dict[str, Any] = {
            "_T": cp.text_table(0 if strict else 0x20),
            "_Z": cp.digit_table(),
            "_OV": val,
            "_OS": sign,
            "_D": Decimal,
            "_CTX": _CTX,
            "_PS": _SIGNED,
            "_PU": _UNSIGNED,
            "_ibm": ibm_float,
            "_SEP": {cp.plus: 1, cp.minus: -1},
        }
        self.uses_hex = False

    def name(self, prefix: str, obj: Any) -> str:
        key = f"{prefix}{len(self.ns)}"
        self.ns[key] = obj
        return key

    def scaled(self, expr: str, f: Field) -> str:
        if f.scale > 0 and f.digits <= 28:
            # int * 10**-scale is exact within the default 28-digit context, and faster
            return f"_D({expr}) * {self.name('_S', Decimal(1).scaleb(-f.scale))}"
        if f.scale > 0:
            return f"_D({expr}).scaleb({-f.scale}, _CTX)"
        if f.scale < 0:
            return f"({expr}) * {10**-f.scale}"
        return expr

    def expr(self, f: Field, at: str = "") -> str:
        """The value of ``f``; ``at`` ("p3+") makes its offset relative to a position variable."""
        a, b = f"{at}{f.offset}", f"{at}{f.offset + f.length}"
        if f.usage == "float":
            if self.fp == "ibm":
                return f"_ibm(r[{a}:{b}])"
            fmt = self.name("_F", struct.Struct(">f" if f.length == 4 else ">d").unpack_from)
            return f"{fmt}(r, {a})[0]"
        if f.usage == "binary":
            if f.length in (2, 4, 8):
                code = {2: "h", 4: "i", 8: "q"}[f.length]
                fmt = self.name("_B", struct.Struct(">" + (code if f.signed else code.upper())).unpack_from)
                return self.scaled(f"{fmt}(r, {a})[0]", f)
            return self.scaled(f"int.from_bytes(r[{a}:{b}], 'big', signed={f.signed})", f)
        if f.usage == "packed" and f.length <= 2:
            # every valid 1- or 2-byte packed value in one dict: a slice and a lookup
            return self.name("_P", _packed_table(f.length, f.signed, f.scale)) + f"[r[{a}:{b}]]"
        if f.usage == "packed":
            self.uses_hex = True
            signs = "_PS" if f.signed else "_PU"
            nib = (lambda n: f"2*({at}0)+{n}") if at else str  # hex digit n of the field's bytes
            first, last = nib(2 * f.offset), nib(2 * (f.offset + f.length) - 1)
            return self.scaled(f"{signs}[h[{last}]] * int(h[{first}:{last}])", f)
        if f.edited:
            return f"{self.name('_E', _edited_parser(f, self.cp))}(r, {at}0)"
        return self.scaled(self.zoned(f, at), f)

    def zoned(self, f: Field, at: str = "") -> str:
        a, b, n = f.offset, f.offset + f.length, f.length
        if not f.signed:
            return f"int(r[{at}{a}:{at}{b}].translate(_Z))"
        if f.sign_separate:
            if f.sign == "leading":
                return f"_SEP[r[{at}{a}]] * int(r[{at}{a + 1}:{at}{b}].translate(_Z))"
            return f"_SEP[r[{at}{b - 1}]] * int(r[{at}{a}:{at}{b - 1}].translate(_Z))"
        if f.sign == "leading":
            rest = f" * {10 ** (n - 1)} + int(r[{at}{a + 1}:{at}{b}].translate(_Z))" if n > 1 else ""
            return f"_OS[r[{at}{a}]] * (_OV[r[{at}{a}]]{rest})"
        head = f"int(r[{at}{a}:{at}{b - 1}].translate(_Z)) * 10 + " if n > 1 else ""
        return f"_OS[r[{at}{b - 1}]] * ({head}_OV[r[{at}{b - 1}]])"


@lru_cache(maxsize=16)
def _packed_table(length: int, signed: bool, scale: int) -> dict[bytes, Any]:
    table: dict[bytes, Any] = {}
    for n in range(10 ** (2 * length - 1)):
        digits = str(n).rjust(2 * length - 1, "0")
        for nib, sign in (_SIGNED if signed else _UNSIGNED).items():
            v: int | Decimal = sign * n
            if scale > 0:
                v = Decimal(v).scaleb(-scale, _CTX)
            elif scale < 0:
                v *= 10**-scale
            table[bytes.fromhex(digits + nib)] = v
    return table


def _edited_parser(f: Field, cp) -> Callable[[bytes], Any]:
    """Edited numerics (+9(8), Z(6)VZZ-, 9(6).99-): strip, read the sign, the rest must be digits."""
    table = cp.text_table(0)
    explicit = "." in (f.edited or "")
    pic = f.edited or ""
    overpunch = f.signed and not f.sign_separate and not any(m in pic for m in ("+", "-", "CR", "DB"))
    op_val, op_sign = cp.overpunch()
    suppressed = "9" not in pic

    def parse(r: bytes, at: int = 0) -> Any:
        raw = r[at + f.offset : at + f.offset + f.length]
        neg = False
        if overpunch:  # S9(3).99: the sign is punched over the last (or first) digit
            k = 0 if f.sign == "leading" else len(raw) - 1
            d = op_val[raw[k]]
            if d is None:
                raise ValueError("bad overpunched sign")
            neg = op_sign[raw[k]] < 0
            raw = raw[:k] + bytes([cp.digit_bytes[d]]) + raw[k + 1 :]
        s = raw.translate(table).decode("latin-1").strip()
        for mark, is_neg in (("+", False), ("-", True), ("CR", True), ("DB", True)):
            if s.startswith(mark) or s.endswith(mark):
                neg = is_neg
                s = s[len(mark) :] if s.startswith(mark) else s[: -len(mark)]
                break
        s = s.strip().replace(",", "").lstrip("*$")
        if not s and suppressed:
            s = "0"  # Z(8)-: zero prints as all spaces
        if explicit:
            if not s or not s.replace(".", "", 1).isdigit():
                raise ValueError("not a number")
            v = Decimal(s) if f.scale > 0 else int(s.split(".")[0])
        else:
            if not s.isdigit() or not s.isascii():
                raise ValueError("not a number")
            v = int(s)
            v = Decimal(v).scaleb(-f.scale, _CTX) if f.scale > 0 else v * 10 ** max(0, -f.scale)
        return -v if neg else v

    return parse


def failure_reason(f: Field, raw: bytes, cp) -> str:
    """Why a field failed the fast path (for RecordError)."""
    if f.type == "text":
        k = next((i for i, b in enumerate(raw) if b and cp.chars[b] is None), 0)
        return f"bad code point 0x{raw[k]:02X} at field byte {k}"
    if f.usage == "packed":
        h = raw.hex()
        nibble = next((i for i, c in enumerate(h[:-1]) if c > "9"), None)
        if nibble is not None:
            return f"bad packed digit nibble {h[nibble].upper()} at nibble {nibble}"
        return f"bad packed sign nibble {h[-1].upper()}"
    if f.usage == "display":
        k = next((i for i, b in enumerate(raw) if cp.chars[b] is None or not cp.chars[b].isdigit()), 0)
        what = "sign" if f.signed else "digit"
        return f"non-digit 0x{raw[k]:02X} ({what}?) in DISPLAY numeric at field byte {k}"
    return "undecodable value"


def make_decoder(
    layout: Layout, codepage_name: str = "cp037", floating_point: str = "ibm", strict: bool = True, trim: str = "right"
) -> Callable[[bytes], tuple]:
    """Compile ``layout`` into ``decode(record: bytes) -> tuple`` (see the module docstring)."""
    g = Expressions(codepage_name, floating_point, strict, trim)
    fields = layout.fields
    length = layout.record_length
    strip = {"right": ".rstrip()", "both": ".strip()", "none": ""}[trim]
    pre: list[str] = []
    exprs: list[str] = []
    texts: list[str] = []
    for i, f in enumerate(fields):
        if f.type == "text":
            pre.append(f"t{i} = r[{f.offset}:{f.offset + f.length}].translate(_T)")
            texts.append(f"t{i}")
            e = f"t{i}.decode('latin-1'){strip}"
        else:
            e = g.expr(f)
        exprs.append(e)
    # OCCURS DEPENDING ON: the count is decoded first; absent elements are None
    counts: dict[str, str] = {}
    index = {f.name: i for i, f in enumerate(fields)}
    for i, f in enumerate(fields):
        conds = []
        for dep, k in f.odo:
            if dep not in counts:
                counts[dep] = c = f"c{index[dep]}"
                top = max(k2 + 1 for g2 in fields for d2, k2 in g2.odo if d2 == dep)
                pre.append(f"{c} = {exprs[index[dep]]}")
                pre.append(f"if not 0 <= {c} <= {top}: raise ValueError")
            conds.append(f"{counts[dep]} > {k}")
        if conds:
            exprs[i] = f"({exprs[i]} if {' and '.join(conds)} else None)"
    for dep, var in counts.items():
        exprs[index[dep]] = var
    if g.uses_hex:
        pre.insert(0, "h = r.hex()")
    if strict and texts:
        pre.append(
            f"if b'\\0' in {' or '.join(texts) if len(texts) == 1 else '(' + ' + '.join(texts) + ')'}: raise ValueError"
        )
    body = "\n        ".join(pre) or "pass"
    tuple_src = ", ".join(exprs) + ("," if len(exprs) == 1 else "")
    src = (
        f"def decode(r):\n"
        f"    if len(r) < {length}:\n"
        f"        raise RecordError(f'truncated record: {{len(r)}} bytes, the layout needs {length}', None, len(r))\n"
        f"    try:\n        {body}\n        return ({tuple_src})\n"
        f"    except DECODE_FAILURES:\n        return _slow(r)\n"
    )
    singles = []
    for f in fields:
        if f.type == "text":
            raw = f"r[{f.offset}:{f.offset + f.length}].translate(_T)"
            e = f"{'_chk(' + raw + ')' if strict else raw}.decode('latin-1'){strip}"
        else:
            e = g.expr(f)
        singles.append(eval(f"lambda r, h: {e}", g.ns))  # noqa: S307 - our own generated source

    cp = g.cp
    blank_byte = cp.space

    def slow(r: bytes) -> tuple:
        h = r.hex()
        out: list[Any] = []
        value: dict[str, Any] = {}
        for i, f in enumerate(fields):
            if any(not isinstance(value.get(d), int) or value[d] <= k for d, k in f.odo):
                out.append(None)
                continue
            raw = r[f.offset : f.offset + f.length]
            try:
                v = singles[i](r, h)
            except DECODE_FAILURES:
                if f.type != "text" and f.usage == "display" and raw.count(blank_byte) == len(raw):
                    v = None  # an all-space numeric is "no value", as other readers read it
                elif strict:
                    raise RecordError(failure_reason(f, raw, cp), f.name, f.offset) from None
                else:
                    v = None
            value[f.name] = v
            out.append(v)
        for f in fields:
            if f.name in counts:
                limit = max((k + 1 for g2 in fields for d, k in g2.odo if d == f.name), default=0)
                if strict and not (isinstance(value[f.name], int) and 0 <= value[f.name] <= limit):
                    raise RecordError(f"OCCURS DEPENDING ON count {value[f.name]} outside 0..{limit}", f.name, f.offset)
        return tuple(out)

    def chk(b: bytes) -> bytes:
        if b"\0" in b:
            raise ValueError("bad code point")
        return b

    ns = dict(g.ns, RecordError=RecordError, DECODE_FAILURES=DECODE_FAILURES, _slow=slow, _chk=chk)
    g.ns["_chk"] = chk
    exec(compile(src, f"<copybook decoder {len(fields)} fields>", "exec"), ns)  # noqa: S102
    decode = ns["decode"]
    decode.source = src
    return decode
