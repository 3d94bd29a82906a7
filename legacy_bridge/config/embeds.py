"""A resource's ``embed:`` section: children read from another table of the same source.

    embed:
      lines:
        table: ORDER_LINES             # or view:
        join: {ORDER_NO: ORD_NO}       # parent column -> child column (several for a composite key)
        fields: {sku: {column: SKU, filter: true}, qty: {column: QTY, converter: int}}
        order: [line_no]               # the elements' order ('-' for descending); default: the fields'
        default: false                 # embedded without ?embed= when true

The inner fields take the syntax of top-level fields (a column and a converter; ``filter``
makes ``lines.sku=...`` a filter of the parent: "with a line whose sku is ..."); ``sort`` has
no meaning inside an element.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from legacy_bridge.config.checker import Checker
from legacy_bridge.config.model import Embed
from legacy_bridge.contracts.converters import build as build_converter
from legacy_bridge.contracts.mapping import FieldMap
from legacy_bridge.drivers import driver_class

__all__ = ["check_embeds", "embedded_field", "EMBED_KEYS"]

NAME = re.compile(r"^[a-z][a-z0-9_]*$")
EMBED_KEYS = {"table", "view", "join", "fields", "order", "default", "description"}
FieldCheck = Callable[[Checker, str, Any, str], "FieldMap | None"]


def _joins_tables(source: Any) -> bool:
    try:
        return isinstance(source, dict) and driver_class(source.get("kind")).joins_tables
    except (KeyError, TypeError):
        return False


def _join(ck: Checker, node: Any, path: str) -> tuple[tuple[str, str], ...]:
    on = ck.mapping(node, path)
    if not on:
        ck.fail(path, "required: parent column -> child column, e.g. {ORDER_NO: ORD_NO}")
    pairs = []
    for parent, child in on.items():
        if not isinstance(child, str) or not child or not str(parent):
            ck.fail(f"{path}.{parent}", f"expected the child table's column name, got {child!r}")
        else:
            pairs.append((str(parent), child))
    return tuple(pairs)


def _order(ck: Checker, node: Any, path: str, fields: dict[str, FieldMap]) -> tuple[tuple[str, bool], ...]:
    if node is None:
        return tuple((name, False) for name in fields)
    if isinstance(node, str):
        node = [node]
    if not isinstance(node, list) or not node:
        ck.fail(path, "expected a list of the embedded fields, '-' for descending, e.g. [line_no]")
        return ()
    order = []
    for item in node:
        name = str(item).removeprefix("-")
        if name not in fields:
            ck.fail(path, f"{item!r} is not one of the embedded fields: {', '.join(fields)}")
        else:
            order.append((name, str(item).startswith("-")))
    return tuple(order)


def _embed(ck: Checker, name: str, node: Any, path: str, check_field: FieldCheck, taken: set[str]) -> Embed | None:
    node = ck.mapping(node, path)
    if True in node:  # YAML 1.1 reads a key `on:` (or yes:) as true
        ck.fail(f"{path}.join", "write the join as join: {parent column: child column} (YAML reads on: as true)")
        node = {**{k: v for k, v in node.items() if k is not True}, "join": node[True]}
    ck.unknown(node, EMBED_KEYS, path)
    if not NAME.match(name):
        ck.fail(path, "embedded field names are lower_snake_case (letters, digits, _)")
    if name in taken:
        ck.fail(path, f"{name!r} is already a field of the resource")
    targets = {k: node[k] for k in ("table", "view") if k in node}
    if len(targets) != 1:
        ck.fail(path, "exactly one of table or view is required: the child table")
    for kind, value in targets.items():
        if not isinstance(value, str) or not value.strip():
            ck.fail(f"{path}.{kind}", "expected a non-empty string")
    on = _join(ck, node.get("join"), f"{path}.join")
    raw = ck.mapping(node.get("fields"), f"{path}.fields")
    if not raw:
        ck.fail(f"{path}.fields", "required: at least one field of the child table")
    fields = {}
    for fname, fnode in raw.items():
        fmap = check_field(ck, str(fname), fnode, f"{path}.fields.{fname}")
        if isinstance(fnode, dict) and "sort" in fnode:
            ck.fail(f"{path}.fields.{fname}.sort", "the elements of an embedded field are ordered by its order")
        if fmap is not None and fmap.nested:
            ck.fail(f"{path}.fields.{fname}.type", "the fields of an embedded row are the child table's columns")
        if fmap is not None:
            fields[str(fname)] = fmap
    order = _order(ck, node.get("order"), f"{path}.order", fields)
    default = node.get("default", False)
    if not isinstance(default, bool):
        ck.fail(f"{path}.default", f"expected true or false, got {default!r}")
    return Embed(
        name=name,
        target={k: str(v) for k, v in targets.items()},
        on=on,
        fields=fields,
        order=order,
        default=default is True,
        description=node.get("description"),
    )


def check_embeds(
    ck: Checker, node: Any, path: str, source: Any, fields: dict[str, FieldMap], check_field: FieldCheck
) -> dict[str, Embed]:
    """The resource's ``embed:`` section (``path`` is its key path), its inner fields checked
    by ``check_field`` (the top-level fields' check); only for a source whose driver joins
    tables (ODBC)."""
    if node is None:
        return {}
    if not _joins_tables(source):
        kind = source.get("kind") if isinstance(source, dict) else None
        ck.fail(path, f"sources of kind {kind} cannot read another table: embed is for odbc sources")
        return {}
    embeds = {}
    for name, sub in ck.mapping(node, path).items():
        embed = _embed(ck, str(name), sub, f"{path}.{name}", check_field, set(fields))
        if embed is not None:
            embeds[str(name)] = embed
    return embeds


def embedded_field(embed: Embed) -> FieldMap:
    """The embedded field in the resource's mapping: an array of objects (the child rows) read
    at the embed's pseudo column, so the contract, OpenAPI and the reader treat it as any array."""
    return FieldMap(
        name=embed.name,
        column=embed.column,
        converter=build_converter(None),
        description=embed.description,
        kind="array",
        fields=embed.fields,
    )
