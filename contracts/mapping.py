"""Field mappings: canonical name <- legacy column + converter, declared once per resource.

A field is a scalar (one column, one converter), an object (a group of inner fields) or an
array (of objects, or of scalars through one converter).  A nested field's column holds what
the driver delivers for it: a dict of inner legacy columns (object), a list of such dicts or
a list of legacy values (array).  An object without a column groups the row's own columns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .converters import Converter

__all__ = ["FieldMap", "Mapping", "Rules", "WriteError", "KINDS"]

KINDS = ("scalar", "object", "array")
#: generated row readers kept per mapping (one per shape of query: fields and column positions)
SHAPES_KEPT = 64


@dataclass(frozen=True)
class Rules:
    """What a value must be before the legacy system sees it (the contract checks it)."""

    pattern: str | None = None
    min_length: int | None = None
    max_length: int | None = None
    minimum: Any = None
    maximum: Any = None
    enum: tuple | None = None

    def __bool__(self) -> bool:
        return any(v is not None for v in self.__dict__.values())


@dataclass(frozen=True)
class FieldMap:
    """One canonical field and where it comes from."""

    name: str
    column: str | None
    converter: Converter
    filter: bool = False
    sort: bool = False
    description: str | None = None
    nullable: bool = True
    kind: str = "scalar"  # or object, array
    fields: dict[str, FieldMap] = field(default_factory=dict)  # an object's (array element's) fields
    rules: Rules = field(default_factory=Rules)

    @property
    def type(self) -> str:
        return self.converter.type if self.kind == "scalar" else self.kind

    @property
    def row_column(self) -> str:
        """The column of a field read from one row column (scalars: keys, sorts, watermarks)."""
        if self.column is None:
            raise ValueError(f"field {self.name!r} groups columns: it has no column of its own")
        return self.column

    @property
    def value_type(self) -> str:
        """The canonical type of one value a filter compares (an array of scalars: an element's)."""
        return self.converter.type if not self.fields else self.kind

    @property
    def nested(self) -> bool:
        return self.kind != "scalar"

    @property
    def of_objects(self) -> bool:
        """An object, or an array whose elements are objects (it has inner fields)."""
        return bool(self.fields)


def _element_reader(fmap: FieldMap) -> Callable[[Any], Any]:
    """Reads one legacy value of ``fmap`` (for an array: one element)."""
    if not fmap.of_objects:
        return fmap.converter.reader()
    plan = [(name, f.column, _value_reader(f)) for name, f in fmap.fields.items()]
    return lambda d: None if d is None else {name: read(d.get(column)) for name, column, read in plan}


def _value_reader(fmap: FieldMap) -> Callable[[Any], Any]:
    """Reads the legacy value a driver delivers at ``fmap``'s column."""
    if fmap.kind != "array":
        return _element_reader(fmap)
    element = _element_reader(fmap)
    return lambda items: None if items is None else [element(e) for e in items]


@dataclass
class Mapping:
    """The fields of one resource and its key (canonical names, in key order)."""

    fields: dict[str, FieldMap]
    key: list[str]
    _readers: dict[str, Callable[[Any], Any]] = field(default_factory=dict, repr=False)
    _paths: dict[str, FieldMap] = field(default_factory=dict, repr=False)
    _shapes: dict[tuple, Callable[[tuple], dict]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._readers = {n: _value_reader(f) for n, f in self.fields.items() if f.column is not None}
        # a scalar converter as simple as a strip is written into the generated reader itself
        self._inline = {n: f.converter.inline_code() if f.kind == "scalar" else None for n, f in self.fields.items()}
        self._paths = dict(_walk(self.fields, ""))

    # -- names ----------------------------------------------------------------------

    def field(self, path: str) -> FieldMap:
        """A field by its dotted path (``lines.sku``); KeyError when there is none."""
        return self._paths[path]

    def has(self, path: str) -> bool:
        return path in self._paths

    def leaves(self) -> dict[str, FieldMap]:
        """Every scalar field (and array of scalars), top-level or inner, by dotted path."""
        return {p: f for p, f in self._paths.items() if not f.of_objects}

    def filterable(self) -> dict[str, FieldMap]:
        """The fields a list filters on, by dotted path (``lines.sku``)."""
        return {p: f for p, f in self._paths.items() if f.filter}

    # -- reads ----------------------------------------------------------------------

    def columns(self, names: Iterable[str]) -> list[str]:
        """The legacy columns fields ``names`` read (a grouping object: its fields' columns)."""
        return [c for n in names for c in _columns(self.fields[n])]

    def row_reader(self, names: list[str], columns: Sequence[object]) -> Callable[[tuple], dict]:
        """A function turning one legacy row (values in ``columns`` order) into a canonical dict.

        Built once per shape of query (the fields and where their columns sit), called once per
        row: the hot loop of every read.  A page's query has the shape of the last one's, so its
        reader is kept (generating one costs about a page's worth of conversions of 100 rows).
        """
        shape = (tuple(names), tuple(columns.index(c) for c in self.columns(names)))
        reader = self._shapes.get(shape)
        if reader is None:
            if len(self._shapes) >= SHAPES_KEPT:  # ``fields=`` makes many shapes: keep the newest
                self._shapes.clear()
            reader = self._shapes[shape] = self._row_reader(names, columns)
        return reader

    def _row_reader(self, names: list[str], columns: Sequence[object]) -> Callable[[tuple], dict]:
        if not all(self.fields[n].column is not None for n in names):  # grouping objects: part by part
            parts = [(n, _row_part(self.fields[n], columns, self._readers.get(n))) for n in names]
            return lambda row: {name: part(row) for name, part in parts}
        positions = [columns.index(self.fields[n].column) for n in names]
        # generated once from the plan, as a dict display: no loop, no tuple unpacking and,
        # for converters as simple as a strip, no call per value (the exports' floor, a
        # hand-written converter, does the same).  Names and readers reach the code as
        # globals of its own, never as text; inline expressions are the converters' own.
        keys = {f"k{i}": name for i, name in enumerate(names)}
        readers = {f"r{i}": self._readers[name] for i, name in enumerate(names)}
        scope: dict[str, Any] = {**keys, **readers}
        items = []
        for i, (name, pos) in enumerate(zip(names, positions)):
            inline = self._inline[name]
            if inline is None:
                value = f"r{i}(row[{int(pos)}])"
            else:  # the converter's objects as globals named for this field: g<i>_<name>
                expression, objects = inline
                scope.update({f"g{i}_{n}": o for n, o in objects.items()})
                code = expression.format(**{n: f"g{i}_{n}" for n in objects})
                value = f"(None if (v := row[{int(pos)}]) is None else {code})"
            items.append(f"k{i}: {value}")
        source = f"def read(row):\n    return {{{', '.join(items)}}}\n"
        exec(compile(source, "<row reader>", "exec"), scope)  # noqa: S102 - column positions only
        return scope["read"]

    # -- writes ---------------------------------------------------------------------

    def legacy_values(self, body: dict[str, Any]) -> dict[str, Any]:
        """A canonical body as legacy values by column (nested fields as the driver delivers
        them).  Raises the converter's error with ``.field`` set to the field's path."""
        values: dict[str, Any] = {}
        for name, value in body.items():
            _write_into(values, self.fields[name], value, name)
        return values


def _walk(fields: dict[str, FieldMap], prefix: str) -> Iterable[tuple[str, FieldMap]]:
    for name, f in fields.items():
        yield prefix + name, f
        if f.fields:
            yield from _walk(f.fields, f"{prefix}{name}.")


def _columns(fmap: FieldMap) -> list[str]:
    if fmap.column is not None:
        return [fmap.column]
    return [c for f in fmap.fields.values() for c in _columns(f)]


def _row_part(fmap: FieldMap, columns: Sequence[object], read: Callable[[Any], Any] | None) -> Callable[[tuple], Any]:
    """Reads field ``fmap`` from a row: its column, or (a grouping object) its fields' columns."""
    if fmap.column is not None:
        assert read is not None
        pos = columns.index(fmap.column)
        return lambda row: read(row[pos])
    parts = [(n, _row_part(f, columns, _value_reader(f) if f.column else None)) for n, f in fmap.fields.items()]
    return lambda row: {name: part(row) for name, part in parts}


class WriteError(ValueError):
    """A canonical value with no legacy form; ``field`` is its dotted path."""

    def __init__(self, field: str, value: Any, reason: Exception) -> None:
        super().__init__(f"{field}: {value!r} has no legacy form ({reason})")
        self.field = field


def _write_into(values: dict[str, Any], fmap: FieldMap, value: Any, path: str) -> None:
    if fmap.column is None:  # a grouping object: its fields go to the row's own columns (null: all null)
        for name, inner in (value or dict.fromkeys(fmap.fields)).items():
            _write_into(values, fmap.fields[name], inner, f"{path}.{name}")
        return
    try:
        values[fmap.column] = _legacy(fmap, value, path)
    except WriteError:
        raise
    except (ValueError, TypeError, ArithmeticError) as exc:
        raise WriteError(path, value, exc) from None


def _null(fmap: FieldMap) -> Any:
    """What a null is written as: the converter's first legacy "no value" sentinel (a YYYYMMDD
    column's 0), else NULL."""
    nulls = fmap.converter.legacy_nulls
    return nulls[0] if nulls and fmap.kind == "scalar" else None


def _legacy(fmap: FieldMap, value: Any, path: str) -> Any:
    if value is None:
        return _null(fmap)
    if fmap.kind == "array":
        return [_element(fmap, v, f"{path}[{i}]") for i, v in enumerate(value)]
    return _element(fmap, value, path)


def _element(fmap: FieldMap, value: Any, path: str) -> Any:
    if value is None:
        return _null(fmap) if not fmap.of_objects else None
    if not fmap.of_objects:
        try:
            return fmap.converter.to_legacy(value)
        except (ValueError, TypeError, ArithmeticError) as exc:
            raise WriteError(path, value, exc) from None
    out: dict[str, Any] = {}
    for name, inner in value.items():
        _write_into(out, fmap.fields[name], inner, f"{path}.{name}")
    return out
