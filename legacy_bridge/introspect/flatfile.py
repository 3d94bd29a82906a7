"""``introspect --copybook X.cpy --data Y.bin``: a copybook's layout, the first records of
a data file decoded with it, and a draft source + resource YAML to paste in a config."""

from __future__ import annotations

from itertools import islice
from pathlib import Path
from typing import Any

import yaml

from legacy_bridge.drivers.flatfile.cobol import CopybookFormat, describe
from legacy_bridge.drivers.flatfile.copybook import Condition, parse_copybook
from legacy_bridge.drivers.flatfile.copybook.conditions import code_table
from legacy_bridge.drivers.flatfile.formats import BadRecord
from legacy_bridge.introspect.odbc import field_names, resource_name

__all__ = ["report"]

_CONVERTERS = {"int": "int", "decimal": "decimal", "float": "float"}


def _table(rows: list[dict[str, Any]], columns: list[str]) -> list[str]:
    widths = [max(len(c), *(len(str(r[c])) for r in rows)) for c in columns]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths))]
    lines += ["  ".join(str(r[c]).ljust(w) for c, w in zip(columns, widths)) for r in rows]
    return [line.rstrip() for line in lines]


def _guess_key(columns: list[str], rows: list[tuple]) -> str:
    for i, name in enumerate(columns):
        values = [r[i] for r in rows]
        if values and None not in values and len(set(values)) == len(values):
            return name
    return columns[0]


def _enum_name(cond: Condition, field: str) -> str:
    """``STATUS-ACTIVE`` of field ``STATUS`` -> ``active``."""
    name = cond.cobol_name
    if name.startswith(field + "-") and len(name) > len(field) + 1:
        name = name[len(field) + 1 :]
    return name.lower().replace("-", "_")


def _fields(layout: Any, fmt: CopybookFormat, names: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Draft fields: a field whose 88 levels each name one value becomes an enum (``code``);
    other condition names become boolean fields beside their field."""
    tested: dict[str, list[Condition]] = {}
    for c in fmt.conditions:
        tested.setdefault(c.field, []).append(c)
    fields: dict[str, dict[str, Any]] = {}
    for f in layout.fields:
        entry: dict[str, Any] = {"column": f.name}
        if f.type in _CONVERTERS:
            entry["converter"] = _CONVERTERS[f.type]
        conds = tested.get(f.name, [])
        table = code_table(conds)
        if table is not None:
            by_value = {c.values[0]: c for c in conds}  # Decimal(1) and 1 are the same key
            entry["converter"] = {"code": {"codes": {v: _enum_name(by_value[v], f.cobol_name) for v in table}}}
            entry["filter"] = True
        fields[names[f.name]] = entry
        if table is None:
            for c in conds:
                fields[names[c.name]] = {
                    "column": c.name,
                    "converter": {"flag": {"true": True, "false": False}},
                    "filter": True,
                }
    return fields


def report(
    copybook: str,
    data: str,
    codepage: str = "cp037",
    record_format: str = "F",
    floating_point: str = "ibm",
    records: int = 5,
) -> str:
    """The text ``introspect --copybook`` prints."""
    layout = parse_copybook(Path(copybook).read_text(encoding="latin-1"))
    fmt = CopybookFormat(layout, codepage=codepage, record_format=record_format, floating_point=floating_point)
    layout_rows = describe(layout)
    out = [f"# Layout of {copybook}: {len(layout.fields)} field(s), record length {layout.record_length}"]
    out += ["# " + line for line in _table(layout_rows, ["field", "offset", "length", "type", "usage", "pic"])]
    with open(data, "rb") as f:
        sample = list(islice(fmt.open(f).scan(), records))
    good = [row for _, row in sample if not isinstance(row, BadRecord)]
    out.append(f"#\n# First {len(sample)} record(s) of {data} ({codepage}, {record_format}):")
    for n, (offset, row) in enumerate(sample, 1):
        if isinstance(row, BadRecord):
            field = f" in {row.field}" if row.field else ""
            out.append(f"#   record {n} (offset {offset}): BAD{field}: {row.reason}")
        else:
            shown = ", ".join(f"{c}={v!r}" for c, v in zip(fmt.columns, row))
            out.append(f"#   record {n} (offset {offset}): {shown}")
    names = field_names(fmt.columns)
    key = _guess_key(layout.columns, good)  # never a condition column
    fields = _fields(layout, fmt, names)
    resource = resource_name(Path(data).name.split(".")[0])
    source = {
        "kind": "flatfile",
        "path": str(Path(data).resolve()),
        "copybook": str(Path(copybook).resolve()),
        "codepage": codepage,
        "record_format": record_format,
        "floating_point": floating_point,
        "bad_records": "reject",
    }
    draft = {
        "sources": {resource.replace("-", "_"): source},
        "resources": {resource: {"source": resource.replace("-", "_"), "key": [names[key]], "fields": fields}},
    }
    out.append(
        f"#\n# Draft config: review names, the key (guessed from the sample: {key}) and which fields get filter: true."
    )
    out.append(yaml.safe_dump(draft, sort_keys=False, default_flow_style=None, width=1 << 16).rstrip())
    return "\n".join(out) + "\n"
