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
        self._inline = {name: f.converter.inline() for name, f in self.fields.items()}

    def columns(self, names: Iterable[str]) -> list[str]:
        return [self.fields[n].column for n in names]

    def row_reader(self, names: list[str], positions: list[int]) -> Callable[[tuple], dict]:
        """A function turning one legacy row into a canonical dict.

        ``positions[i]`` is where field ``names[i]`` sits in the legacy row.  Built
        once per query, called once per row: the hot loop of every read.
        """
        # generated once from the plan, as a dict display: no loop, no tuple unpacking and,
        # for converters as simple as a strip, no call per value (the exports' floor, a
        # hand-written converter, does the same).  Names and readers reach the code as
        # globals of its own, never as text; inline expressions are the converters' own.
        keys = {f"k{i}": name for i, name in enumerate(names)}
        readers = {f"r{i}": self._readers[name] for i, name in enumerate(names)}
        items = []
        for i, (name, pos) in enumerate(zip(names, positions)):
            inline = self._inline[name]
            value = (
                f"r{i}(row[{int(pos)}])"
                if inline is None
                else f"(None if (v := row[{int(pos)}]) is None else {inline})"
            )
            items.append(f"k{i}: {value}")
        source = f"def read(row):\n    return {{{', '.join(items)}}}\n"
        scope: dict[str, Any] = {**keys, **readers}
        exec(compile(source, "<row reader>", "exec"), scope)  # noqa: S102 - column positions only
        return scope["read"]
