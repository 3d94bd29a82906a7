"""A call of a stored procedure or database function, in legacy terms: what the core hands a
driver (:meth:`~legacy_bridge.drivers.base.Driver.call`) and what the driver answers.

Arguments are positional, in the routine's own order; values are legacy values (already
through the converters).  A result set comes from the call itself (MariaDB: each SELECT the
procedure runs; PostgreSQL: a function's rows) or from a cursor parameter (PostgreSQL: a
``refcursor`` the procedure opens), in the order the action declares them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["MODES", "RoutineArg", "Routine", "RoutineResult"]

MODES = ("in", "out", "inout")


@dataclass(frozen=True)
class RoutineArg:
    """One argument: its legacy name, ``mode`` (in, out, inout) and the value sent (in, inout);
    ``cursor``: a refcursor the routine opens, read as a result set, not answered as a value."""

    name: str
    mode: str = "in"
    value: Any = None
    cursor: bool = False

    @property
    def sent(self) -> bool:
        return self.mode in ("in", "inout")

    @property
    def answered(self) -> bool:
        return self.mode in ("out", "inout")


@dataclass(frozen=True)
class Routine:
    """A procedure (``CALL``) or a function (``SELECT``) and its arguments; ``returns``: a
    function's scalar value is read; ``sets``: for each result set, the cursor argument it
    comes from (None: from the call itself)."""

    kind: str  # procedure | function
    name: str
    args: tuple[RoutineArg, ...] = ()
    returns: bool = False
    sets: tuple[str | None, ...] = ()
    read_only: bool = False

    @property
    def signature(self) -> tuple:
        """The call without its values: what the catalog is asked about, once."""
        return (self.kind, self.name, tuple((a.name, a.mode) for a in self.args))


@dataclass
class RoutineResult:
    """The answer: the return value, OUT / INOUT values by legacy name, and each result set as
    (column names, rows), in the order of :attr:`Routine.sets`."""

    returned: Any = None
    out: dict[str, Any] = field(default_factory=dict)
    sets: list[tuple[list[str], list[tuple]]] = field(default_factory=list)
