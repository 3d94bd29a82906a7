"""Resources at run time: a spec from the config, bound to its source's driver.

This is the middle of the request path: it has a canonical request (a :class:`ListQuery`,
a key, a body) planned (:mod:`legacy_bridge.query.planner`), runs the plan against the
driver, maps legacy rows to canonical records and signs the cursor of the next page.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterator
from contextlib import closing
from dataclasses import dataclass, replace
from itertools import chain, islice
from typing import Any
from zoneinfo import ZoneInfo

from legacy_bridge.actions import Action
from legacy_bridge.config.model import ApiVersion, Config, ResourceSpec, base_version
from legacy_bridge.contracts.mapping import FieldMap
from legacy_bridge.contracts.schema import build_contract, plain_loader
from legacy_bridge.drivers import Driver, driver_class
from legacy_bridge.drivers.flatfile.options import set_mapping
from legacy_bridge.drivers.flatfile.x12_outbound import X12DropRules
from legacy_bridge.drops import DropWriter
from legacy_bridge.ops.bulkhead import Places, streams_for
from legacy_bridge.ops.probes import probe_all
from legacy_bridge.ops.resilience import DEFAULT_THREADS, GuardedDriver, guard
from legacy_bridge.query.cursors import CursorCodec
from legacy_bridge.query.embedding import MAX_PARENTS, attach
from legacy_bridge.query.legacy import find_column
from legacy_bridge.query.model import Filter, ListQuery, Watermark
from legacy_bridge.query.partitions import Partition, PartitionCodec, owner, partitioned, plan_partitions
from legacy_bridge.query.planner import Planner, ReadPlan
from legacy_bridge.writes import RecordWriter, TableWriter
from legacy_bridge.x12_drops import X12DropWriter

from .errors import Busy, InvalidInput, LegacyBridgeError

log = logging.getLogger("legacy_bridge")


@dataclass
class Page:
    records: list[dict[str, Any]]
    next: str | None
    watermark: tuple | None = None  # incremental pages: the last row's (legacy values)


@dataclass
class Export:
    """An export under way: its records (the first already read), the stream they come from
    (to close) and, for an incremental export, the watermark text it ends at."""

    records: Iterator[dict[str, Any]]
    stream: Generator
    watermark: str | None


class Resource:
    def __init__(
        self, spec: ResourceSpec, driver: GuardedDriver, codec: CursorCodec, partition_codec: PartitionCodec
    ) -> None:
        self.spec = spec
        self.name = spec.name
        self.mapping = spec.mapping
        self.key = spec.mapping.key
        #: the source's driver behind its policy: every call to the source goes through it
        self.driver = driver
        #: the driver itself: what the source can do, as it declares it
        self.capabilities: Driver = driver.driver
        self.codec = codec
        self.partition_codec = partition_codec
        # another version's contract is named after it (CustomersV2): one document lists both
        self.contract = spec.contract or build_contract(
            spec.name + (f"_{spec.version}" if spec.version else ""), spec.mapping
        )
        #: a body of plain values as the built contract loads it, or None: load it with the contract
        self.plain_body = (lambda body: None) if spec.contract else plain_loader(self.contract)
        #: a supplied contract's fields (its own rules hold for filter values too); none when built
        self.supplied_fields = self.contract().fields if spec.contract else {}
        # a supplied contract dumps every record; the built one matches the mapping exactly
        self.planner = Planner(spec, self.capabilities, self.contract().dump if spec.contract else None)
        self.watermark = self.planner.watermark
        zone = driver.driver.options.get("timezone")
        #: the time zone of the source's naive timestamps (None: not declared)
        self.timezone = ZoneInfo(zone) if zone else None
        #: the writes ``writes:`` declares on a table, or a SOAP resource's update and delete
        #: operations (None: the resource is read-only, or creates through an operation only)
        writer = TableWriter if self.capabilities.writes_tables else RecordWriter
        self.writer: RecordWriter | None = (
            writer(spec, spec.writes, self.planner, driver, self.capabilities, self.timezone, self.get_many)
            if spec.writes is not None
            else None
        )
        #: the same when it writes a table: it creates records too (POST, all or none)
        self.table_writer = self.writer if isinstance(self.writer, TableWriter) else None
        #: the batch files ``drop:`` writes records into (None: the resource takes no drops)
        self.drop: DropWriter | X12DropWriter | None = None
        if isinstance(spec.drop, X12DropRules):  # X12 documents through the source's mapping in reverse
            mapping = set_mapping(driver.driver.options)
            assert mapping is not None  # the config check read it
            self.drop = X12DropWriter(spec, self.planner, mapping)
        elif spec.drop is not None:
            self.drop = DropWriter(spec, self.planner, self.capabilities)

    # -- the source's columns ---------------------------------------------------------

    def int_range(self, column: str) -> tuple[int, int] | None:
        """The integers a filter or key value on ``column`` may take (None: any)."""
        return self.planner.int_range(column)

    def _order_problem(self, name: str) -> tuple[str, str] | None:
        fmap = self.mapping.fields[name]
        found = find_column(self.capabilities.column_types(self.spec.target), fmap.row_column)
        if found is None or found.unsortable is None:
            return None
        path = f"resources.{self.name}." + (
            "key" if name in self.key else "watermark" if name in self.spec.watermark else f"fields.{name}.sort"
        )
        return path, (
            f"field {name!r} (column {fmap.column}, {found.name}) cannot be paged in order: {found.unsortable}"
        )

    def order_problems(self) -> list[tuple[str, str]]:
        """The fields the resource orders by (sortable ones, the key, the watermark) whose column
        cannot be paged in order, as config problems (path, message).  Asks the source."""
        ordered = [n for n, f in self.mapping.fields.items() if f.sort or n in self.spec.watermark]
        return [p for p in map(self._order_problem, ordered) if p is not None]

    # -- reads ----------------------------------------------------------------------

    def _rows(self, plan: ReadPlan) -> Any:
        """The driver's rows for ``plan`` (a generator: close it when done)."""
        return self.driver.fetch(self.spec.target, plan.query)

    def _planned(self, query: ListQuery, page: bool = True, until_watermark: bool = False) -> ReadPlan:
        """The read of ``query``, within its partition if it names one."""
        plan = self.planner.read(query, page, until_watermark)
        if query.partition is None:
            return plan
        where = [self.planner.condition(f) for f in query.filters]
        return partitioned(self.planner, plan, self.partition_codec.load(query.partition, owner(self.planner, where)))

    def partitions(self, query: ListQuery, parts: int) -> tuple[list[tuple[str, Partition]], str | None]:
        """Up to ``parts`` partitions of ``query``'s records, all as of now (see
        :mod:`legacy_bridge.query.partitions`): (token, partition) pairs, and the watermark text
        of the moment for a resource split by key that has a watermark."""
        where = [self.planner.condition(f) for f in query.filters]
        by_key = self.capabilities.partitioning == "keys"
        watermark = self.high_watermark(query) if by_key and self.watermark else None
        planned = plan_partitions(self.planner, self.driver, where, watermark, parts)
        owner_id = owner(self.planner, where)
        tokens = [(self.partition_codec.dump(owner_id, p), p) for p in planned]
        return tokens, None if watermark is None else self.watermark_text(watermark)

    def page(self, query: ListQuery) -> Page:
        """One keyset page: ``limit`` records and the cursor of the next, if any."""
        plan = self._planned(query)
        if query.cursor:
            plan = plan.resumed(self.codec.load(query.cursor, plan.query_id, len(plan.query.order)))
        with closing(self._rows(plan)) as rows:
            batch = list(islice(plan.rows(rows), query.limit + 1))
        token = None
        if len(batch) > query.limit:
            batch = batch[: query.limit]
            token = self.codec.dump(plan.query_id, plan.cursor_values(batch[-1]))
        batch = attach(plan.embeds, batch, self.driver.fetch_all)  # one more query per embedded field
        watermark = plan.watermark(batch[-1]) if query.incremental and batch else None
        return Page(records=[plan.reader(r) for r in batch], next=token, watermark=watermark)

    def stream(self, query: ListQuery, last_watermark: tuple | None = None) -> Generator[dict[str, Any], None, None]:
        """Every record matching ``query`` in order, without holding them in memory;
        incremental streams stop after ``last_watermark`` (legacy values)."""
        until = last_watermark
        plan = self._planned(query, page=False, until_watermark=until is not None)
        for row in self._embedded(plan) if plan.embeds else self._streamed(plan):
            if until is not None and plan.watermark(row) > until:
                return  # ordered by the watermark: every later row is newer still
            yield plan.reader(row)

    def _streamed(self, plan: ReadPlan) -> Generator[tuple, None, None]:
        rows = self._rows(plan)
        with closing(rows):
            yield from plan.rows(rows)

    def _embedded(self, plan: ReadPlan) -> Generator[tuple, None, None]:
        """The rows of ``plan`` with their children, read as keyset pages of MAX_PARENTS
        parents, each followed by one query for their children: memory holds one batch, and
        no two reads of the source are open at once (a stream holds one bulkhead place)."""
        # with a filter applied here, the source cannot know how many rows make a batch
        limit = None if plan.keep else MAX_PARENTS
        while True:
            with closing(self._rows(replace(plan, query=replace(plan.query, limit=limit)))) as rows:
                batch = list(islice(plan.rows(rows), MAX_PARENTS))
            yield from attach(plan.embeds, batch, self.driver.fetch_all)
            if len(batch) < MAX_PARENTS:
                return
            plan = plan.resumed(plan.cursor_values(batch[-1]))

    def high_watermark(self, query: ListQuery) -> tuple | None:
        """The largest watermark (legacy values) among the rows ``query``'s filters select."""
        plan = self.planner.high_watermark(query)
        with closing(self._rows(plan)) as rows:
            row = next(plan.rows(rows), None)
        return None if row is None else plan.watermark(row)

    def export(self, query: ListQuery) -> Export:
        """Every record of ``query``, the first already read (errors raise here, before a byte
        is sent).  An incremental export reads the highest watermark first and stops there, so
        the watermark it announces up front is exact even while rows are being written."""
        until = self.high_watermark(query) if query.incremental else None
        records = self.stream(query, last_watermark=until)
        first = next(records, None)
        if first is None:
            return Export(iter(()), records, None)
        return Export(chain([first], records), records, self.watermark_text(until) if until is not None else None)

    def table_columns(self, fields: list[str]) -> list[str]:
        """The columns of a table export (CSV) of ``fields``: an object's fields flattened as
        ``ship_to.city``; an array has no cell, so selecting one is a 400 naming it."""
        arrays = [n for n in fields if _holds_array(self.mapping.fields[n])]
        if arrays:
            raise InvalidInput(
                f"a CSV row has no cell for the array field(s) {', '.join(arrays)}: leave them out "
                f"with fields=..., or export NDJSON",
                parameter="fields",
                slug="nested-in-csv",
            )
        return [c for n in fields for c in _flat_names(n, self.mapping.fields[n])]

    def since(self, values: tuple) -> Watermark:
        """The ``updated_since`` of a pull that resumes after the watermark ``values`` (legacy)."""
        return Watermark(
            tuple(f.converter.reader()(v) for f, v in zip(self.watermark, values)),
            self.watermark_text(values),
            source=values,
        )

    def watermark_text(self, values: tuple) -> str:
        """A watermark as clients send it back in ``updated_since`` (ISO for dates and
        times, a date+time pair as one ISO timestamp)."""
        parts = [f.converter.reader()(v) for f, v in zip(self.watermark, values)]
        text = [p.isoformat() if hasattr(p, "isoformat") else str(p) for p in parts]
        return "T".join(text)

    def get(self, key: list[Filter], fields: list[str] | None = None) -> dict[str, Any] | None:
        """One record by its key (canonical ``eq`` filters, in key order), or None."""
        plan = self.planner.by_key(key, fields)
        if plan.read is not None:
            with closing(self._rows(plan.read)) as rows:
                row = next(plan.read.rows(rows), None)
        else:
            row = self.driver.get(self.spec.target, plan.key, plan.columns)
        if row is None:
            return None
        embeds = plan.read.embeds if plan.read is not None else plan.embeds
        if embeds:  # one more query per embedded field
            row = attach(embeds, [tuple(row)], self.driver.fetch_all)[0]
        return plan.reader(row)

    def get_many(self, keys: list[list[Filter]], chunk: int = 500) -> list[dict[str, Any] | None]:
        """The records of many keys (each as :meth:`get` takes it), in their order: a keyed
        read of ``chunk`` records at a time for a one-field key, else one read per key."""
        if len(self.key) != 1:
            return [self.get(key) for key in keys]
        name, found = self.key[0], {}
        for start in range(0, len(keys), chunk):
            part = [k[0] for k in keys[start : start + chunk]]
            wanted = Filter(name, "in", tuple(f.value for f in part), name, ",".join(f.text for f in part))
            for record in self.page(ListQuery(fields=list(self.mapping.fields), filters=[wanted], limit=chunk)).records:
                found[record[name]] = record
        return [found.get(key[0].value) for key in keys]

    # -- writes ---------------------------------------------------------------------

    def create(self, body: dict[str, Any], caller: str | None = None) -> dict[str, Any] | None:
        """Create one record from a canonical body (validated by the contract) through the
        source's create operation, journaled as made by ``caller``; the record the source
        returns, or None."""
        if "create" not in self.spec.operations:
            raise InvalidInput(f"{self.name!r} cannot be created through its source", slug="not-creatable")
        plan = self.planner.write(body)
        row = self.driver.create(self.spec.target, plan.values, plan.columns)
        record = None if row is None else plan.reader(row)
        if self.writer is not None:
            self.writer.created(record, caller)
        return record


