"""Resources at run time: a spec from the config, bound to its source's driver.

This is the middle of the request path: it turns a facade's request (canonical
fields, legacy conditions) into a driver :class:`Query`, runs it, maps legacy rows to
canonical records and signs the cursor of the next page.
"""
from __future__ import annotations

import logging
from contextlib import closing
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Callable, Iterator
from zoneinfo import ZoneInfo

from legacy_bridge.contracts.schema import build_contract
from legacy_bridge.drivers import Driver, driver_class

from legacy_bridge.config.model import ApiVersion, Config, ResourceSpec, base_version
from legacy_bridge.query.cursors import CursorCodec, fingerprint
from legacy_bridge.ops.bulkhead import Places, streams_for
from .errors import Busy, InvalidInput, LegacyBridgeError
from legacy_bridge.query.filtering import predicate
from legacy_bridge.ops.probes import probe_all
from legacy_bridge.query.legacy import ColumnValue, Condition, Query, SortKey, SortValue, find_column
from legacy_bridge.ops.resilience import DEFAULT_THREADS, GuardedDriver, guard

log = logging.getLogger("legacy_bridge")


@dataclass
class ListRequest:
    """What a client asked of a list, already validated and in legacy terms."""

    fields: list[str]
    where: list[Condition] = field(default_factory=list)
    sort: list[tuple[str, bool]] = field(default_factory=list)   # (canonical field, descending)
    limit: int = 100
    cursor: str | None = None
    incremental: bool = False     # updated_since given: ordered by the watermark, then the key
    since: tuple | None = None    # legacy watermark values; rows strictly after them


@dataclass
class _Plan:
    columns: list[str | SortValue]            # legacy columns (and sort values) to read, in row order
    pushed: list[Condition]                   # conditions the driver applies
    keep: Callable[[tuple], bool] | None      # the others, applied here
    reader: Callable[[tuple], dict[str, Any]]
    order_positions: list[int]                # where the order's sort values sit in a row
    watermark_positions: list[int]            # where the watermark's columns sit in a row


@dataclass
class Page:
    records: list[dict[str, Any]]
    next: str | None
    watermark: tuple | None = None      # incremental pages: the last row's (legacy values)


