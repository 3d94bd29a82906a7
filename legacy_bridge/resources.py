"""Resources at run time: a spec from the config, bound to its source's driver.

This is the middle of the request path: it turns a facade's request (canonical
fields, legacy conditions) into a driver :class:`Query`, runs it, maps legacy rows to
canonical records and signs the cursor of the next page.
"""
from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass, field
from typing import Any, Iterator

from legacy_bridge.contracts.schema import build_contract
from legacy_bridge.drivers import Driver, driver_class

from .config import Config, ResourceSpec
from .cursors import CursorCodec, fingerprint
from .query import Condition, Query, SortKey


@dataclass
class ListRequest:
    """What a client asked of a list, already validated and in legacy terms."""

    fields: list[str]
    where: list[Condition] = field(default_factory=list)
    sort: list[tuple[str, bool]] = field(default_factory=list)   # (canonical field, descending)
    limit: int = 100
    cursor: str | None = None


@dataclass
class Page:
    records: list[dict[str, Any]]
    next: str | None


class Resource:
    def __init__(self, spec: ResourceSpec, driver: Driver, codec: CursorCodec) -> None:
        self.spec = spec
        self.name = spec.name
        self.mapping = spec.mapping
        self.key = spec.mapping.key
        self.driver = driver
        self.codec = codec
        self.contract = spec.contract or build_contract(spec.name, spec.mapping)
        # a supplied contract dumps every record; the built one matches the mapping exactly
        self._dump = self.contract().dump if spec.contract else None

    # -- reads ----------------------------------------------------------------------

    def _order(self, sort: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
        """The requested order completed by the key, so it is a total order."""
        order = list(sort)
        named = {name for name, _ in order}
        order += [(k, False) for k in self.key if k not in named]
        return order

    def _plan(self, fields: list[str], order: list[tuple[str, bool]]) -> tuple[list[str], Any, list[int]]:
        names = list(dict.fromkeys(fields))
        columns = list(dict.fromkeys(self.mapping.columns(names) + self.mapping.columns(n for n, _ in order)))
        positions = [columns.index(self.mapping.fields[n].column) for n in names]
        reader = self.mapping.row_reader(names, positions)
        if self._dump is not None:
            dump, read = self._dump, reader
            reader = lambda row: dump(read(row))   # noqa: E731
        order_pos = [columns.index(self.mapping.fields[n].column) for n, _ in order]
        return columns, reader, order_pos

    def page(self, req: ListRequest) -> Page:
        """One keyset page: ``limit`` records and the cursor of the next, if any."""
        order = self._order(req.sort)
        query_id = fingerprint(self.name, req.where, order)
        after = self.codec.load(req.cursor, query_id, len(order)) if req.cursor else None
        columns, reader, order_pos = self._plan(req.fields, order)
        fmap = self.mapping.fields
        query = Query(columns=columns, where=req.where, after=after, limit=req.limit + 1,
                      order=[SortKey(fmap[n].column, desc, fmap[n].nullable) for n, desc in order])
        with closing(self.driver.fetch(self.spec.target, query)) as rows:
            batch = [row for _, row in zip(range(req.limit + 1), rows)]
        more = len(batch) > req.limit
        batch = batch[:req.limit]
        token = None
        if more:
            last = batch[-1]
            token = self.codec.dump(query_id, tuple(last[p] for p in order_pos))
        return Page(records=[reader(r) for r in batch], next=token)

    def stream(self, req: ListRequest) -> Iterator[dict[str, Any]]:
        """Every record matching ``req`` in key order, without holding them in memory."""
        order = self._order(req.sort)
        columns, reader, _ = self._plan(req.fields, order)
        fmap = self.mapping.fields
        query = Query(columns=columns, where=req.where,
                      order=[SortKey(fmap[n].column, desc, fmap[n].nullable) for n, desc in order])
        with closing(self.driver.fetch(self.spec.target, query)) as rows:
            for row in rows:
                yield reader(row)

    def get(self, key: list[Any], fields: list[str] | None = None) -> dict[str, Any] | None:
        """One record by its key (legacy values, in key order), or None."""
        names = fields or list(self.mapping.fields)
        columns, reader, _ = self._plan(names, [])
        legacy_key = dict(zip(self.mapping.columns(self.key), key))
        row = self.driver.get(self.spec.target, legacy_key, columns)
        return None if row is None else reader(row)


class Bridge:
    """Everything one app serves: sources (drivers) and resources, built from a Config."""

    def __init__(self, config: Config, secret: str) -> None:
        self.config = config
        self.codec = CursorCodec(secret)
        self.drivers: dict[str, Driver] = {
            name: driver_class(opts["kind"])(name, opts) for name, opts in config.sources.items()
        }
        self.resources: dict[str, Resource] = {
            name: Resource(spec, self.drivers[spec.source], self.codec)
            for name, spec in config.resources.items()
        }

    def close(self) -> None:
        for driver in self.drivers.values():
            driver.close()
