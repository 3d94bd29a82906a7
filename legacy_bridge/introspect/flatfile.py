"""``introspect --copybook X.cpy --data Y.bin``: a copybook's layout, the first records of
a data file decoded with it, and a draft source + resource YAML to paste in a config.

The record format is found from the data when not given (see :mod:`.record_shape`); one given
that the data contradicts is an error saying what the file looks like.  OCCURS tables are
drafted as ``type: array`` fields, 8-digit dates (``*-DT``/``*-DATE``, or commented CCYYMMDD)
with the ``yyyymmdd`` converter."""

from __future__ import annotations

from itertools import islice
from pathlib import Path
from typing import Any

import yaml

from legacy_bridge.drivers.flatfile.cobol import CopybookFormat, describe
from legacy_bridge.drivers.flatfile.copybook import Condition, parse_copybook
from legacy_bridge.drivers.flatfile.copybook.conditions import code_table
from legacy_bridge.drivers.flatfile.copybook.nested import nested_columns
from legacy_bridge.drivers.flatfile.copybook.parse import Field
from legacy_bridge.drivers.flatfile.formats import BadRecord
from legacy_bridge.introspect.odbc import field_names, resource_name
from legacy_bridge.introspect.record_shape import SAMPLE, detect, looks_like

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


_DATE_NAMES = ("-DT", "-DATE", "_DT", "_DATE")
_DATE_NOTES = ("CCYYMMDD", "YYYYMMDD")


def _dated(text: str) -> set[str]:
    """COBOL names whose entry (or the comment line just before it) says CCYYMMDD."""
    found, noted = set(), False
    for line in text.upper().splitlines():
        says = any(n in line for n in _DATE_NOTES)
        area = line[:6].strip()
        if (len(line) > 6 and line[6] in "*/" and (not area or area.isdigit())) or line.lstrip().startswith("*"):
            noted = says  # a comment line speaks of the entry after it
            continue
        words = line.replace(".", " ").split()
        if words and area.isdigit() and words[0] == area:
            words = words[1:]  # a sequence number
        if len(words) > 1 and words[0].isdigit() and (says or noted):
            found.add(words[1])
        noted = noted and not words
    return found


def _converter(f: Field, dated: set[str]) -> Any:
    """The converter drafted for a field: yyyymmdd for an 8-digit date, else by its type."""
    date_like = f.cobol_name.endswith(_DATE_NAMES) or f.cobol_name in dated
    if date_like and f.type == "int" and f.digits == 8 and f.scale == 0:
        return "yyyymmdd"
    if date_like and f.type == "text" and f.length == 8:
        return {"yyyymmdd": {"as": "str"}}
    return _CONVERTERS.get(f.type)


def _table_step(f: Field, after: int = -1) -> int | None:
    """Where in ``f``'s path the first OCCURS table after step ``after`` is (None: in none)."""
    return next((k for k in range(after + 1, len(f.path)) if f.path[k][1] is not None), None)


def _in_table(f: Field) -> bool:
    return _table_step(f) is not None


def _first_elements(fields: list[Field], after: int) -> dict[tuple[int, str], list[Field]]:
    """The fields of each table's first element (after step ``after``), by (step, table name)."""
    tables: dict[tuple[int, str], list[Field]] = {}
    for f in fields:
        step = _table_step(f, after)
        if step is not None and f.path[step][1] == 0:
            tables.setdefault((step, f.path[step][0]), []).append(f)
    return tables


def _array(fields: list[Field], step: int, dated: set[str]) -> dict[str, Any]:
    """The draft of one OCCURS table from its first element's fields (``step``: the table's
    place in their paths): inner fields by the column inside an element, tables inside as arrays."""
    name = fields[0].path[step][0].replace("-", "_")
    if len(fields) == 1 and len(fields[0].path) == step + 1:  # an elementary OCCURS: an array of values
        return {"type": "array", "column": name, **_with_converter(fields[0], dated)}
    inner = {f.key: {"column": f.key, **_with_converter(f, dated)} for f in fields if _table_step(f, step) is None}
    for (deeper, table), members in _first_elements(fields, step).items():
        inner[table.replace("-", "_")] = _array(members, deeper, dated)
    names = field_names(list(inner))
    return {"type": "array", "column": name, "fields": {names[k]: v for k, v in inner.items()}}


def _with_converter(f: Field, dated: set[str]) -> dict[str, Any]:
    converter = _converter(f, dated)
    return {"converter": converter} if converter else {}


def _tables(layout: Any, dated: set[str]) -> dict[str, dict[str, Any]]:
    """Each OCCURS table outside tables as an array draft, by its column (when
    :func:`nested_columns` names it so: a table whose name clashes is left out)."""
    drafts = [_array(members, step, dated) for (step, _), members in _first_elements(layout.fields, -1).items()]
    known = set(nested_columns(layout))
    return {draft["column"]: draft for draft in drafts if draft["column"] in known}


