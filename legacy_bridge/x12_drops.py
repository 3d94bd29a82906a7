"""Records of an x12 ``drop:`` resource made into X12 documents: each record through the
resource's converters (to legacy) and its source's mapping in reverse into one transaction set;
the sets of a call into one interchange (one group), its control numbers allocated in the state
store, written atomically into the outbound folder.  No HTTP here: the facade parses and answers.

Every record is converted and written into segments before a number is taken: a value the
mapping cannot write (not of its ``type``, holding a delimiter, a ``required`` one missing) is a
400 naming the field (``[1].stops[0].date``), and nothing is written.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from typing import Any

from legacy_bridge.config.model import ResourceSpec
from legacy_bridge.drivers.flatfile.x12_mapping import MappingError, SetMapping
from legacy_bridge.drivers.flatfile.x12_outbound import Outbound, X12DropRules
from legacy_bridge.drops import legacy_record
from legacy_bridge.errors import InvalidInput
from legacy_bridge.events.control_numbers import ControlNumbers
from legacy_bridge.query.planner import Planner
from legacy_bridge.writes import Journal

__all__ = ["X12DropWriter"]


class X12DropWriter:
    """A resource's outbound X12 documents into its drop folder."""

    #: one interchange file per call: no batch to close, no timer
    batched = False

    def __init__(self, spec: ResourceSpec, planner: Planner, mapping: SetMapping) -> None:
        assert isinstance(spec.drop, X12DropRules)
        self.name = spec.name
        self.fields = spec.mapping.fields
        self.planner = planner
        self.outbound = Outbound(mapping, spec.drop)
        self.partner = spec.drop.partner
        #: the partner's control numbers in the state store: set by the app (or a sink) with its store
        self.numbers: Callable[[str], ControlNumbers] | None = None
        #: what leaves an audit record of each call: set by the app, with its state store
        self.journal: Journal | None = None

    def body(self, record: dict[str, Any], prefix: str = "") -> list[tuple[str, ...]]:
        """One canonical record's set body (ST..SE excluded); InvalidInput naming the field."""
        values = legacy_record(self.fields, self.planner, record, prefix)
        try:
            return self.outbound.body(values)
        except MappingError as exc:
            name = prefix + self._canonical(exc.field or "")
            raise InvalidInput(f"{name}: {exc.reason}", parameter=name, slug="invalid-body") from None

    def _canonical(self, path: str) -> str:
        """A mapping path (``stops[0].date``) in the resource's names where its fields rename them."""
        by_column = {f.column: n for n, f in self.fields.items() if f.column is not None}
        head, dot, rest = path.partition(".")
        name, bracket, index = head.partition("[")
        return by_column.get(name, name) + bracket + index + dot + rest

    def deliver(self, bodies: list[list[tuple[str, ...]]], tag: str | None = None) -> dict[str, Any]:
        """One interchange of these set bodies, numbered and written; what was written.
        ``tag`` goes into the file name (``214.000000007.evt_42.x12``) to find it again."""
        if self.numbers is None:
            raise RuntimeError(f"{self.name}: no state store for control numbers")
        outbound = self.outbound
        with self.numbers(self.partner).allocate(groups=1, written=outbound.carried) as taken:
            segments = outbound.interchange(bodies, taken.interchange, taken.groups[0], _now())
            path = outbound.deliver(segments, outbound.file_name(taken.interchange, tag))
        return {
            "written": len(bodies),
            "file": os.path.basename(path),
            "interchange": f"{taken.interchange:09d}",
            "group": taken.groups[0],
        }

    def write(self, bodies: list[dict[str, Any]], many: bool, caller: str | None = None) -> dict[str, Any]:
        """Every body into a set (a bad one refuses the call, nothing written), then one
        interchange of them into the folder, journaled as made by ``caller``."""
        sets = [self.body(b, f"[{i}]." if many else "") for i, b in enumerate(bodies)]
        written = self.deliver(sets)
        if self.journal is not None:
            self.journal.record("drop", caller, [(None, {"records": bodies, "file": written["file"]})])
        return written

    def close(self) -> dict[str, Any]:
        raise NotImplementedError("an x12 drop writes one interchange per call: nothing to close")

    def recover(self) -> None:
        """Nothing to finish at start: an interchange is renamed into place whole or not at all."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
