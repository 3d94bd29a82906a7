"""Drop resources for tests: configs writing DTAR020 records (copybook), CSV and fixed-width
files into a folder, with a reading resource on the same files (the product's own readers)."""

from __future__ import annotations

from typing import Any

from helpers.dtar020 import COPYBOOK, FIELDS

NAME = "SALES.{timestamp:%Y%m%d%H%M%S}.{seq:06d}.bin"
TEXT_FIELDS = {
    "id": {"column": "ID", "converter": "int"},
    "name": {"column": "NAME", "converter": "trim"},
    "amount": {"column": "AMOUNT", "converter": "decimal"},
}
FORMATS: dict[str, dict[str, Any]] = {
    "copybook": {"copybook": str(COPYBOOK), "codepage": "cp037"},
    "csv": {"format": "csv", "columns": ["ID", "NAME", {"name": "AMOUNT", "type": "decimal"}]},
    "copybook-v": {"copybook": str(COPYBOOK), "codepage": "cp037", "record_format": "V"},
    "fixed-length": {
        "format": "fixed",
        "encoding": "cp037",  # EBCDIC text records, no line ends
        "record_length": 25,
        "columns": [
            {"name": "ID", "start": 1, "length": 6, "type": "int"},
            {"name": "NAME", "start": 7, "length": 10},
            {"name": "AMOUNT", "start": 17, "length": 9, "type": "decimal"},
        ],
    },
    "fixed": {
        "format": "fixed",
        "encoding": "latin-1",
        "columns": [
            {"name": "ID", "start": 1, "length": 6, "type": "int"},
            {"name": "NAME", "start": 7, "length": 10},
            {"name": "AMOUNT", "start": 17, "length": 9, "type": "decimal"},
        ],
    },
}


def drop_config(folder, kind: str = "copybook", **drop: Any) -> dict:
    """Resource ``sales`` drops into ``folder``; its GET reads every file dropped there."""
    suffix = "bin" if kind.startswith("copybook") else "txt"
    source = {"kind": "flatfile", "path": f"{folder}/SALES.*.{suffix}", "pick": "all", **FORMATS[kind]}
    fields = FIELDS if kind.startswith("copybook") else TEXT_FIELDS
    return {
        "service": {"secret": "s", "max_limit": 1000},
        "sources": {"out": source},
        "resources": {
            "sales": {
                "source": "out",
                "key": ["keycode" if kind.startswith("copybook") else "id"],
                "fields": fields,
                "drop": {"folder": str(folder), "name": NAME.replace(".bin", f".{suffix}"), **drop},
            }
        },
    }
