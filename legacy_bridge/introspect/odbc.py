"""A draft resource (YAML) from a source's catalog and a sample of its rows.

The driver describes the table (``describe()``: columns with a type family, size and
scale, the primary key, sampled rows); this module turns that description into field
names and converter suggestions.  It knows nothing of ODBC: any driver that can
describe a table can be introspected.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml

__all__ = ["draft", "field_names", "resource_name", "suggest", "Suggestion"]

# Legacy abbreviations expanded in canonical names (CUST_NM -> customer_name).
ABBREVIATIONS = {
    "ACCT": "account",
    "ACTV": "active",
    "ADDR": "address",
    "AMT": "amount",
    "BAL": "balance",
    "CD": "code",
    "CLS": "closed",
    "CNTRY": "country",
    "CRDT": "credit",
    "CRT": "created",
    "CTY": "city",
    "CUST": "customer",
    "DEPT": "department",
    "DESC": "description",
    "DSC": "description",
    "DT": "date",
    "EMP": "employee",
    "FLG": "flag",
    "INV": "invoice",
    "ITM": "item",
    "LMT": "limit",
    "LN": "line",
    "MSG": "message",
    "NBR": "number",
    "NM": "name",
    "NUM": "number",
    "ORD": "order",
    "PHN": "phone",
    "PRC": "price",
    "QTY": "quantity",
    "SHP": "ship",
    "STAT": "status",
    "TM": "time",
    "TOT": "total",
    "TS": "at",
    "TXT": "text",
    "UPD": "updated",
}
# First words of table names that only say "this is a table" (LGCY_CUST -> customer).
TABLE_NOISE = {"LGCY", "LEGACY", "TBL", "TB", "TAB", "T", "V", "VW"}
_TIME_HINTS = {"TM", "TIME", "TIM", "HHMMSS", "HMS"}
_AMOUNT_HINTS = {"AMT", "PRC", "PRICE", "LMT", "BAL", "TOT", "COST", "AMOUNT"}
_DATE_NULLS_INT = {0, 99999999}
_DATE_NULLS_STR = {"", "00000000", "99999999"}
_FLAG_PAIRS = (("Y", "N"), ("T", "F"), ("J", "N"), ("1", "0"))
_TEXT_TIMESTAMPS = (
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d-%H.%M.%S.%f",
)
_NOT_NULL_SAFE = {None, "int", "float", "decimal", "trim", "text", "binary", "date", "timestamp"}


@dataclass
class Suggestion:
    """A converter in its config form (None: no converter) and notes for the reader."""

    converter: Any = None
    notes: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str | None:
        conv = self.converter
        return next(iter(conv)) if isinstance(conv, dict) else conv


# -- names ---------------------------------------------------------------------------


def _tokens(name: str) -> list[str]:
    return [t for t in re.split(r"[^A-Za-z0-9]+", name.upper()) if t]


def _snake(tokens: Iterable[str]) -> str:
    name = "_".join(ABBREVIATIONS.get(t, t.lower()) for t in tokens)
    name = re.sub(r"[^a-z0-9_]", "_", name).strip("_") or "field"
    return name if name[0].isalpha() else f"f_{name}"


def field_names(columns: list[str]) -> dict[str, str]:
    """Canonical names for legacy columns: a prefix all of them share is dropped,
    abbreviations expanded, names made unique (``CUST_NM`` -> ``customer_name``)."""
    split = [_tokens(c) for c in columns]
    if len(split) > 1 and all(len(t) > 1 for t in split) and len({t[0] for t in split}) == 1:
        split = [t[1:] for t in split]
    names: dict[str, str] = {}
    taken: set[str] = set()
    for column, tokens in zip(columns, split):
        base = _snake(tokens)
        name, n = base, 2
        while name in taken:
            name, n = f"{base}_{n}", n + 1
        taken.add(name)
        names[column] = name
    return names


def resource_name(table: str) -> str:
    """``LGCY_ORD_LN`` -> ``order-line`` (schema and noise words dropped)."""
    tokens = _tokens(table.rpartition(".")[2])
    if len(tokens) > 1 and tokens[0] in TABLE_NOISE:
        tokens = tokens[1:]
    return _snake(tokens).replace("_", "-")


# -- converters ----------------------------------------------------------------------


def _date8(value: Any) -> bool:
    text = f"{value:08d}" if isinstance(value, int) else str(value).strip()
    if len(text) != 8 or not text.isdigit():
        return False
    try:
        return 1800 <= dt.date(int(text[:4]), int(text[4:6]), int(text[6:])).year <= 2999
    except ValueError:
        return False


def _hhmmss(value: Any) -> bool:
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except ValueError:
        return False
    return 0 <= number <= 235959 and number // 100 % 100 < 60 and number % 100 < 60


def _text_timestamp(values: list[str]) -> str | None:
    for fmt in _TEXT_TIMESTAMPS:
        try:
            for v in values:
                dt.datetime.strptime(v, fmt)
            return fmt
        except ValueError:
            continue
    return None


def _integer(values: list[Any], tokens: set[str]) -> Suggestion:
    numbers = [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
    if numbers and len(numbers) == len(values):
        dates = [v for v in numbers if v not in _DATE_NULLS_INT]
        if dates and all(_date8(v) for v in dates):
            return Suggestion("yyyymmdd", ["8-digit dates in the sample; 0 and 99999999 read as null"])
        in_range = all(0 <= v <= 235959 for v in numbers)
        valid = sum(_hhmmss(v) for v in numbers)
        if in_range and (
            tokens & _TIME_HINTS or (valid == len(numbers) and sum(v >= 10000 for v in numbers) >= 0.8 * len(numbers))
        ):
            notes = ["HHMMSS times"]
            if valid < len(numbers):
                notes.append(f"{len(numbers) - valid} sampled value(s) are not valid times and read as null")
            return Suggestion("hhmmss", notes)
    suggestion = Suggestion("int")
    if tokens & _AMOUNT_HINTS:
        suggestion.notes.append("an amount? if it has implied decimals: {decimal: {implied: 2}}")
    return suggestion


def _text(col: dict, values: list[Any], tokens: set[str]) -> Suggestion:
    stripped = [str(v).strip() for v in values]
    present = [v for v in stripped if v]
    distinct = sorted(set(present))
    if col["size"] == 1 and present:
        for true, false in _FLAG_PAIRS:
            if set(present) <= {true, false}:
                conv = "flag" if (true, false) == ("Y", "N") else {"flag": {"true": true, "false": false}}
                return Suggestion(conv, [f"only {true}/{false} in the sample"])
    dates = [v for v in stripped if v not in _DATE_NULLS_STR]
    if dates and all(_date8(v) for v in dates):
        return Suggestion({"yyyymmdd": {"as": "str"}}, ["8-digit dates as text in the sample"])
    if present and tokens & _TIME_HINTS and all(len(v) == 6 and v.isdigit() and _hhmmss(v) for v in present):
        return Suggestion({"hhmmss": {"as": "str"}}, ["HHMMSS times as text"])
    fmt = _text_timestamp(present) if present else None
    if fmt:
        return Suggestion({"timestamp": {"format": fmt}}, ["timestamps as text"])
    if col["type"] != "char":  # text as it is; a converter makes it text (startswith, contains)
        return Suggestion("text")
    suggestion = Suggestion({"trim": {"width": col["size"]}} if col["size"] else "trim")
    if col["size"] and col["size"] <= 4 and 2 <= len(distinct) <= 12 and len(present) >= 3 * len(distinct):
        seen = ", ".join(distinct)
        suggestion.notes.append(f"a code table? values seen: {seen}; e.g. {{code: {{codes: {{{distinct[0]}: ...}}}}}}")
    return suggestion


def suggest(col: dict, values: list[Any]) -> Suggestion:
    """The converter for one column, from its type family and its sampled values."""
    tokens = set(_tokens(col["name"]))
    values = [v for v in values if v is not None]
    family = col["type"]
    if family == "integer":
        return _integer(values, tokens)
    if family in ("char", "varchar"):
        return _text(col, values, tokens)
    if family == "decimal":
        scale = col.get("scale")
        if scale == 0:
            return Suggestion("int")
        return Suggestion({"decimal": {"scale": scale}} if scale is not None else "decimal")
    if family == "float":
        return Suggestion("float")
    if family in ("date", "timestamp"):
        return Suggestion(family)
    if family == "binary":
        return Suggestion("binary", ["bytes, base64 in JSON and CSV"])
    return Suggestion(None, [f"{family} column: no converter suggested (its values read as text)"])


# -- YAML ----------------------------------------------------------------------------


def _flow(value: Any) -> str:
    """One value in YAML flow style, quoted where YAML needs it."""
    text = yaml.safe_dump(
        {"x": value}, default_flow_style=True, sort_keys=False, allow_unicode=True, width=1 << 20
    ).strip()
    return text[len("{x: ") : -1]


def _type_label(col: dict) -> str:
    label = col["type_name"] or col["type"]
    if "(" not in label and col["type"] in ("char", "varchar") and col["size"]:
        label += f"({col['size']})"
    if "(" not in label and col["type"] == "decimal" and col["size"]:
        label += f"({col['size']},{col['scale'] or 0})"
    return label


def _comment(text: str) -> str:
    """One printable line, whatever the legacy data holds (YAML refuses control characters)."""
    return " ".join("".join(c if c.isprintable() else "?" for c in text).split())


def _guess_key(columns: list[dict], rows: list[tuple]) -> list[str]:
    for i, col in enumerate(columns):
        values = [r[i] for r in rows]
        if (
            values
            and None not in values
            and len(set(values)) == len(values)
            and col["type"] in ("integer", "char", "varchar", "decimal")
        ):
            return [col["name"]]
    return [columns[0]["name"]]


def _order_notes(col: dict) -> list[str]:
    """What the draft says of a column's order (never a sort: true where it cannot be paged)."""
    if col.get("unsortable"):
        return [f"cannot be sorted: {col['unsortable']}"]
    if col.get("compare") == "number":
        return ["sorts by its number (member position or bit value), as the database does"]
    return []


