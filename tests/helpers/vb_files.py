"""A variable-blocked (VB) EBCDIC file as a mainframe writes it: block and record descriptor
words before every block and record, records of a small copybook."""

from __future__ import annotations

from legacy_bridge.drivers.flatfile.copybook import make_encoder, parse_copybook

VB_COPYBOOK = "01 REC.\n   05 REC-NO PIC 9(5).\n   05 REC-NM PIC X(15).\n"


def vb_file(n: int, per_block: int = 7) -> bytes:
    """``n`` records of VB_COPYBOOK, ``per_block`` per block, as a mainframe writes them."""
    encode = make_encoder(parse_copybook(VB_COPYBOOK), "cp037")
    records = [encode((i, f"NAME {i}")) for i in range(1, n + 1)]
    out = b""
    for b in range(0, n, per_block):
        body = b"".join((len(r) + 4).to_bytes(2, "big") + b"\0\0" + r for r in records[b : b + per_block])
        out += (len(body) + 4).to_bytes(2, "big") + b"\0\0" + body
    return out
