"""Actions at run time: a stored procedure or database function, called in canonical terms.

A call's parameters are validated by the contract built from the IN / INOUT params, sent
through the same two-way converters filters and writes use, and the answer comes back
through them: the return value, the OUT / INOUT values and each result set through its
own fields.  No HTTP here (facades/actions.py), no SQL (drivers/odbc/procedures.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from marshmallow import Schema, ValidationError, fields

from legacy_bridge.config.model import ActionSpec, ResultSetSpec
from legacy_bridge.contracts.mapping import Mapping, WriteError
from legacy_bridge.contracts.schema import build_contract, class_name, field_of
from legacy_bridge.drivers import Driver, deadlines
from legacy_bridge.ops.resilience import GuardedDriver
from legacy_bridge.query.routines import Routine, RoutineArg, RoutineResult
from legacy_bridge.writes import Journal

from .errors import InvalidInput, LegacyBridgeError, MappingMismatch

__all__ = ["Action", "routine_problems"]

log = logging.getLogger("legacy_bridge")


class Action:
    """One configured action, bound to its source's guarded driver."""

    def __init__(self, spec: ActionSpec, driver: GuardedDriver) -> None:
        self.spec = spec
        self.name = spec.name
        #: every call to the source goes through its policy (deadline, breaker; retries when read-only)
        self.driver = driver
        self.given = Mapping(fields=spec.given(), key=[])
        #: the schema of a call's parameters (the request body; the query string of a GET)
        self.contract = _params_contract(spec, self.given)
        #: the schema of its answer (documentation: the answer is built by :meth:`answer`)
        self.answer_contract = _answer_contract(spec)
        self._answered = {n: (f.row_column, f.converter.reader()) for n, f in spec.answered().items()}
        self._returns = spec.returns.converter.reader() if spec.returns is not None else None
        self._cursors = spec.cursors
        self._names = {f.row_column: n for n, f in spec.params.items()}  # legacy parameter -> its name here
        self._readers: dict[tuple, Callable[[tuple], dict[str, Any]]] = {}  # by (set, its columns)
        #: what records each call (its parameters and answer): set by the app, with its state store
        self.journal: Journal | None = None

    def routine(self) -> Routine:
        """The call with no values (what the source is asked whether it can take)."""
        return self._routine({})

    def _routine(self, values: dict[str, Any]) -> Routine:
        spec = self.spec
        args = tuple(
            RoutineArg(f.row_column, spec.modes[n], values.get(f.row_column), n in self._cursors)
            for n, f in spec.params.items()
        )
        cursors = {n: f.row_column for n, f in spec.params.items()}
        return Routine(
            kind=spec.kind,
            name=spec.routine,
            args=args,
            returns=spec.returns is not None,
            sets=tuple(cursors[s.cursor] if s.cursor else None for s in spec.result_sets),
            read_only=spec.read_only,
        )

    def parse(self, payload: Any) -> dict[str, Any]:
        """A call's parameters (a JSON object, or a GET's query arguments as text), validated:
        canonical values by parameter name.  Errors name the parameter."""
        if payload is None and not self.spec.required:
            payload = {}
        if not isinstance(payload, dict):
            raise InvalidInput(
                f"the body must be a JSON object of {self.name}'s parameters", parameter="body", slug="invalid-body"
            )
        try:
            canonical = self.contract().load(payload)
        except ValidationError as exc:
            first = next(iter(exc.messages), "body") if isinstance(exc.messages, dict) else "body"
            raise InvalidInput(f"the parameters are not valid: {exc.messages}", parameter=str(first)) from None
        return canonical

    def call(self, canonical: dict[str, Any], caller: str | None = None) -> dict[str, Any]:
        """Call the routine with ``canonical`` parameters (from :meth:`parse`) for ``caller``
        (an API key id): the answer's ``return``, ``out`` and ``result_sets``, each present
        when the action declares it."""
        try:
            values = self.given.legacy_values(canonical)
        except WriteError as exc:
            raise InvalidInput(str(exc), parameter=exc.field) from None
        try:
            result = self.driver.call_routine(self._routine(values))
        except InvalidInput as error:  # a value its parameter cannot hold: named as the caller knows it
            canonical_name = self._names.get(str(error.extra.get("parameter")))
            if canonical_name is None:
                raise
            raise InvalidInput(f"{canonical_name}: {error.detail}", parameter=canonical_name) from None
        answer = self.answer(result)
        if self.journal is not None:
            self.journal.record("call", caller, [(canonical, answer)])
        return answer

    def answer(self, result: RoutineResult) -> dict[str, Any]:
        """The driver's legacy answer in canonical terms, through each value's converter."""
        answer: dict[str, Any] = {}
        if self._returns is not None:
            answer["return"] = self._returns(result.returned)
        if self._answered:
            answer["out"] = {n: read(result.out.get(column)) for n, (column, read) in self._answered.items()}
        if self.spec.result_sets:
            answer["result_sets"] = {
                s.name: self._records(s, *found) for s, found in zip(self.spec.result_sets, result.sets)
            }
        return answer

    def _records(self, spec: ResultSetSpec, columns: list[str], rows: list[tuple]) -> list[dict[str, Any]]:
        """The rows of one result set through its fields (a reader built once per shape)."""
        if not rows:
            return []
        shape = (spec.name, tuple(columns))
        read = self._readers.get(shape)
        if read is None:
            read = self._readers[shape] = _reader(self.name, spec, columns)
        return [read(row) for row in rows]


