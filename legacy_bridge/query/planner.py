"""The planner: canonical requests in legacy terms, once, for every driver.

A :class:`ListQuery` (or a key, or a canonical body) + the resource's mapping + what its
driver declares it can do (:class:`~legacy_bridge.drivers.base.Driver` capabilities) -> a
plan: the legacy :class:`Query` the driver runs (columns, the conditions it can apply
itself, the order, the keyset position, a row limit), the residual filter applied to its
rows while they stream, the reader that turns a row into a canonical record, and where the
cursor's and the watermark's values sit in a row.  No driver re-derives any of it.

Writes go the same way: a canonical body -> legacy values by column (:meth:`Planner.write`).
Nested fields plan here too: a filter on an inner field (``lines.sku``) is a condition on an
:class:`Inner` column, which a driver applies itself or the residual filter applies to the
nested column's value (any element matching).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from legacy_bridge.config.model import Embed, ResourceSpec
from legacy_bridge.contracts.converters import ConversionError
from legacy_bridge.contracts.mapping import FieldMap, WriteError
from legacy_bridge.drivers.base import Driver
from legacy_bridge.errors import InvalidInput
from legacy_bridge.query.cursors import fingerprint
from legacy_bridge.query.embedding import EmbedPlan, parent_columns, plan_embed, related
from legacy_bridge.query.filtering import predicate
from legacy_bridge.query.legacy import ColumnValue, Condition, Inner, Query, Related, SortKey, SortValue, find_column
from legacy_bridge.query.model import Filter, ListQuery, Watermark

Reader = Callable[[tuple], dict[str, Any]]


def _outer(column: str | Inner) -> str:
    """The row column a condition reads: the nested column holding an inner one."""
    return column if isinstance(column, str) else column.column


def _named(column: str | Inner) -> str:
    return column if isinstance(column, str) else ".".join(filter(None, (column.column, column.inner)))


_CONVERSION_ERRORS = (ConversionError, ValueError, TypeError, ArithmeticError)


@dataclass
class ReadPlan:
    """A read in legacy terms: ``query`` goes to the driver, ``keep`` filters what it yields
    (None: nothing left to filter), ``reader`` makes records of the rows kept."""

    query: Query
    keep: Callable[[tuple], bool] | None
    reader: Reader
    order_positions: list[int]  # where the order's sort values sit in a row (the cursor)
    watermark_positions: list[int]  # where the watermark's columns sit in a row
    query_id: str = ""  # what a cursor of this read belongs to
    #: the embedded fields' children, appended to each row read (query/embedding.py)
    embeds: list[EmbedPlan] = field(default_factory=list)

    def resumed(self, after: tuple) -> ReadPlan:
        """The same read, resuming after a cursor's values."""
        return replace(self, query=replace(self.query, after=after))

    def rows(self, rows: Any) -> Any:
        """The rows the residual filter keeps."""
        return filter(self.keep, rows) if self.keep else rows

    def cursor_values(self, row: tuple) -> tuple:
        return tuple(row[p] for p in self.order_positions)

    def watermark(self, row: tuple) -> tuple:
        return tuple(row[p] for p in self.watermark_positions)


@dataclass
class KeyPlan:
    """One record by key: ``key`` (legacy column -> value) for a driver that looks keys up,
    else ``read``, the list filtered by the key, whose first row is the record."""

    key: dict[str, Any]
    columns: list[str]
    reader: Reader
    read: ReadPlan | None = None
    embeds: list[EmbedPlan] = field(default_factory=list)  # the children appended to the row


@dataclass
class WritePlan:
    """A canonical body as legacy values by column, and how to read the row the source returns."""

    values: dict[str, Any]
    columns: list[str]
    reader: Reader