def _holds_array(fmap: FieldMap) -> bool:
    return fmap.kind == "array" or any(_holds_array(f) for f in fmap.fields.values())


def _flat_names(name: str, fmap: FieldMap) -> list[str]:
    if fmap.kind != "object":
        return [name]
    return [c for n, f in fmap.fields.items() for c in _flat_names(f"{name}.{n}", f)]


class Bridge:
    """Everything one app serves: sources (drivers) and resources, built from a Config."""

    def __init__(self, config: Config, secret: str) -> None:
        self.config = config
        self.codec = CursorCodec(secret)
        self.partition_codec = PartitionCodec(secret)
        self.openapi: bytes | None = None  # the document, built once per process when first asked
        # each driver behind its source's deadline, bulkhead, retries and circuit breaker
        # (resilience.py); the start-up check asks the bare ones, so it counts in no breaker
        # and no metric
        self.bare_drivers: dict[str, Driver] = {
            name: driver_class(opts["kind"])(name, opts) for name, opts in config.sources.items()
        }
        self.drivers: dict[str, GuardedDriver] = {
            name: guard(self.bare_drivers[name], config.sources[name], measured=config.service.get("metrics", True))
            for name in config.sources
        }
        self.resources: dict[str, Resource] = {
            name: Resource(spec, self.drivers[spec.source], self.codec, self.partition_codec)
            for name, spec in config.resources.items()
        }
        #: stored procedures and functions, each behind its source's policy (base version only)
        self.actions = {name: Action(spec, self.drivers[spec.source]) for name, spec in config.actions.items()}
        #: every API version served with its resources, the base version (self.resources) first
        self.versions: list[tuple[ApiVersion, dict[str, Resource]]] = [
            (
                version,
                self.resources
                if version.base
                else {
                    name: Resource(spec, self.drivers[spec.source], self.codec, self.partition_codec)
                    for name, spec in version.resources.items()
                },
            )
            for version in config.versions or [base_version(config.service, config.resources)]
        ]
        #: exports streaming at once in this process (``service.max_exports``)
        self.streams = Places(
            config.service.get("max_exports") or streams_for(DEFAULT_THREADS),
            lambda n: Busy(f"this worker already streams {n} exports; try again shortly"),
            "%d exports already streaming in this worker: export refused",
        )

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
        describing = {n: d for n, d in self.bare_drivers.items() if d.describes_columns and n in used}
        if not describing:
            return []
        reports = probe_all(describing, timeout)
        for name, report in reports.items():
            if report["status"] != "ok":
                log.warning(
                    "source %s did not answer at start-up (%s): its column types are checked on first use",
                    name,
                    report.get("error"),
                )
        problems = []
        for resource in (r for _, resources in self.versions for r in resources.values()):
            if reports.get(resource.spec.source, {}).get("status") == "ok":
                try:
                    problems += resource.order_problems()
                except LegacyBridgeError as error:
                    log.warning(
                        "resource %s: its column types could not be read (%s); they are read on first use",
                        resource.name,
                        error.detail,
                    )
        for driver in describing.values():
            driver.close()
        return problems

    def start_drop_timers(self) -> None:
        """In a process that serves: the thread that closes each drop resource's batches by age."""
        for resource in self.resources.values():
            if isinstance(resource.drop, DropWriter):
                resource.drop.batches.start_timer()

    def close(self) -> None:
        for driver in self.drivers.values():
            driver.close()