def _params_contract(spec: ActionSpec, given: Mapping) -> type[Schema]:
    """``<Action>Params``: the IN / INOUT parameters, the required ones required."""
    owner = class_name(f"{spec.name}_params")
    declared = {}
    for name, fmap in given.fields.items():
        declared[name] = field_of(fmap, owner)
        declared[name].required = name in spec.required
    return Schema.from_dict(declared, name=owner)


def _answer_contract(spec: ActionSpec) -> type[Schema]:
    """``<Action>Answer``: ``return``, ``out`` (``<Action>Out``) and ``result_sets`` (each set's
    rows, ``<Action><Set>``), each present when the action declares it."""
    owner = class_name(spec.name)
    declared: dict[str, fields.Field] = {}
    if spec.returns is not None:
        declared["return"] = field_of(spec.returns, owner)
    answered = spec.answered()
    if answered:
        declared["out"] = fields.Nested(build_contract(f"{spec.name}_out", Mapping(answered, [])), required=True)
    if spec.result_sets:
        sets: dict[str, fields.Field] = {
            s.name: fields.List(
                fields.Nested(build_contract(f"{spec.name}_{s.name}", s.mapping)),
                required=True,
                metadata={"description": s.description} if s.description else {},
            )
            for s in spec.result_sets
        }
        declared["result_sets"] = fields.Nested(Schema.from_dict(sets, name=f"{owner}ResultSets"), required=True)
    for field in declared.values():
        field.required = True
    return Schema.from_dict(declared, name=f"{owner}Answer")


def _reader(action: str, spec: ResultSetSpec, columns: list[str]) -> Callable[[tuple], dict[str, Any]]:
    """What turns a row of a result set with ``columns`` into a record of its fields; a declared
    column the set lacks is a mapping mismatch (the config needs a fix), found by name, case
    aside (PostgreSQL folds unquoted names to lower case, MariaDB keeps them)."""
    declared = {f.column.lower(): f.column for f in spec.mapping.fields.values() if f.column}
    named = [declared.get(c.lower(), c) for c in columns]
    lacking = [c for c in declared.values() if c not in named]
    if lacking:
        raise MappingMismatch(
            f"action {action}: result set {spec.name} has no column {lacking[0]} (it has {', '.join(columns)})",
            column=lacking[0],
        )
    return spec.mapping.row_reader(list(spec.mapping.fields), named)


def routine_problems(actions: dict[str, Action], drivers: dict[str, Driver], timeout: float) -> list[tuple[str, str]]:
    """The actions their source cannot call (SQLite has no procedures), as config problems;
    each source is asked within ``timeout`` (``drivers``: the bare ones, so no breaker counts
    it).  A source that does not answer is asked again on the first call.  The connections
    opened here are closed, so forked workers never share one."""
    problems = []
    for name, action in actions.items():
        driver = drivers[action.spec.source]
        try:
            with deadlines.budget(timeout):
                found = driver.routine_problems(action.routine())
        except LegacyBridgeError as error:
            log.warning("action %s: its source did not answer at start-up (%s): checked on first call", name, error)
            continue
        problems += [(f"actions.{name}.source", problem) for problem in found]
    for source in {a.spec.source for a in actions.values()}:
        drivers[source].close()
    return problems
