"""The options of a ``kind: flatfile`` source: checked at start-up, turned into a format.

Missing data files are not a config problem (a drop may arrive later: the source is
unavailable until then); a missing or unreadable copybook is, since the layout is
part of the configuration.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

import yaml

from legacy_bridge.drivers.flatfile.cobol import CopybookFormat
from legacy_bridge.drivers.flatfile.copybook import CopybookError, conditions, make_decoder, parse_copybook
from legacy_bridge.drivers.flatfile.copybook.nested import nested_columns, nested_keys
from legacy_bridge.drivers.flatfile.copybook.variable import make_variable_decoder
from legacy_bridge.drivers.flatfile.formats import CsvFormat, FixedFormat, parse_columns
from legacy_bridge.drivers.flatfile.x12_acks import check_acknowledge
from legacy_bridge.drivers.flatfile.x12_format import X12Format
from legacy_bridge.drivers.flatfile.x12_mapping import SetMapping, parse_mapping

__all__ = ["OPTIONS", "check", "build_format", "layout_id", "known_columns", "inner_columns", "set_mapping"]

OPTIONS = {
    "kind",
    "path",
    "pick",
    "format",
    "encoding",
    "codepage",
    "delimiter",
    "quotechar",
    "quoting",
    "header",
    "columns",
    "record_length",
    "copybook",
    "record_format",
    "floating_point",
    "variable_size_occurs",
    "x12",
    "envelope",
    "acknowledge",
    "bad_records",
    "index_dir",
    "timeout",
    "description",
}
_CHOICES = {
    "pick": ("newest", "all"),
    "format": ("csv", "fixed", "copybook", "x12"),
    "quoting": ("minimal", "none"),
    "record_format": ("F", "V", "VB"),
    "floating_point": ("ibm", "ieee"),
    "bad_records": ("reject", "quarantine"),
    "envelope": ("strict", "lenient"),
}
_PER_FORMAT = {
    "csv": {"delimiter", "quotechar", "quoting", "header", "columns", "encoding"},
    "fixed": {"columns", "encoding", "record_length", "copybook"},
    "copybook": {"copybook", "codepage", "record_format", "floating_point", "variable_size_occurs"},
    "x12": {"x12", "encoding", "envelope", "acknowledge"},
}
_FORMAT_OPTIONS = set().union(*_PER_FORMAT.values())


def format_of(options: dict[str, Any]) -> str | None:
    fmt = options.get("format")
    if fmt is None and "copybook" in options:
        return "copybook"
    return fmt


def _copybook(options: dict[str, Any]) -> tuple[Any, str | None]:
    """The parsed layout, or the reason it cannot be had."""
    path = options.get("copybook")
    if not isinstance(path, str) or not path:
        return None, "required: the copybook file (.cpy) describing the records"
    try:
        with open(path, encoding="latin-1") as f:  # copybooks are plain ASCII; never fail on a stray byte
            text = f.read()
    except OSError as exc:
        return None, f"cannot read the copybook ({exc.strerror})"
    try:
        return parse_copybook(text), None
    except Exception as exc:  # noqa: BLE001 - any parse failure is a config problem, reported with its text
        return None, f"cannot parse the copybook: {exc}"


def _x12(options: dict[str, Any]) -> tuple[SetMapping | None, list[tuple[str, str]]]:
    """The transaction set mapping (inline, or the YAML file ``x12`` names) and its problems."""
    raw = options.get("x12")
    if raw is None:
        return None, [("x12", "required: the transaction set and its mapped fields ({set: '850', fields: {...}})")]
    if not isinstance(raw, str):
        return parse_mapping(raw)
    try:
        with open(raw, encoding="utf-8") as f:
            loaded = yaml.safe_load(f)
    except OSError as exc:
        return None, [("x12", f"cannot read the mapping file {raw} ({exc.strerror})")]
    except yaml.YAMLError as exc:
        return None, [("x12", f"the mapping file {raw} is not valid YAML: {exc}")]
    mapping, problems = parse_mapping(loaded)
    return mapping, [(key, f"{message} (in {raw})") for key, message in problems]


def set_mapping(options: dict[str, Any]) -> SetMapping | None:
    """The transaction set mapping of an x12 source (None when its options are broken)."""
    return _x12(options)[0] if format_of(options) == "x12" else None


def check(options: dict[str, Any]) -> list[tuple[str, str]]:
    """Every problem in a flat-file source's options, as (key, message)."""
    problems = [(k, f"unknown key; known: {', '.join(sorted(OPTIONS))}") for k in options if k not in OPTIONS]
    if not isinstance(options.get("path"), str) or not options.get("path"):
        problems.append(("path", "required: a data file, a folder of drops or a glob (/data/INV.*.bin)"))
    for key, choices in _CHOICES.items():
        if key in options and options[key] not in choices:
            problems.append((key, f"expected one of {', '.join(choices)}, got {options[key]!r}"))
    fmt = format_of(options)
    if fmt is None:
        return problems + [("format", "required: csv, fixed, copybook or x12")]
    if fmt not in _PER_FORMAT:
        return problems
    for key in sorted((_FORMAT_OPTIONS - _PER_FORMAT[fmt]) & set(options)):
        problems.append((key, f"does not apply to format {fmt}"))
    if "header" in options and not isinstance(options["header"], bool):
        problems.append(("header", f"expected true or false, got {options['header']!r}"))
    for key in ("delimiter", "quotechar"):
        if key in options and (not isinstance(options[key], str) or len(options[key]) != 1):
            problems.append((key, f"expected one character, got {options[key]!r}"))
    if "record_length" in options and (
        isinstance(options["record_length"], bool)
        or not isinstance(options["record_length"], int)
        or options["record_length"] < 1
    ):
        problems.append(("record_length", f"expected an integer >= 1, got {options['record_length']!r}"))
    if "variable_size_occurs" in options and not isinstance(options["variable_size_occurs"], bool):
        problems.append(("variable_size_occurs", f"expected true or false, got {options['variable_size_occurs']!r}"))
    if "index_dir" in options and not isinstance(options["index_dir"], str):
        problems.append(("index_dir", "expected a folder path"))
    if fmt == "x12":
        problems += _x12(options)[1] + check_acknowledge(options)
    elif fmt == "csv":
        if options.get("header", True) is False and "columns" not in options:
            problems.append(("columns", "required when header is false: the column names in file order"))
        if "columns" in options:
            problems += parse_columns(options["columns"], fixed=False)[1]
    elif fmt == "fixed":
        if ("columns" in options) == ("copybook" in options):
            problems.append(("columns", "declare exactly one of columns (name, start, length) or copybook"))
        elif "columns" in options:
            problems += parse_columns(options["columns"], fixed=True)[1]
        else:
            problems += [("copybook", m) for m in [_copybook(options)[1]] if m]
    else:
        layout, message = _copybook(options)
        if message:
            problems.append(("copybook", message))
        elif "codepage" in options and "floating_point" not in [k for k, _ in problems]:
            try:  # the decoder knows code pages Python has no codec for (cp1047)
                make_decoder(
                    layout, codepage_name=str(options["codepage"]), floating_point=options.get("floating_point", "ibm")
                )
            except (ValueError, LookupError) as exc:
                problems.append(("codepage", str(exc)))
        if layout is not None and options.get("variable_size_occurs") is True:
            try:  # a counter after its table cannot place the fields after it
                make_variable_decoder(layout)
            except CopybookError as exc:
                problems.append(("variable_size_occurs", str(exc)))
    return problems


