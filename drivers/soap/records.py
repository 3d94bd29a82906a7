"""Where an operation's answer holds its records, and how a row is read from one.

Answers are ``zeep.helpers.serialize_object`` output (dicts and lists).  A column is a dotted
path inside a record (``Consignee.Name``).  A ``records`` path may pass through arrays
(``Manifests.Manifest.Lines.ManifestLine``: every line of every manifest); each record then has
a *parent*, the array element it sits in one array up (the answer itself when none), which a
child resource's ``parent_fields`` read (the manifest's number on each of its lines).

A nested field's column (the shared nested-field design) holds, in a row: for an array of
objects, a list of ``{inner column: value}`` dicts, one per element present; for an array of
scalars, the list of values; for an object, one such dict (or None).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from legacy_bridge.errors import MappingMismatch

#: pseudo-columns: the page token a row was read from, and its position in that page
PAGE, ROW = "__page__", "__row__"
#: a nested column: (column, kind: "array" | "object", inner columns: none for an array of
#: scalars; an inner column is a path, or a nested column again)
Nested = tuple[str, str, tuple]


def walk(node: Any, path: str | None) -> Any:
    """Follow a dotted path into serialized output; a missing step gives None."""
    for part in path.split(".") if path else ():
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def elements(node: Any) -> list:
    """A repeated element's items: none when absent, one when the service sent one."""
    if node is None:
        return []
    return [n for n in node if n is not None] if isinstance(node, list) else [node]


def records(answer: Any, path: str | None) -> list[tuple[Any, Any]]:
    """(record, parent) for every record at ``path``, flattening the arrays it passes through."""
    found: list[tuple[Any, Any]] = []

    def descend(node: Any, parts: list[str], parent: Any) -> None:
        while parts and not isinstance(node, list):
            node = node.get(parts[0]) if isinstance(node, dict) else None
            parts = parts[1:]
        if not parts:
            found.extend((item, parent) for item in elements(node))
            return
        for item in elements(node):  # an array on the way: each element is its records' parent
            descend(item, parts, item)

    descend(answer, path.split(".") if path else [], answer)
    return found


def _inner(node: Any, columns: tuple) -> dict[str, Any] | None:
    if node is None:
        return None
    return {
        c if isinstance(c, str) else c[0]: walk(node, c)
        if isinstance(c, str)
        else _nested_value(walk(node, c[0]), *c[1:])
        for c in columns
    }


def _nested_value(node: Any, kind: str, columns: tuple) -> Any:
    if kind == "object":
        return _inner(node, columns)
    items = elements(node)
    return [_inner(item, columns) for item in items] if columns else items


def _scalar(value: Any, column: str) -> Any:
    """A scalar column's value; a complex one is a field mapped as a scalar, refused rather than
    served as the text of a Python dict."""
    if type(value) in (dict, list):
        raise MappingMismatch(
            f"column {column} holds a complex element (child elements, or repeated): "
            "map its field with type: array or type: object",
            column,
        )
    return value


@lru_cache(maxsize=256)
def row_reader(
    columns: tuple[str, ...], nested: tuple[Nested, ...] = (), parents: tuple[tuple[str, str], ...] = ()
) -> Callable[[Any, Any, Any, int], tuple]:
    """``row(record, parent, page, index)``: the values of ``columns``; ``nested`` columns as
    lists/dicts of inner values, ``parents`` columns (column, path) read in the parent."""
    shapes = {column: (kind, inner) for column, kind, inner in nested}
    from_parent = dict(parents)

    def one(column: str) -> Callable[[Any, Any, Any, int], Any]:
        if column == PAGE:
            return lambda record, parent, page, index: page
        if column == ROW:
            return lambda record, parent, page, index: index
        if column in from_parent:
            path = from_parent[column]
            return lambda record, parent, page, index: walk(parent, path)
        if column in shapes:
            kind, inner = shapes[column]
            return lambda record, parent, page, index: _nested_value(walk(record, column), kind, inner)
        if "." not in column:  # the common case, read without splitting a path on every row
            return lambda record, parent, page, index: _scalar(
                record.get(column) if isinstance(record, dict) else None, column
            )
        return lambda record, parent, page, index: _scalar(walk(record, column), column)

    readers = [one(c) for c in columns]

    def row(record: Any, parent: Any, page: Any, index: int) -> tuple:
        return tuple(read(record, parent, page, index) for read in readers)

    return row
