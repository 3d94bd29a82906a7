"""Writes of one resource, in canonical terms: create (one record or many, all or none: a
table's), update (partial or whole) and delete (a table's, or a SOAP resource's operations);
with the ``If-Match`` precondition and the legacy columns the contract does not show
(``writes.defaults``).  No HTTP here: the facade parses and answers.

Every value goes to the source through the same two-way converters filters use, and is held
to what the column can take (length, digits, integer range, code page) first: a value that
does not fit is a 400 naming the field, never truncated, rounded or replaced on the way.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable
from decimal import Decimal
from functools import cached_property
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from legacy_bridge.config.model import ResourceSpec
from legacy_bridge.config.writes import Default, WriteSpec
from legacy_bridge.contracts.schema import contract_field
from legacy_bridge.drivers.base import Driver
from legacy_bridge.errors import InvalidInput, NotFound, PreconditionFailed, PreconditionRequired
from legacy_bridge.formats.jsonio import dumps
from legacy_bridge.query.legacy import ColumnType, NewKey, find_column
from legacy_bridge.query.model import Filter
from legacy_bridge.query.planner import Planner

log = logging.getLogger("legacy_bridge")

__all__ = ["RecordWriter", "TableWriter", "Journal", "etag_of", "etag_matches"]


class Journal(Protocol):
    """Records one write through the API (legacy_bridge.events.journal.WriteJournal)."""

    def record(self, kind: str, caller: str | None, changes: list[tuple[dict | None, dict | None]]) -> None: ...


def etag_of(record: dict[str, Any]) -> str:
    """The strong ETag of a record: a hash of its JSON form (the whole record: a ``fields``
    selection has an ETag of its own, which no write takes as a precondition)."""
    return '"' + hashlib.blake2b(dumps(record), digest_size=12).hexdigest() + '"'


def etag_matches(header: str | None, etag: str) -> bool:
    """Whether an If-Match / If-None-Match header names ``etag`` (or is ``*``)."""
    if not header:
        return False
    if header.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in header.split(","))


class RecordWriter:
    """Update and delete by key, with the ``If-Match`` precondition, each journaled: what every
    writing source does, a table's (through :class:`TableWriter`) or a SOAP service's update
    and delete operations (the driver's :meth:`~legacy_bridge.drivers.base.Driver.update`)."""

    def __init__(
        self,
        resource: ResourceSpec,
        spec: WriteSpec,
        planner: Planner,
        driver: Any,
        capabilities: Driver,
        timezone: ZoneInfo | None,
        read_back: Callable[[list[list[Filter]]], list[dict[str, Any] | None]],
    ) -> None:
        self.name = resource.name
        self.spec = spec
        self.mapping = resource.mapping
        self.key = resource.mapping.key
        self.planner = planner
        self.driver = driver  # the guarded driver: its writes are never retried
        self.capabilities = capabilities
        self.target = resource.target
        self.embedded = bool(resource.embeds)  # a record holds children read by queries of their own
        self.timezone = timezone
        self.read_back = read_back
        #: what journals each write (audit record, change event): set by the app, with its state store
        self.journal: Journal | None = None
        self._types: tuple[dict[str, ColumnType], Callable[[str], ColumnType | None]] | None = None

    @property
    def generated(self) -> bool:
        """Whether the source gives new records their key (a table's ``writes.key``)."""
        return False

    def _journal(self, kind: str, caller: str | None, before: dict | None, after: dict | None) -> None:
        if self.journal is not None:
            self.journal.record(kind, caller, [(before, after)])

    def _defaults(self, when: str, caller: str | None) -> dict[str, Any]:
        """The legacy columns the contract does not show, on ``when`` (create, update)."""
        return {}

    def _fit(self, values: dict[str, Any], prefix: str = "") -> None:
        """Refuse a value the source cannot hold as given, naming the field (before the call)."""

    def _legacy(self, body: dict[str, Any], prefix: str = "") -> dict[str, Any]:
        try:
            values = self.planner.legacy_body(body)
        except InvalidInput as error:
            if prefix:
                parameter = prefix + str(error.extra.get("parameter", ""))
                raise InvalidInput(f"{prefix}{error.detail}", parameter=parameter, slug="invalid-body") from None
            raise
        self._fit(values, prefix)
        return values

    def _required(self, body: dict[str, Any], prefix: str, replace: bool) -> None:
        """A new (or replacing) record holds every field that is never null."""
        missing = [
            name
            for name, f in self.mapping.fields.items()
            if not f.nullable and body.get(name) is None and not (self.generated and name in self.key)
        ]
        if replace:
            missing = [n for n in missing if n not in self.key]
        if missing:
            raise InvalidInput(
                f"{prefix}{', '.join(missing)}: required (never null)",
                parameter=prefix + missing[0],
                slug="invalid-body",
            )

    # -- writes ---------------------------------------------------------------------

    def created(self, record: dict[str, Any] | None, caller: str | None) -> None:
        """Journal a record a create operation made (a SOAP service's); one whose answer does
        not hold the key is not journaled (an audit record names its key)."""
        if record is not None and all(record.get(k) is not None for k in self.key):
            self._journal("create", caller, None, record)
        else:
            log.warning("%s: a create answered no key: no audit record", self.name)

    def _check(self, if_match: str | None, reader: Callable[[tuple], dict]) -> Callable[[tuple], None] | None:
        if if_match is None:
            if self.spec.require_if_match:
                raise PreconditionRequired(
                    f"{self.name} takes this write only with If-Match: the ETag of the record (GET)"
                )
            return None

        def check(row: tuple) -> None:
            current = etag_of(reader(row))
            if not etag_matches(if_match, current):
                raise PreconditionFailed(
                    "the record changed since that ETag: GET it again (its ETag is in this answer's ETag header)",
                    etag=current,
                )

        return check

    def update(
        self, key: list[Filter], body: dict[str, Any], replace: bool, if_match: str | None, caller: str | None
    ) -> dict[str, Any]:
        """Change the record with ``key``: the fields ``body`` holds (``replace``: every field,
        absent ones to null); the record as read back."""
        for filt in key:
            if filt.field in body and body[filt.field] != filt.value:
                raise InvalidInput(
                    f"{filt.field}: the key of a record does not change (it is {filt.text!r} in the path)",
                    parameter=filt.field,
                    slug="invalid-body",
                )
        if replace:
            self._required(body, "", replace=True)
            body = {n: body.get(n) for n in self.mapping.fields if n not in self.key}
        else:
            body = {n: v for n, v in body.items() if n not in self.key}
        plan = self.planner.by_key(key)
        check = self._check(if_match, plan.reader)
        values = {**self._legacy(body), **self._defaults("update", caller)}
        rows = self.driver.update(self.target, plan.key, values, plan.columns, check)
        if rows is None:
            raise NotFound(f"no {self.name} with key {'/'.join(f.text for f in key)!r}")
        before, after = plan.reader(rows[0]), plan.reader(rows[1])
        self._journal("update", caller, before, after)
        return after

    def delete(self, key: list[Filter], if_match: str | None, caller: str | None) -> dict[str, Any]:
        """Delete the record with ``key``; the record as it was."""
        plan = self.planner.by_key(key)
        check = self._check(if_match, plan.reader)
        row = self.driver.delete(self.target, plan.key, plan.columns, check)
        if row is None:
            raise NotFound(f"no {self.name} with key {'/'.join(f.text for f in key)!r}")
        before = plan.reader(row)
        self._journal("delete", caller, before, None)
        return before


class TableWriter(RecordWriter):
    """The writes a resource's ``writes:`` declares, against its table: create as well."""

    @property
    def generated(self) -> bool:
        return self.spec.key != "client"

    @cached_property
    def new_key(self) -> NewKey:
        """How the table gives a new row its key (``writes.key``)."""
        return NewKey(self.mapping.fields[self.key[0]].row_column, self.spec.key, self.spec.generator)

    @cached_property
    def _field_of_column(self) -> dict[str, str]:
        return {f.column: n for n, f in self.mapping.leaves().items() if f.column is not None}

    @cached_property
    def _key_readers(self) -> dict[str, Callable[[Any], Any]]:
        return {n: self.mapping.fields[n].converter.reader() for n in self.key}

    # -- values ---------------------------------------------------------------------

    def _column_types(self) -> Callable[[str], ColumnType | None]:
        """A column's described type, each looked up once while the source's description (asked
        once per target) stays the same: an array of 10,000 rows asks it 30,000 times."""
        types = self.capabilities.column_types(self.target)
        if self._types is None or self._types[0] is not types:
            found: dict[str, ColumnType | None] = {}

            def lookup(column: str) -> ColumnType | None:
                if column not in found:
                    found[column] = find_column(types, column)
                return found[column]

            self._types = (types, lookup)
        return self._types[1]

    def _now(self) -> dt.datetime:
        zone = self.timezone
        return dt.datetime.now(zone).replace(tzinfo=None) if zone else dt.datetime.now()

    def _default(self, default: Default, caller: str | None) -> Any:
        if default.key_id:
            return caller
        if default.now is not None:
            now = self._now()
            value = {"date": now.date(), "time": now.time().replace(microsecond=0)}.get(default.now.type, now)
            return default.now.to_legacy(value)
        return default.value

    def _defaults(self, when: str, caller: str | None) -> dict[str, Any]:
        return {d.column: self._default(d, caller) for d in self.spec.defaults if when in d.on}

    def _fit(self, values: dict[str, Any], prefix: str = "") -> None:
        """Refuse a value its column cannot hold as given (too long, too many digits, out of
        the integer range), naming the field: the source would truncate, round or refuse it."""
        found_of = self._column_types()
        for column, value in values.items():
            found = found_of(column)
            if found is None or value is None:
                continue
            if isinstance(value, str) and found.length is not None and len(value) > found.length:
                name = prefix + self._field_of_column.get(column, column)
                raise InvalidInput(
                    f"{name}: {len(value)} characters do not fit column {column} ({found.length} at most)",
                    parameter=name,
                    slug="invalid-body",
                )
            if isinstance(value, Decimal) and found.digits is not None:
                _fit_decimal(
                    prefix + self._field_of_column.get(column, column), column, value, found.digits, found.scale or 0
                )
            if isinstance(value, int) and not isinstance(value, bool) and found.low is not None:
                if not found.low <= value <= (found.high if found.high is not None else value):
                    name = prefix + self._field_of_column.get(column, column)
                    raise InvalidInput(
                        f"{name}: {value} is out of range for column {column} ({found.low} to {found.high})",
                        parameter=name,
                        slug="invalid-body",
                    )
        encoding = self.capabilities.encoding
        if encoding:
            for column, value in values.items():
                if isinstance(value, str):
                    try:
                        value.encode(encoding)
                    except UnicodeEncodeError:
                        name = prefix + self._field_of_column.get(column, column)
                        raise InvalidInput(
                            f"{name}: has characters the code page of the source ({encoding}) cannot hold",
                            parameter=name,
                            slug="invalid-body",
                        ) from None

    # -- writes ---------------------------------------------------------------------

    def create(
        self,
        bodies: list[dict[str, Any]],
        caller: str | None,
        many: bool,
        before_commit: Callable[[list[dict[str, Any]]], None] | None = None,
    ) -> list[dict[str, Any]]:
        """Insert every body, all or none; the records as read back.  ``before_commit`` gets
        the canonical keys of the new records while the source can still roll them back."""
        rows = []
        for i, body in enumerate(bodies):
            prefix = f"[{i}]." if many else ""
            if self.generated and any(body.get(k) is not None for k in self.key):
                raise InvalidInput(
                    f"{prefix}{self.key[0]}: the source gives new records their key ({self.spec.key})",
                    parameter=prefix + self.key[0],
                    slug="invalid-body",
                )
            self._required(body, prefix, replace=False)
            # a field not given is null (its legacy sentinel), as on PUT; the generated key is the source's
            whole = {n: body.get(n) for n in self.mapping.fields if not (self.generated and n in self.key)}
            row = {**self._legacy(whole, prefix), **self._defaults("create", caller)}
            rows.append(row)

        def keys_of(generated: list[Any]) -> list[list[Filter]]:
            return [
                self._key_filters([new if k == self.key[0] and self.generated else None for k in self.key], row)
                for row, new in zip(rows, generated)
            ]

        hook = None
        if before_commit is not None:
            callback = before_commit

            def hook(generated: list[Any]) -> None:
                callback([{f.field: f.value for f in key} for key in keys_of(generated)])

        if len(rows) == 1 and not self.embedded:  # read back in the INSERT's own transaction
            columns, reader = self.planner.stored()
            key_columns = [self.mapping.fields[k].row_column for k in self.key]
            stored = self.driver.insert(self.target, rows, self.new_key, hook, (key_columns, columns))
            found = [None if row is None else reader(row) for row in stored]
        else:  # many: read back by keyed pages once committed (one query per 500, not per row)
            found = self.read_back(keys_of(self.driver.insert(self.target, rows, self.new_key, hook)))
        records = [r for r in found if r is not None]
        if len(records) != len(found):  # a trigger or a view rule took one away
            raise NotFound(f"a new {self.name} record cannot be read back", resource=self.name)
        if self.journal is not None:
            self.journal.record("create", caller, [(None, r) for r in records])
        return records

    def committed(self, keys: list[dict[str, Any]], bodies: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
        """The records a create whose worker died was committing (``keys``), when the source
        holds them as ``bodies`` asked; None when it does not (that create never committed)."""
        found = self.read_back(
            [[Filter(k, "eq", self._typed(k, v), k, str(v)) for k, v in key.items()] for key in keys]
        )
        records = []
        for record, body in zip(found, bodies):
            if record is None or any(record.get(n) != v for n, v in body.items()):
                return None
            records.append(record)
        return records if len(records) == len(bodies) else None

    def _typed(self, name: str, value: Any) -> Any:
        """A key value kept as JSON, typed again (a date travels as its ISO text)."""
        fmap = self.mapping.fields[name]
        if isinstance(value, str) and fmap.type != "string":
            return contract_field(fmap.type).deserialize(value)
        return value

    def _key_filters(self, generated: list[Any], row: dict[str, Any]) -> list[Filter]:
        """The canonical key of a row just written (its legacy values, or the generated key)."""
        filters = []
        for name, new in zip(self.key, generated):
            fmap = self.mapping.fields[name]
            legacy = new if new is not None else row[fmap.row_column]
            value = self._key_readers[name](legacy)
            filters.append(Filter(name, "eq", value, name, str(value)))
        return filters


def _fit_decimal(name: str, column: str, value: Decimal, digits: int, scale: int) -> None:
    sign, numerals, exponent = value.normalize().as_tuple()  # 12.50 takes two places, 12.500 too
    places = max(0, -int(exponent))
    whole = max(0, len(numerals) + int(exponent))
    if places > scale or whole > digits - scale:
        raise InvalidInput(
            f"{name}: {value} does not fit column {column} (DECIMAL({digits},{scale}): "
            f"{digits - scale} digits before the point, {scale} after)",
            parameter=name,
            slug="invalid-body",
        )