class Planner:
    """Plans the reads and writes of one resource against its driver."""

    def __init__(self, spec: ResourceSpec, driver: Driver, dump: Callable[[dict], dict] | None = None) -> None:
        self.spec = spec
        self.name = spec.name
        self.mapping = spec.mapping
        self.key = spec.mapping.key
        self.target = spec.target
        self.driver = driver
        self.dump = dump  # a supplied contract's dump, applied to every record
        self.watermark: list[FieldMap] = [spec.mapping.fields[n] for n in spec.watermark]

    # -- what the source can hold and do -------------------------------------------------

    def int_range(self, column: str) -> tuple[int, int] | None:
        """The integers a value on ``column`` may take (None: any): the column's range once the
        source has described its columns, before that what the driver can bind.  Planning never
        waits on the source."""
        found = find_column(self.driver.known_column_types(self.target), column)
        if found is not None and found.low is not None and found.high is not None:
            return found.low, found.high
        return self.driver.int_range

    def column(self, path: str) -> str | Inner:
        """The legacy column a filter on field ``path`` compares: a row column, or an inner
        column of a nested one (filters reach one level down: ``lines.sku``, ``ship_to.city``)."""
        head, _, rest = path.partition(".")
        top = self.mapping.fields[head]
        if not rest:
            assert top.column is not None
            return top.column if top.kind != "array" else Inner(top.column)
        inner = top.fields[rest]
        assert inner.column is not None
        if top.column is None:  # a grouping object: its fields are the row's own columns
            return inner.column
        return Inner(top.column, inner.column)

    def field_int_range(self, path: str) -> tuple[int, int] | None:
        """The integers a filter value on field ``path`` may take (None: any)."""
        if path.count(".") > 1:  # deeper than filters reach (a body's schema): the source's range
            return self.driver.int_range
        column = self.column(path)
        return self.int_range(column) if isinstance(column, str) else self.driver.int_range

    def pushed(self, name: str, op: str) -> bool:
        """Whether the source itself applies a filter ``name[op]`` (else it is applied here)."""
        if self._embed_of(name) is not None:  # a Related term: only sources that join tables embed
            return True
        return self.driver.pushable(Condition(self.column(name), op, None), self.target)

    def _embed_of(self, name: str) -> Embed | None:
        """The embed whose inner field ``name`` (``lines.sku``) names, if it does."""
        head, _, inner = name.partition(".")
        embed = self.spec.embeds.get(head)
        return embed if embed is not None and inner in embed.fields else None

    def default_fields(self) -> list[str]:
        """The fields of a record when a request names none: every field but the embedded ones
        not embedded by default."""
        embeds = self.spec.embeds
        return [n for n in self.mapping.fields if n not in embeds or embeds[n].default]

    def _check_bindable(
        self, fmap: FieldMap, value: Any, text: str, parameter: str, column: str | Inner | None = None
    ) -> None:
        """Refuse a legacy value the source cannot hold, naming the parameter."""
        column = fmap.row_column if column is None else column
        if isinstance(value, int) and not isinstance(value, bool):
            # an inner column's range is the driver's: sources describe their row columns
            bounds = self.int_range(column) if isinstance(column, str) else self.driver.int_range
            if bounds is not None and not bounds[0] <= value <= bounds[1]:
                raise InvalidInput(
                    f"{parameter}: {text!r} is out of range: column {_named(column)} holds "
                    f"integers from {bounds[0]} to {bounds[1]}",
                    parameter=parameter,
                )
        encoding = self.driver.encoding
        if isinstance(value, str) and encoding:
            try:
                value.encode(encoding)
            except UnicodeEncodeError:
                raise InvalidInput(
                    f"{parameter}: {text!r} has characters the code page of source "
                    f"{self.spec.source!r} ({encoding}) cannot hold",
                    parameter=parameter,
                ) from None

    def _check_sendable(self, condition: Condition, f: Filter) -> Condition:
        """Refuse a value the driver cannot send to the source (XML cannot carry control
        characters), for a condition the source applies itself; one applied here takes any text."""
        ranges = self.driver.unsendable
        if ranges and self.driver.pushable(condition, self.target):
            values = condition.value if isinstance(condition.value, tuple) else (condition.value,)
            if any(isinstance(v, str) and any(a <= ord(c) <= b for c in v for a, b in ranges) for v in values):
                raise InvalidInput(
                    f"{f.parameter}: {f.text!r} has a character source {self.spec.source!r} cannot "
                    f"be sent (a control character or a lone surrogate)",
                    parameter=f.parameter,
                )
        return condition

    # -- canonical values -> legacy values ---------------------------------------------

    def legacy_value(
        self, fmap: FieldMap, canonical: Any, text: str, parameter: str, column: str | Inner | None = None
    ) -> Any:
        """A canonical value of ``fmap``'s field as the legacy value the source can hold."""
        try:
            value = fmap.converter.to_legacy(canonical)
        except _CONVERSION_ERRORS as exc:
            raise InvalidInput(f"{parameter}: {text!r} has no legacy form ({exc})", parameter=parameter) from None
        self._check_bindable(fmap, value, text, parameter, column)
        return value

    def condition(self, f: Filter) -> Condition | Related:
        """A canonical filter as a legacy condition on its column (a filter on an embedded
        field: on the child's column, for a row that has such a child)."""
        embed = self._embed_of(f.field)
        if embed is not None:  # on the child's column, which the mapping reads inside the array
            condition = self._condition(f)
            assert isinstance(condition.column, Inner) and condition.column.inner is not None
            return related(embed, replace(condition, column=condition.column.inner))
        return self._check_sendable(self._condition(f), f)

    def _condition(self, f: Filter) -> Condition:
        fmap = self.mapping.field(f.field)
        column = self.column(f.field)
        nulls = fmap.converter.legacy_nulls
        if f.op == "isnull":
            return Condition(column, f.op, f.value, nulls)
        if f.op in ("startswith", "contains"):  # text matched as the source holds it
            self._check_bindable(fmap, f.value, f.text, f.parameter, column)
            return Condition(column, f.op, f.value, nulls)
        if f.op == "in":
            items = f.text.split(",")
            return Condition(
                column,
                f.op,
                tuple(self.legacy_value(fmap, v, t, f.parameter, column) for v, t in zip(f.value, items)),
                nulls,
            )
        return Condition(column, f.op, self.legacy_value(fmap, f.value, f.text, f.parameter, column), nulls)

    def since(self, since: Watermark | None) -> tuple | None:
        """``updated_since``'s legacy watermark values; None from the first row."""
        if since is not None and since.source is not None:
            return since.source
        if since is None or since.values is None:
            return None
        return tuple(self.legacy_value(f, v, since.text, "updated_since") for f, v in zip(self.watermark, since.values))

    # -- reads ----------------------------------------------------------------------

    def order(self, sort: list[tuple[str, bool]], incremental: bool = False) -> list[SortKey]:
        """The requested order completed by the key (or the source's own order), so it is a
        total order and a keyset cursor can resume it."""
        fmap = self.mapping.fields
        if incremental:  # rows without a watermark never match updated_since
            order = [SortKey(f.row_column, False, False) for f in self.watermark]
            return order + [SortKey(fmap[k].row_column, False, False) for k in self.key if k not in self.spec.watermark]
        if sort and not self.driver.supports_sort:
            raise InvalidInput(
                f"{self.name!r} is read in its source's own order and cannot be sorted",
                parameter="sort",
                slug="field-not-sortable",
            )
        order = [SortKey(fmap[n].row_column, desc, fmap[n].nullable) for n, desc in sort]
        if self.driver.natural_order:
            return order + [SortKey(c, False, False) for c in self.driver.natural_order]
        named = {n for n, _ in sort}
        return order + [SortKey(fmap[k].row_column, False, False) for k in self.key if k not in named]

    def _sort_value(self, column: str) -> str | SortValue:
        """What a cursor keeps of sort column ``column``: the column itself where the source
        compares it as read, else what the driver compares it by (also while the source has
        not described its columns yet)."""
        if not self.driver.describes_columns:
            return column
        found = find_column(self.driver.known_column_types(self.target), column)
        return column if found is not None and found.compare == "value" else SortValue(column)

    def _reader(self, names: list[str], columns: list[str] | list[str | SortValue]) -> Reader:
        embeds = self.spec.embeds
        reader = self.mapping.row_reader([n for n in names if n not in embeds], columns)
        # an embedded field's children are canonical already (query/embedding.py)
        embedded = [(n, columns.index(embeds[n].column)) for n in names if n in embeds]
        if embedded:
            base = reader

            def reader(row: tuple) -> dict[str, Any]:
                record = base(row)
                for name, position in embedded:
                    record[name] = row[position]
                return record

        if self.dump is not None:
            dump, read = self.dump, reader
            return lambda row: dump(read(row))
        return reader

    def _plan(
        self,
        fields: list[str],
        order: list[SortKey],
        where: list[Condition | Related],
        watermark: bool = False,
        after: tuple | None = None,
        limit: int | None = None,
    ) -> ReadPlan:
        """Which legacy columns (and sort values) to read, which conditions the driver applies,
        and how a row becomes a record.  ``limit``: the rows wanted, when the driver can stop there."""
        # a Related term (an embedded field's filter) only reaches sources that join tables
        related = [c for c in where if isinstance(c, Related)]
        pushed = [c for c in where if isinstance(c, Condition) and self.driver.pushable(c, self.target)]
        residual = [c for c in where if isinstance(c, Condition) and c not in pushed]
        names = list(dict.fromkeys(fields))
        embeds = [self.spec.embeds[n] for n in names if n in self.spec.embeds]
        flat = [n for n in names if n not in self.spec.embeds]
        watermark_columns = [f.row_column for f in self.watermark] if watermark else []
        sort_values = [self._sort_value(k.column) for k in order]
        columns: list[str | SortValue] = list(
            dict.fromkeys(
                self.mapping.columns(flat)
                + parent_columns(embeds)
                + sort_values
                + watermark_columns
                + [_outer(c.column) for c in residual]
            )
        )
        keep = predicate(residual, columns) if residual else None
        # with filters left to apply here, the driver cannot know how many rows make the read
        query = Query(
            columns=columns, where=pushed, order=order, after=after, limit=None if keep else limit, related=related
        )
        return ReadPlan(
            query,
            keep,
            self._reader(names, columns + [e.column for e in embeds]),
            [columns.index(v) for v in sort_values],
            [columns.index(c) for c in watermark_columns],
            embeds=[plan_embed(e, columns) for e in embeds],
        )

    def read(self, query: ListQuery, page: bool = True, until_watermark: bool = False) -> ReadPlan:
        """A page of ``query`` (``page``: its limit and one more row, to know there is a next) or
        every matching row; ``until_watermark``: the rows carry their watermark, for a stream that
        stops at one."""
        where = [self.condition(f) for f in query.filters]
        since = self.since(query.since)
        order = self.order(query.sort, query.incremental)
        # (watermark..., None...): the keyset terms of the key drop out, leaving exactly
        # "watermark > since" (a YYYYMMDD+HHMMSS pair compared as one value); the values are
        # the column's own, not sort values read from a row
        after = None if since is None else tuple(ColumnValue(v) for v in since) + (None,) * (len(order) - len(since))
        plan = self._plan(
            query.fields,
            order,
            where,
            watermark=query.incremental if page else until_watermark,
            after=after,
            limit=query.limit + 1 if page else None,
        )
        plan.query_id = fingerprint(self.name, where, order, *((since,) if query.incremental else ()))
        return plan

    def high_watermark(self, query: ListQuery) -> ReadPlan:
        """The read whose first row holds the largest watermark among the rows ``query`` selects."""
        order = [SortKey(f.row_column, True, False) for f in self.watermark]
        return self._plan([], order, [self.condition(f) for f in query.filters], watermark=True, limit=1)

    def by_key(self, key: list[Filter], fields: list[str] | None = None) -> KeyPlan:
        """One record by its key (canonical ``eq`` filters, one per key field, in key order)."""
        names = fields or self.default_fields()
        where = [self.condition(f) for f in key]
        if not self.driver.key_lookup(self.target):  # no lookup: the list, filtered by the key
            plan = self._plan(names, [], where)
            return KeyPlan({}, [], plan.reader, plan)
        embeds = [self.spec.embeds[n] for n in names if n in self.spec.embeds]
        flat = [n for n in names if n not in self.spec.embeds]
        columns = list(dict.fromkeys(self.mapping.columns(flat) + parent_columns(embeds)))
        return KeyPlan(
            {_outer(c.column): c.value for c in where if isinstance(c, Condition)},
            columns,
            self._reader(names, columns + [e.column for e in embeds]),
            embeds=[plan_embed(e, columns) for e in embeds],
        )

    # -- writes ---------------------------------------------------------------------

    def legacy_body(self, body: dict[str, Any]) -> dict[str, Any]:
        """A canonical body (validated by the contract) as legacy values by column."""
        try:
            return self.mapping.legacy_values(body)
        except WriteError as exc:
            raise InvalidInput(str(exc), parameter=exc.field, slug="invalid-body") from None

    def stored(self) -> tuple[list[str], Reader]:
        """The columns of every field and how a row of them, as the source stores it, becomes
        a record (the row a write returns or reads back in its own transaction)."""
        names = list(self.mapping.fields)
        columns = list(dict.fromkeys(self.mapping.columns(names)))
        return columns, self._reader(names, columns)

    def write(self, body: dict[str, Any]) -> WritePlan:
        """A canonical body as legacy values by column, and how to read the row the source returns."""
        return WritePlan(self.legacy_body(body), *self.stored())