class Resource:
    def __init__(self, spec: ResourceSpec, driver: Driver, codec: CursorCodec) -> None:
        self.spec = spec
        self.name = spec.name
        self.mapping = spec.mapping
        self.key = spec.mapping.key
        self.driver = driver
        self.codec = codec
        # another version's contract is named after it (CustomersV2): one document lists both
        self.contract = spec.contract or build_contract(
            spec.name + (f"_{spec.version}" if spec.version else ""), spec.mapping)
        # a supplied contract dumps every record; the built one matches the mapping exactly
        self._dump = self.contract().dump if spec.contract else None
        self.watermark = [spec.mapping.fields[n] for n in spec.watermark]
        zone = driver.options.get("timezone")
        #: the time zone of the source's naive timestamps (None: not declared)
        self.timezone = ZoneInfo(zone) if zone else None

    # -- the source's columns ---------------------------------------------------------

    def int_range(self, column: str) -> tuple[int, int] | None:
        """The integers a filter or key value on ``column`` may take (None: any): the column's
        range once the source has described its columns (at start-up, or on the first sorted
        read when it was down then), before that what the driver can bind.  Parsing never waits
        on the source."""
        found = find_column(self.driver.known_column_types(self.spec.target), column)
        if found is not None and found.low is not None:
            return found.low, found.high
        return self.driver.int_range

    def _order_problem(self, name: str) -> tuple[str, str] | None:
        fmap = self.mapping.fields[name]
        found = find_column(self.driver.column_types(self.spec.target), fmap.column)
        if found is None or found.unsortable is None:
            return None
        path = f"resources.{self.name}." + ("key" if name in self.key else "watermark"
                                            if name in self.spec.watermark else f"fields.{name}.sort")
        return path, (f"field {name!r} (column {fmap.column}, {found.name}) cannot be paged in order: "
                      f"{found.unsortable}")

    def order_problems(self) -> list[tuple[str, str]]:
        """The fields the resource orders by (sortable ones, the key, the watermark) whose column
        cannot be paged in order, as config problems (path, message).  Asks the source."""
        ordered = [n for n, f in self.mapping.fields.items() if f.sort or n in self.spec.watermark]
        return [p for p in map(self._order_problem, ordered) if p is not None]

    # -- reads ----------------------------------------------------------------------

    def _order(self, sort: list[tuple[str, bool]], incremental: bool = False) -> list[SortKey]:
        """The requested order completed by the key (or the source's own order), so it
        is a total order and a keyset cursor can resume it."""
        fmap = self.mapping.fields
        if incremental:       # rows without a watermark never match updated_since
            order = [SortKey(f.column, False, False) for f in self.watermark]
            return order + [SortKey(fmap[k].column, False, False) for k in self.key
                            if k not in self.spec.watermark]
        if sort and not self.driver.supports_sort:
            raise InvalidInput(f"{self.name!r} is read in its source's own order and cannot be sorted",
                             parameter="sort", slug="field-not-sortable")
        order = [SortKey(fmap[n].column, desc, fmap[n].nullable) for n, desc in sort]
        if self.driver.natural_order:
            return order + [SortKey(c, False, False) for c in self.driver.natural_order]
        named = {n for n, _ in sort}
        return order + [SortKey(fmap[k].column, False, False) for k in self.key if k not in named]

    def _plan(self, fields: list[str], order: list[SortKey], where: list[Condition],
              watermark: bool = False) -> _Plan:
        """Which legacy columns (and sort values) to read, and how a row becomes a record."""
        target = self.spec.target
        pushed = [c for c in where if self.driver.pushable(c, target)]
        residual = [c for c in where if c not in pushed]
        names = list(dict.fromkeys(fields))
        marks = [f.column for f in self.watermark] if watermark else []
        sort_values = [self._sort_value(k.column) for k in order]
        columns: list[str | SortValue] = list(dict.fromkeys(
            self.mapping.columns(names) + sort_values + marks + [c.column for c in residual]))
        reader = self.mapping.row_reader(names, [columns.index(self.mapping.fields[n].column) for n in names])
        if self._dump is not None:
            dump, read = self._dump, reader
            reader = lambda row: dump(read(row))   # noqa: E731
        return _Plan(columns, pushed, predicate(residual, columns) if residual else None, reader,
                     [columns.index(v) for v in sort_values], [columns.index(c) for c in marks])

    def _sort_value(self, column: str) -> str | SortValue:
        """What a cursor keeps of sort column ``column``: the column itself where the source
        compares it as read, else what the driver compares it by (also while the source has
        not described its columns yet)."""
        if not self.driver.describes_columns:
            return column
        found = find_column(self.driver.known_column_types(self.spec.target), column)
        return column if found is not None and found.compare == "value" else SortValue(column)

    def _after_since(self, req: ListRequest, order: list[SortKey]) -> tuple | None:
        # (watermark..., None...): the keyset terms of the key drop out, leaving exactly
        # "watermark > since" (a YYYYMMDD+HHMMSS pair compared as one value); the values are
        # the column's own, not sort values read from a row
        if req.since is None:
            return None
        return tuple(ColumnValue(v) for v in req.since) + (None,) * (len(order) - len(req.since))

    def page(self, req: ListRequest) -> Page:
        """One keyset page: ``limit`` records and the cursor of the next, if any."""
        order = self._order(req.sort, req.incremental)
        query_id = fingerprint(self.name, req.where, order, *((req.since,) if req.incremental else ()))
        after = (self.codec.load(req.cursor, query_id, len(order)) if req.cursor
                 else self._after_since(req, order))
        plan = self._plan(req.fields, order, req.where, watermark=req.incremental)
        # with filters left to apply here, the driver cannot know how many rows make a page
        limit = None if plan.keep else req.limit + 1
        query = Query(columns=plan.columns, where=plan.pushed, order=order, after=after, limit=limit)
        rows = self.driver.fetch(self.spec.target, query)
        with closing(rows):
            batch = list(islice(filter(plan.keep, rows) if plan.keep else rows, req.limit + 1))
        token = None
        if len(batch) > req.limit:
            batch = batch[:req.limit]
            token = self.codec.dump(query_id, tuple(batch[-1][p] for p in plan.order_positions))
        mark = None
        if req.incremental and batch:
            mark = tuple(batch[-1][p] for p in plan.watermark_positions)
        return Page(records=[plan.reader(r) for r in batch], next=token, watermark=mark)

    def stream(self, req: ListRequest, upto: tuple | None = None) -> Iterator[dict[str, Any]]:
        """Every record matching ``req`` in order, without holding them in memory;
        incremental streams stop after the watermark ``upto`` (legacy values)."""
        order = self._order(req.sort, req.incremental)
        plan = self._plan(req.fields, order, req.where, watermark=upto is not None)
        query = Query(columns=plan.columns, where=plan.pushed, order=order, after=self._after_since(req, order))
        rows = self.driver.fetch(self.spec.target, query)
        marks = plan.watermark_positions
        with closing(rows):
            for row in filter(plan.keep, rows) if plan.keep else rows:
                if upto is not None and tuple(row[p] for p in marks) > upto:
                    return       # ordered by the watermark: every later row is newer still
                yield plan.reader(row)

    def high_watermark(self, req: ListRequest) -> tuple | None:
        """The largest watermark (legacy values) among the rows ``req``'s filters select."""
        order = [SortKey(f.column, True, False) for f in self.watermark]
        plan = self._plan([], order, req.where, watermark=True)
        query = Query(columns=plan.columns, where=plan.pushed, order=order, limit=None if plan.keep else 1)
        with closing(self.driver.fetch(self.spec.target, query)) as rows:
            row = next(filter(plan.keep, rows) if plan.keep else rows, None)
        return None if row is None else tuple(row[p] for p in plan.watermark_positions)

    def watermark_text(self, values: tuple) -> str:
        """A watermark as clients send it back in ``updated_since`` (ISO for dates and
        times, a date+time pair as one ISO timestamp)."""
        parts = [f.converter.reader()(v) for f, v in zip(self.watermark, values)]
        text = [p.isoformat() if hasattr(p, "isoformat") else str(p) for p in parts]
        return "T".join(text)

    def get(self, key: list[Any], fields: list[str] | None = None) -> dict[str, Any] | None:
        """One record by its key (legacy values, in key order), or None."""
        plan = self._plan(fields or list(self.mapping.fields), [], [])
        legacy_key = dict(zip(self.mapping.columns(self.key), key))
        row = self.driver.get(self.spec.target, legacy_key, plan.columns)
        return None if row is None else plan.reader(row)

    # -- writes ---------------------------------------------------------------------

    def create(self, values: dict[str, Any]) -> dict[str, Any] | None:
        """Create one record from legacy values (legacy column -> value, already
        validated and converted); the record the source returns, or None."""
        if "create" not in self.spec.operations:
            raise InvalidInput(f"{self.name!r} cannot be created through its source", slug="not-creatable")
        plan = self._plan(list(self.mapping.fields), [], [])
        row = self.driver.create(self.spec.target, values, plan.columns)
        return None if row is None else plan.reader(row)