def draft(description: dict[str, Any], source: str, name: str | None = None) -> str:
    """The draft resource YAML, indented to paste under ``resources:``.

    ``description`` is what a driver's ``describe()`` returns.
    """
    columns, rows = description["columns"], description["sample"]
    table = description["table"]
    names = field_names([c["name"] for c in columns])
    key_columns = description["key"]
    key_note = "primary key"
    if not key_columns:
        key_columns = _guess_key(columns, rows)
        key_note = "no primary key in the catalog: guessed from the sample (unique, never null); check it"
    suggestions = [suggest(col, [r[i] for r in rows]) for i, col in enumerate(columns)]
    for col, suggestion in zip(columns, suggestions):  # ACTV_FLG -> active, not active_flag
        short = names[col["name"]].removesuffix("_flag")
        if suggestion.kind == "flag" and short not in names.values():
            names[col["name"]] = short
    target = "view" if description.get("kind") == "view" else "table"
    lines = [
        f"# Draft resource for {target} {table} of source {source}: from the catalog and {len(rows)} sampled row(s).",
        "# Paste under `resources:`, then review names, converters and which fields get filter: true / sort: true.",
        "# Text operators (startswith, contains) need a text converter (text, trim); a field "
        "without converter reads as text.",
        f"{name or resource_name(table)}:",
        f"  source: {_flow(source)}",
        f"  {target}: {_flow(table)}",
        f"  key: {_flow([names[c] for c in key_columns])}   # {_comment(key_note)}",
        "  fields:",
    ]
    for col, suggestion in zip(columns, suggestions):
        entry: dict[str, Any] = {"column": col["name"]}
        if suggestion.converter is not None:
            entry["converter"] = suggestion.converter
        if not col["nullable"] and col["name"] not in key_columns and suggestion.kind in _NOT_NULL_SAFE:
            entry["nullable"] = False
        notes = "; ".join([_type_label(col)] + suggestion.notes + _order_notes(col))
        lines.append(f"    {names[col['name']]}: {_flow(entry)}   # {_comment(notes)}")
    return "\n".join("  " + line for line in lines) + "\n"