def known_columns(options: dict[str, Any]) -> list[str] | None:
    """The columns a record will have, when the config alone says (a copybook, declared
    fixed-width columns, a CSV without a header row); None when only the file can
    (a CSV header) or the options are broken (reported by :func:`check`)."""
    fmt = format_of(options)
    if fmt == "x12":
        mapping = _x12(options)[0]
        return None if mapping is None else mapping.columns
    if fmt == "csv":
        if options.get("header", True) is not False or "columns" not in options:
            return None
        columns, problems = parse_columns(options["columns"], fixed=False)
    elif fmt == "fixed" and "columns" in options and "copybook" not in options:
        columns, problems = parse_columns(options["columns"], fixed=True)
    elif fmt in ("fixed", "copybook"):
        layout, message = _copybook(options)
        if message:
            return None
        return list(layout.columns) + [c.name for c in conditions(layout)] + nested_columns(layout)
    else:
        return None
    return None if problems else [c.name for c in columns]


def inner_columns(options: dict[str, Any]) -> dict[str, set[str]]:
    """The columns inside each nested column (a copybook's OCCURS tables and groups, an X12
    mapping's loops and objects)."""
    if format_of(options) == "x12":
        mapping = _x12(options)[0]
        return {} if mapping is None else mapping.inner_keys()
    if format_of(options) not in ("fixed", "copybook") or "copybook" not in options:
        return {}
    layout, message = _copybook(options)
    return {} if message else nested_keys(layout)


