"""A resource's ``drop:`` section: records taken by POST are written in its flat-file source's
format into batch files of a folder (see drivers/flatfile/batches.py for the files and the
crash rule).

    drop:
      folder: /data/outbox             # an existing, writable folder
      name: "INV.{timestamp:%Y%m%d%H%M%S}.{seq:06d}.bin"   # timestamp: the close time (UTC)
      records: 1000                    # close a batch when it holds this many records
      seconds: 5m                      # close a batch this long after it opened
      header: "HDR{timestamp:%Y%m%d}"  # optional header record (fixed width, copybook)
      trailer: "TRL{count:09d}{total:+016.2f}"   # optional trailer record
      total: amount_due                # the numeric field the control total sums
"""

from __future__ import annotations

import string
from typing import Any

from legacy_bridge.config.checker import Checker, parse_duration
from legacy_bridge.contracts.mapping import FieldMap
from legacy_bridge.drivers import driver_class
from legacy_bridge.drivers.flatfile.batches import DropRules
from legacy_bridge.drivers.flatfile.options import check as check_flatfile
from legacy_bridge.drivers.flatfile.options import format_of, set_mapping
from legacy_bridge.drivers.flatfile.x12_outbound import X12DropRules, check_x12_drop

__all__ = ["check_drop", "DropRules", "X12DropRules"]

_KEYS = {"folder", "name", "records", "seconds", "header", "trailer", "total"}
_NAME_FIELDS = {"timestamp", "seq"}


def _check_name(ck: Checker, name: Any, path: str) -> None:
    if not isinstance(name, str) or not name:
        ck.fail(path, "required: the file name template, e.g. 'INV.{timestamp:%Y%m%d%H%M%S}.{seq:06d}.bin'")
        return
    try:
        used = {field for _, field, _, _ in string.Formatter().parse(name) if field is not None}
    except ValueError as exc:
        ck.fail(path, f"not a valid template: {exc}")
        return
    if used - _NAME_FIELDS:
        ck.fail(path, f"unknown name(s) {', '.join(sorted(used - _NAME_FIELDS))}; known: seq, timestamp")
    elif "seq" not in used:
        ck.fail(path, "holds no {seq}: two batches closed in one second would need the same name")
    elif "/" in name or name.startswith("."):
        ck.fail(path, "a plain file name: no folder, not hidden")


def _check_x12(ck: Checker, node: dict, path: str, fields: dict[str, FieldMap], source: dict) -> X12DropRules | None:
    """An x12 source's ``drop:``: the folder, the envelope ids and the segment order (nested fields welcome)."""
    mapping = set_mapping(source) if not check_flatfile(source) else None  # its problems: under sources.*
    rules, problems = check_x12_drop(mapping, node)
    for key, message in problems:
        ck.fail(f"{path}.{key}" if key else path, message)
    return rules


def check_drop(
    ck: Checker, node: Any, path: str, fields: dict[str, FieldMap], source: Any
) -> DropRules | X12DropRules | None:
    """A resource's ``drop:``: its keys here, what the source's format can write by its driver."""
    node = ck.mapping(node, path)
    if isinstance(source, dict) and source.get("kind") == "flatfile" and format_of(source) == "x12":
        return _check_x12(ck, node, path, fields, source)
    ck.unknown(node, _KEYS, path)
    try:
        driver = driver_class(source.get("kind")) if isinstance(source, dict) else None
    except KeyError:
        driver = None
    if driver is None or not driver.takes_drops:
        ck.fail(path, "drops are written to flat-file sources (kind: flatfile)")
        return None
    _check_name(ck, node.get("name"), f"{path}.name")
    records = node.get("records")
    if records is not None and (isinstance(records, bool) or not isinstance(records, int) or records < 1):
        ck.fail(f"{path}.records", f"expected an integer >= 1, got {records!r}")
    seconds = None
    if node.get("seconds") is not None:
        try:
            seconds = parse_duration(node["seconds"])
        except ValueError:
            ck.fail(f"{path}.seconds", f"expected a duration such as 300 or 5m, got {node['seconds']!r}")
    total = node.get("total")
    column = None
    if total is not None:
        fmap = fields.get(total) if isinstance(total, str) else None
        if fmap is None or fmap.type not in ("integer", "number", "decimal"):
            numeric = [n for n, f in fields.items() if f.type in ("integer", "number", "decimal")]
            ck.fail(f"{path}.total", f"expected a numeric field; numeric fields: {', '.join(numeric) or 'none'}")
        else:
            column = fmap.column
    nested = [n for n, f in fields.items() if f.nested]
    if nested:
        ck.fail(path, f"a dropped record is flat: field(s) {', '.join(nested)} are nested")
    columns = [f.column for f in fields.values() if f.column is not None]
    for key, message in driver.check_drop(source, node, columns):
        ck.fail(f"{path}.{key}" if key else path, message)
    if not isinstance(node.get("folder"), str) or not isinstance(node.get("name"), str):
        return None
    return DropRules(
        folder=node["folder"],
        name=node["name"],
        records=records if isinstance(records, int) else None,
        seconds=seconds,
        header=node.get("header"),
        trailer=node.get("trailer"),
        total=column,
    )