def _fields(
    layout: Any,
    fmt: CopybookFormat,
    names: dict[str, str],
    dated: set[str] = frozenset(),  # type: ignore[assignment]
) -> dict[str, dict[str, Any]]:
    """Draft fields: a field whose 88 levels each name one value becomes an enum (``code``);
    other condition names become boolean fields beside their field; an OCCURS table becomes
    one array field in place of its indexed columns."""
    tested: dict[str, list[Condition]] = {}
    for c in fmt.conditions:
        tested.setdefault(c.field, []).append(c)
    tables = _tables(layout, dated)
    fields: dict[str, dict[str, Any]] = {}
    for f in layout.fields:
        step = _table_step(f)
        if step is not None:
            column = f.path[step][0].replace("-", "_")
            if column in tables and names.get(column, column.lower()) not in fields:
                fields[names.get(column, column.lower())] = tables[column]
            continue
        entry: dict[str, Any] = {"column": f.name, **_with_converter(f, dated)}
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


def _record_format(data: str, given: str | None, record_length: int) -> tuple[str, str]:
    """The record format to read ``data`` with and the line saying how it was found; a given
    one the bytes contradict is a ValueError saying what the file looks like."""
    with open(data, "rb") as f:
        head = f.read(SAMPLE)
    found, looks = detect(head, Path(data).stat().st_size, record_length)
    if given is None:
        if found is None:
            raise ValueError(f"{data}: cannot tell its record format: {looks}; give --record-format F, V or VB")
        return found, f"record format {found}, found from the data: {looks}"
    if found is not None and found != given:
        raise ValueError(
            f"{data} does not look like {given} ({looks_like(given)}): it looks like {found}, with {looks};"
            f" try --record-format {found}"
        )
    return given, f"record format {given}, as given" + (f" (the data agrees: {looks})" if found else "")


def _sample(fmt: CopybookFormat, data: str, records: int) -> list[tuple[int, Any]]:
    with open(data, "rb") as f:
        return list(islice(fmt.open(f).scan(), records))


def _short(sample: list[tuple[int, Any]]) -> bool:
    return any(isinstance(row, BadRecord) and row.reason.startswith("truncated record") for _, row in sample)


def report(
    copybook: str,
    data: str,
    codepage: str = "cp037",
    record_format: str | None = None,
    floating_point: str = "ibm",
    records: int = 5,
    name: str | None = None,
) -> str:
    """The text ``introspect --copybook`` prints (``name``: the resource's, else from the file's)."""
    text = Path(copybook).read_text(encoding="latin-1")
    layout = parse_copybook(text)
    record_format, how = _record_format(data, record_format, layout.record_length)
    fmt = CopybookFormat(layout, codepage=codepage, record_format=record_format, floating_point=floating_point)
    layout_rows = describe(layout)
    out = [f"# Layout of {copybook}: {len(layout.fields)} field(s), record length {layout.record_length}"]
    out += ["# " + line for line in _table(layout_rows, ["field", "offset", "length", "type", "usage", "pic"])]
    sample = _sample(fmt, data, records)
    variable = record_format != "F" and _short(sample) and any(f.odo for f in layout.fields)
    if variable:  # records as long as their OCCURS DEPENDING ON counts: read them so
        fmt = CopybookFormat(layout, codepage, record_format, floating_point, variable_size_occurs=True)
        sample = _sample(fmt, data, records)
        how += "; records shorter than the layout, as long as their OCCURS counts: variable_size_occurs: true"
    good = [row for _, row in sample if not isinstance(row, BadRecord)]
    out.append(f"#\n# {how}")
    out.append(f"# First {len(sample)} record(s) of {data} ({codepage}, {record_format}):")
    shown_columns = [c for f, c in zip(layout.fields, layout.columns) if not _in_table(f)]
    shown_columns += [c.name for c in fmt.conditions] + [
        c for c in nested_columns(layout) if c in _tables(layout, set())
    ]
    for n, (offset, row) in enumerate(sample, 1):
        if isinstance(row, BadRecord):
            field = f" in {row.field}" if row.field else ""
            out.append(f"#   record {n} (offset {offset}): BAD{field}: {row.reason}")
        else:
            values = dict(zip(fmt.columns, row))
            shown = ", ".join(f"{c}={values[c]!r}" for c in shown_columns)
            out.append(f"#   record {n} (offset {offset}): {shown}")
    names = field_names(fmt.columns)
    flat = [i for i, f in enumerate(layout.fields) if not _in_table(f)]
    key = _guess_key([layout.columns[i] for i in flat], [tuple(r[i] for i in flat) for r in good])  # never a condition
    fields = _fields(layout, fmt, names, _dated(text))
    resource = name or resource_name(Path(data).name.split(".")[0])
    source = {
        "kind": "flatfile",
        "path": str(Path(data).resolve()),
        "copybook": str(Path(copybook).resolve()),
        "codepage": codepage,
        "record_format": record_format,
        **({"variable_size_occurs": True} if variable else {}),
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
