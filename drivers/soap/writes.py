"""The writes a SOAP resource's operations make: create, update and delete (see driver.py).

An update or a delete reads the record with the get operation first: an update sends it with
the changed values laid over it (a PATCH changes some fields, the others go back as the service
gave them), and the caller's precondition (If-Match) sees it before the call.  That is
check-then-act, not atomic: a service with no version of its own cannot refuse a write that
lands between the get and the update.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from legacy_bridge.drivers.soap.params import fill, legacy_tree, set_path, spelled
from legacy_bridge.drivers.soap.records import records, walk
from legacy_bridge.errors import FaultNotFound, SourceError


class OperationWrites:
    """Create, update and delete through a resource's operations; the driver supplies the calls."""

    name: str

    def call(self, spec: dict[str, Any], params: dict[str, Any], target: dict[str, Any]) -> Any:
        raise NotImplementedError

    def get(self, target: dict[str, Any], key: dict[str, Any], columns: list[str]) -> tuple | None:
        raise NotImplementedError

    def reader(self, target: dict[str, Any], columns: Any, spec: dict[str, Any] | None = None) -> Any:
        raise NotImplementedError

    def _arguments(self, spec: dict[str, Any], target: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
        """An operation's arguments for ``record`` (legacy column -> value): its params filled
        with ``{body}``, ``{body.<field>}``, ``{key}`` and ``{key.<field>}``; the record itself
        as the arguments when the operation names no params."""
        body = legacy_tree(record)
        if not spec.get("params"):
            return body
        fields = target.get("fields", {})
        values = {"body": body, **{f"body.{n}": spelled(record.get(c)) for n, c in fields.items()}}
        key = {c: record.get(c) for c in target.get("key", [])}
        values.update({f"key.{n}": key[c] for n, c in fields.items() if c in key})
        if len(key) == 1:
            values["key"] = next(iter(key.values()))
        return fill(spec, values)

    def create(self, target: dict[str, Any], values: dict[str, Any], columns: list[str]) -> tuple | None:
        """Call the create operation with a record (legacy column -> value); the row it returns."""
        spec = target["create"]
        found = records(self.call(spec, self._arguments(spec, target, values), target), spec.get("records"))
        if not found:
            return None
        if spec.get("returns") == "key":
            return self._read_back(target, found[0][0], columns)
        return self.reader(target, columns, spec)(*found[0], None, 0)

    def _current(
        self, target: dict[str, Any], key: dict[str, Any], columns: list[str], check: Callable[[tuple], None] | None
    ) -> tuple | None:
        """The record with ``key`` as the get operation reads it now, seen by ``check``."""
        row = self.get(target, key, columns)
        if row is not None and check is not None:
            check(row)
        return row

    def update(
        self,
        target: dict[str, Any],
        key: dict[str, Any],
        values: dict[str, Any],
        columns: list[str],
        check: Callable[[tuple], None] | None = None,
    ) -> tuple[tuple, tuple] | None:
        """Call the update operation with the current record (read by the get operation) and
        ``values`` laid over it; the record before and after (the answer's with ``returns:
        record``, else read back with the get), or None when there is no such record."""
        spec = target["update"]
        before = self._current(target, key, columns, check)
        if before is None:
            return None
        record = {**dict(zip(columns, before)), **values, **key}
        answer = self.call(spec, self._arguments(spec, target, record), target)
        found = records(answer, spec.get("records")) if spec.get("returns") == "record" else []
        if found and isinstance(found[0][0], dict):
            return before, self.reader(target, columns, spec)(*found[0], None, 0)
        try:
            after = self.get(target, key, columns)
        except FaultNotFound:
            after = None
        if after is None:  # changed, then gone before it could be read back: not a 404, it was written
            raise SourceError(f"source {self.name!r} lost the record it updated before it was read back", self.name)
        return before, after

    def delete(
        self,
        target: dict[str, Any],
        key: dict[str, Any],
        columns: list[str],
        check: Callable[[tuple], None] | None = None,
    ) -> tuple | None:
        """Call the delete operation on the record with ``key`` after ``check`` saw it (read by
        the get operation); the record as it was, or None when there was none."""
        spec = target["delete"]
        before = self._current(target, key, columns, check)
        if before is None:
            return None
        self.call(spec, self._arguments(spec, target, {**dict(zip(columns, before)), **key}), target)
        return before

    def _read_back(self, target: dict[str, Any], answer: Any, columns: list[str]) -> tuple | None:
        """The record a create answered only the key of (``returns: key``): read back with the
        get operation; without one (or while the get does not find it yet), the key alone."""
        key_columns = target.get("key", [])
        if isinstance(answer, dict):
            key = {c: walk(answer, c) for c in key_columns}
        elif len(key_columns) == 1:  # the answer is the new key itself
            key = {key_columns[0]: answer}
        else:
            return None
        if "get" in target and all(v is not None for v in key.values()):
            try:
                row = self.get(target, key, columns)
            except FaultNotFound:
                row = None
            if row is not None:
                return row
        record: dict[str, Any] = {}
        for column, value in key.items():
            set_path(record, column, value)
        return self.reader(target, columns)(record, record, None, 0)
