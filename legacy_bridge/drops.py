"""Records of a ``drop:`` resource, in canonical terms: taken by POST, written whole into the
open batch file in the source's format, batches closed by size, age or on request.  No HTTP
here: the facade parses and answers; no file logic either: that is the driver's (batches).

Every record of a call is converted and encoded before anything is written: a value its
field cannot hold (too long, a character the code page lacks, a number past its PIC) is a
400 naming the field (``[3].amount`` in an array), and the batch is left as it was.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from legacy_bridge.config.model import ResourceSpec
from legacy_bridge.contracts.mapping import FieldMap
from legacy_bridge.drivers.base import Driver
from legacy_bridge.drivers.flatfile.batches import DropRules
from legacy_bridge.drivers.flatfile.outbound import Unfit
from legacy_bridge.errors import BatchNotClosed, InvalidInput
from legacy_bridge.query.planner import Planner
from legacy_bridge.writes import Journal

__all__ = ["DropWriter", "legacy_record"]

log = logging.getLogger("legacy_bridge")


def legacy_record(fields: dict[str, FieldMap], planner: Planner, body: dict[str, Any], prefix: str) -> dict[str, Any]:
    """A canonical body of a drop as legacy values by column, through the fields' converters; a
    400 naming the field (``prefix``: ``[3].`` for the fourth of an array) for a null where none
    is allowed or a value with no legacy form."""
    missing = [n for n, f in fields.items() if not f.nullable and body.get(n) is None]
    if missing:
        raise InvalidInput(
            f"{prefix}{', '.join(missing)}: required (never null)", parameter=prefix + missing[0], slug="invalid-body"
        )
    try:
        return planner.legacy_body({n: body.get(n) for n in fields})
    except InvalidInput as error:
        if not prefix:
            raise
        parameter = prefix + str(error.extra.get("parameter", ""))
        raise InvalidInput(f"{prefix}{error.detail}", parameter=parameter, slug="invalid-body") from None


class DropWriter:
    """A resource's drops into its flat-file source."""

    #: records go into batch files, closed by size, age or POST .../close
    batched = True

    def __init__(self, spec: ResourceSpec, planner: Planner, driver: Driver) -> None:
        assert isinstance(spec.drop, DropRules)
        self.name = spec.name
        self.mapping = spec.mapping
        self.planner = planner
        self.total = spec.drop.total
        columns = [f.column for f in spec.mapping.fields.values() if f.column is not None]
        self.encoder, self.batches = driver.batches(spec.name, spec.drop, columns)
        self._field_of_column = {f.column: n for n, f in spec.mapping.leaves().items() if f.column is not None}
        #: what leaves an audit record of each record written: set by the app, with its state store
        self.journal: Journal | None = None

    def _record(self, body: dict[str, Any], prefix: str) -> tuple[bytes, Decimal]:
        values = legacy_record(self.mapping.fields, self.planner, body, prefix)
        try:
            record = self.encoder.encode(values)
        except Unfit as exc:
            name = prefix + self._field_of_column.get(exc.column or "", exc.column or "")
            raise InvalidInput(f"{name}: {exc.reason}", parameter=name, slug="invalid-body") from None
        total = values.get(self.total) if self.total else None
        return record, Decimal(str(total)) if total is not None else Decimal(0)

    def write(self, bodies: list[dict[str, Any]], many: bool, caller: str | None = None) -> dict[str, Any]:
        """Encode every body (a bad one refuses the call, nothing written), then append the
        records whole to the open batch, journaled as made by ``caller`` (one audit record holding
        them); what was written and the files closed meanwhile."""
        encoded = [self._record(body, f"[{i}]." if many else "") for i, body in enumerate(bodies)]
        closed = self.batches.append([r for r, _ in encoded], [t for _, t in encoded] if self.total else None)
        if self.journal is not None:  # one audit record per call, its records in it (not a row each)
            self.journal.record("drop", caller, [(None, {"records": bodies})])
        return {"written": len(encoded), "closed": [c.name for c in closed]}

    def close(self) -> dict[str, Any]:
        """Close the open batch now: its file name and record count (null, 0: none was open)."""
        try:
            closed = self.batches.close()
        except Unfit as exc:
            raise BatchNotClosed(f"the batch of {self.name} stays open: {exc}") from None
        return {"closed": closed.name if closed else None, "records": closed.records if closed else 0}

    def recover(self) -> None:
        """At start: the batch a crash left is finished by the documented rule (see batches)."""
        try:
            self.batches.recover()
        except Unfit as exc:
            log.error("drop %s: the batch the last run left stays open: %s", self.name, exc)
