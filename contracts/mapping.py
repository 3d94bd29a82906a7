"""Field mappings: canonical name <- legacy column + converter, declared once per resource."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .converters import Converter


@dataclass(frozen=True)
class FieldMap:
    """One canonical field and where it comes from."""

    name: str
    column: str
    converter: Converter
    filter: bool = False
    sort: bool = False
    description: str | None = None
    nullable: bool = True

    @property
    def type(self) -> str:
        return self.converter.type


@dataclass
class Mapping:
    """The fields of one resource and its key (canonical names, in key order)."""

    fields: dict[str, FieldMap]
    key: list[str]
    _readers: dict[str, Callable[[Any], Any]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._readers = {name: f.converter.reader() for name, f in self.fields.items()}

    def columns(self, names: Iterable[str]) -> list[str]:
        return [self.fields[n].column for n in names]

    def row_reader(self, names: list[str], positions: list[int]) -> Callable[[tuple], dict]:
        """A function turning one legacy row into a canonical dict.

        ``positions[i]`` is where field ``names[i]`` sits in the legacy row.  Built
        once per query, called once per row: the hot loop of every read.
        """
        plan = [(name, pos, self._readers[name]) for name, pos in zip(names, positions)]
        return lambda row: {name: read(row[pos]) for name, pos, read in plan}
