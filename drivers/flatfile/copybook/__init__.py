"""COBOL copybooks and EBCDIC records: parse a layout once, decode records fast.

>>> layout = parse_copybook(open("DTAR020.cbl").read())
>>> decode = make_decoder(layout, "cp037")
>>> for offset, rec in iter_records(open("DTAR020.bin", "rb"), "F", layout.record_length):
...     row = decode(rec)          # tuple in layout.columns order

Parsing lives in ``parse`` (PIC/USAGE rules in ``pic``), decoding in ``decode`` (code
generated once per layout), encoding in ``encode``, code pages in ``codepages``, 88-level
condition names as boolean columns in ``conditions``, record framing (F, V, VB) in ``records``,
OCCURS tables as arrays and groups as objects in ``nested``, variable-size OCCURS (records only as
long as their counts) in ``variable``.
"""

from legacy_bridge.drivers.flatfile.copybook.conditions import Condition, conditions
from legacy_bridge.drivers.flatfile.copybook.decode import RecordError, ibm_float, make_decoder
from legacy_bridge.drivers.flatfile.copybook.encode import make_encoder
from legacy_bridge.drivers.flatfile.copybook.parse import CopybookError, Field, Layout, parse_copybook
from legacy_bridge.drivers.flatfile.copybook.records import iter_records

__all__ = [
    "Condition",
    "CopybookError",
    "Field",
    "Layout",
    "RecordError",
    "conditions",
    "ibm_float",
    "iter_records",
    "make_decoder",
    "make_encoder",
    "parse_copybook",
]