def build_format(options: dict[str, Any]) -> Any:
    """The record format of checked options."""
    fmt = format_of(options)
    if fmt == "x12":
        mapping = _x12(options)[0]
        assert mapping is not None  # checked options
        return X12Format(mapping, options.get("encoding", "utf-8"), options.get("envelope", "strict") == "strict")
    if fmt == "csv":
        columns = parse_columns(options["columns"], fixed=False)[0] if "columns" in options else None
        return CsvFormat(
            delimiter=options.get("delimiter", ","),
            quotechar=options.get("quotechar", '"'),
            quoting=options.get("quoting", "minimal"),
            header=options.get("header", True),
            columns=columns,
            encoding=options.get("encoding", "utf-8"),
        )
    if fmt == "fixed" and "columns" in options:
        return FixedFormat(
            parse_columns(options["columns"], fixed=True)[0],
            encoding=options.get("encoding", "ascii"),
            record_length=options.get("record_length"),
        )
    layout, _ = _copybook(options)
    if fmt == "fixed":  # a copybook describing text lines (ASCII or any code page)
        return CopybookFormat(layout, codepage=options.get("encoding", "ascii"), lines=True)
    return CopybookFormat(
        layout,
        codepage=options.get("codepage", "cp037"),
        record_format=options.get("record_format", "F"),
        floating_point=options.get("floating_point", "ibm"),
        variable_size_occurs=options.get("variable_size_occurs", False),
    )


def layout_id(options: dict[str, Any]) -> str:
    """Changes whenever what a record decodes to may change: options or copybook text."""
    parts = [repr(sorted((k, repr(v)) for k, v in options.items() if k not in ("path", "pick", "index_dir")))]
    for layout in ("copybook", "x12"):  # a layout in a file of its own
        if isinstance(options.get(layout), str):
            try:
                with open(options[layout], "rb") as f:
                    parts.append(hashlib.blake2b(f.read(), digest_size=8).hexdigest())
            except OSError:
                pass
    return hashlib.blake2b("\n".join(parts).encode(), digest_size=8).hexdigest()


def index_folder(options: dict[str, Any]) -> str:
    """``index_dir`` (the app sets it beside a local state store), else a hidden folder beside
    the data when it is writable, else the temp dir."""
    if options.get("index_dir"):
        return str(options["index_dir"])
    path = str(options["path"])
    base = path if os.path.isdir(path) else os.path.dirname(path) or "."
    while base and not os.path.isdir(base):  # a glob's folder part may hold wildcards too
        base = os.path.dirname(base)
    if base and os.access(base, os.W_OK):
        return os.path.join(base, ".legacy-bridge-index")
    import tempfile

    return os.path.join(tempfile.gettempdir(), "legacy-bridge-index")
