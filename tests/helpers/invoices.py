"""Invoices with an OCCURS DEPENDING ON table of lines and a total after it: the copybook, and
generated files of any size in V, VB (each record as long as its lines) or F (padded)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from legacy_bridge.drivers.flatfile.copybook import make_encoder, parse_copybook

INVOICE = """\
       01  INVOICE.
           05  INV-NO          PIC 9(6).
           05  LINE-COUNT      PIC 9(2).
           05  LINES OCCURS 0 TO 3 TIMES DEPENDING ON LINE-COUNT.
               10  ITEM-SKU    PIC X(4).
               10  ITEM-QTY    PIC S9(3) COMP-3.
           05  TOTAL           PIC S9(5)V99 COMP-3.
"""
HEAD, LINE, MAX_LINES = 8, 6, 3  # bytes before the table, bytes of one line


def invoice(no: int) -> dict:
    """Invoice ``no`` as the resource of the tests maps it (lines: 0 to 3 of them)."""
    lines = [{"sku": f"S{(no + k) % 1000:03d}", "qty": (no * 7 + k) % 1999 - 999} for k in range(no % 4)]
    return {"no": no, "total": str(Decimal(no % 10_000_000).scaleb(-2)), "lines": lines}


def records(n: int, padded: bool = False) -> list[bytes]:
    """Invoices 1..n as records: each as long as its lines, or ``padded`` to the maximum."""
    encode = make_encoder(parse_copybook(INVOICE), "cp037")
    out = []
    for no in range(1, n + 1):
        inv = invoice(no)
        values: list = [no, len(inv["lines"])]
        for k in range(MAX_LINES):
            line = inv["lines"][k] if k < len(inv["lines"]) else None
            values += [line["sku"], line["qty"]] if line else [None, None]
        rec = encode((*values, Decimal(inv["total"])))
        out.append(rec if padded else rec[: HEAD + len(inv["lines"]) * LINE] + rec[HEAD + MAX_LINES * LINE :])
    return out


def write(path: Path, n: int, record_format: str, per_block: int = 40) -> None:
    """Invoices 1..n in ``record_format``: V (an RDW each), VB (blocks of ``per_block``), F (padded)."""
    recs = records(n, padded=record_format == "F")
    if record_format == "F":
        path.write_bytes(b"".join(recs))
        return
    with_rdw = [(len(r) + 4).to_bytes(2, "big") + b"\0\0" + r for r in recs]
    if record_format == "V":
        path.write_bytes(b"".join(with_rdw))
        return
    blocks = [b"".join(with_rdw[b : b + per_block]) for b in range(0, n, per_block)]
    path.write_bytes(b"".join((len(body) + 4).to_bytes(2, "big") + b"\0\0" + body for body in blocks))