class Bridge:
    """Everything one app serves: sources (drivers) and resources, built from a Config."""

    def __init__(self, config: Config, secret: str) -> None:
        self.config = config
        self.codec = CursorCodec(secret)
        # each driver behind its source's deadline, bulkhead, retries and circuit breaker
        # (resilience.py); the start-up check asks the bare ones, so it counts in no breaker
        # and no metric
        self._bare: dict[str, Driver] = {name: driver_class(opts["kind"])(name, opts)
                                         for name, opts in config.sources.items()}
        self.drivers: dict[str, GuardedDriver] = {
            name: guard(self._bare[name], config.sources[name], measured=config.service.get("metrics", True))
            for name in config.sources
        }
        self.resources: dict[str, Resource] = {
            name: Resource(spec, self.drivers[spec.source], self.codec)
            for name, spec in config.resources.items()
        }
        #: every API version served with its resources, the base version (self.resources) first
        self.versions: list[tuple[ApiVersion, dict[str, Resource]]] = [
            (version, self.resources if version.base else
             {name: Resource(spec, self.drivers[spec.source], self.codec) for name, spec in version.resources.items()})
            for version in config.versions or [base_version(config.service, config.resources)]]
        #: exports streaming at once in this process (``service.max_exports``)
        self.streams = Places(config.service.get("max_exports") or streams_for(DEFAULT_THREADS),
                              lambda n: Busy(f"this worker already streams {n} exports; try again shortly"),
                              "%d exports already streaming in this worker: export refused")

    def fit_threads(self, threads: int) -> None:
        """Size the bulkheads and the export limit for a server process of ``threads``
        request threads (gunicorn.conf.py calls it in each worker), where the config
        does not set them."""
        for driver in self.drivers.values():
            driver.fit_threads(threads)
        if not self.config.service.get("max_exports"):
            self.streams.limit = streams_for(threads)

    def order_problems(self, timeout: float) -> list[tuple[str, str]]:
        """Ask every source that answers within ``timeout`` how its columns order, and return
        the sortable fields (keys, watermarks) that cannot be paged in order.  A source that
        does not answer is asked on its first sorted read instead (the driver then refuses an
        unpageable column).  The connections opened here are closed, so forked workers never
        share one."""
        used = {resource.spec.source for resource in self.resources.values()}
        describing = {n: d for n, d in self._bare.items() if d.describes_columns and n in used}
        if not describing:
            return []
        reports = probe_all(describing, timeout)
        for name, report in reports.items():
            if report["status"] != "ok":
                log.warning("source %s did not answer at start-up (%s): its column types are "
                            "checked on first use", name, report.get("error"))
        problems = []
        for resource in (r for _, resources in self.versions for r in resources.values()):
            if reports.get(resource.spec.source, {}).get("status") == "ok":
                try:
                    problems += resource.order_problems()
                except LegacyBridgeError as error:
                    log.warning("resource %s: its column types could not be read (%s); "
                                "they are read on first use", resource.name, error.detail)
        for driver in describing.values():
            driver.close()
        return problems

    def close(self) -> None:
        for driver in self.drivers.values():
            driver.close()
