"""JRecord's DTAR020 example (EBCDIC, cp037, fixed 27-byte records), read from ../shared/testdata:
its files, its expected rows, a flat-file config serving it, and a way to break a record."""

from __future__ import annotations

import csv
from decimal import Decimal

from helpers.backends import SHARED_TESTDATA

EXAMPLES = SHARED_TESTDATA / "cobol" / "cobol-to-csv" / "Examples"
COPYBOOK, DATA, EXPECTED = EXAMPLES / "DTAR020.cbl", EXAMPLES / "in" / "DTAR020.bin", EXAMPLES / "in" / "DTAR020_a.csv"
SIZE = 27
FIELDS = {
    "keycode": {"column": "DTAR020-KEYCODE-NO", "converter": "trim"},
    "store": {"column": "DTAR020-STORE-NO", "converter": "int", "filter": True},
    "day": {"column": "DTAR020-DATE", "converter": "int"},
    "dept": {"column": "DTAR020-DEPT-NO", "converter": "int", "filter": True},
    "qty": {"column": "DTAR020-QTY-SOLD", "converter": "int", "filter": True},
    "price": {"column": "DTAR020-SALE-PRICE", "converter": "decimal", "filter": True},
}


def expected_rows() -> list[dict]:
    with open(EXPECTED, newline="", encoding="ascii") as f:
        rows = list(csv.reader(f, delimiter="\t"))[1:]
    return [
        {
            "keycode": r[0],
            "store": int(r[1]),
            "day": int(r[2]),
            "dept": int(r[3]),
            "qty": int(r[4]),
            "price": str(Decimal(r[5])),
        }
        for r in rows
    ]


def config(path, policy: str = "reject", key: str = "keycode") -> dict:
    return {
        "service": {"secret": "s", "max_limit": 500},
        "sources": {
            "sales": {
                "kind": "flatfile",
                "path": str(path),
                "copybook": str(COPYBOOK),
                "codepage": "cp037",
                "record_format": "F",
                "bad_records": policy,
            }
        },
        "resources": {"sales": {"source": "sales", "key": [key], "fields": FIELDS}},
    }


def corrupt(path, record: int, at: int, value: bytes) -> None:
    raw = bytearray(path.read_bytes())
    raw[(record - 1) * SIZE + at : (record - 1) * SIZE + at + len(value)] = value
    path.write_bytes(bytes(raw))
