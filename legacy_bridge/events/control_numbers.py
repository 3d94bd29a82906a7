"""X12 control numbers (interchange ISA13/IEA02, group GS06/GE02) without gaps or repeats across
workers and hosts: one row of ``lb_control_numbers`` per numbering (a partner), holding the last
number of each kind.

Numbers are taken inside a state-store write transaction that stays open while the caller writes
its file, and commit when the ``with`` block ends without error; an exception rolls them back
(no gap).  Concurrent allocators queue on the row (``BEGIN IMMEDIATE`` on SQLite, ``SELECT ...
FOR UPDATE`` on PostgreSQL), so no two get one number::

    numbers = ControlNumbers(store, "ZZ:MYID>ZZ:THEIRID")
    with numbers.allocate(groups=1, written=carried_by_file) as taken:
        deliver(build(taken.interchange, taken.groups))      # renamed into place here

Crash window: a process killed after its file's rename and before the commit leaves the file
out with numbers the store gives again.  ``written(interchange)`` closes it: the caller names its
files by interchange number and answers the group numbers the file of that number carries (None
when there is none); the allocator then skips that interchange and those groups.  Only a file
taken away (by a partner's pickup) within that window is not seen: its number is given again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field

from sqlalchemy import BigInteger, Column, MetaData, String, Table, select, update
from sqlalchemy.engine import Connection

from legacy_bridge.events.migrations import create_table, migration
from legacy_bridge.events.state import StateStore, insert_new

__all__ = ["ControlNumbers", "Allocation", "LARGEST", "control_numbers"]

#: ISA13 is 9 digits; GS06 at most 9: both wrap from here to 1
LARGEST = 999_999_999


@migration(400, "X12 control numbers: the last interchange and group number per partner")
def _control_numbers(conn: Connection) -> None:
    create_table(
        conn,
        "lb_control_numbers",
        Column("partner", String(400), primary_key=True),
        Column("interchange", BigInteger, nullable=False),
        Column("group_number", BigInteger, nullable=False),
    )


control_numbers = Table(
    "lb_control_numbers",
    MetaData(),
    Column("partner", String(400), primary_key=True),
    Column("interchange", BigInteger),
    Column("group_number", BigInteger),
)

#: the group numbers the file of an interchange number carries, or None when there is none
Written = Callable[[int], Sequence[int] | None]


@dataclass(frozen=True)
class Allocation:
    """The numbers of one interchange: its ISA13/IEA02 and a GS06/GE02 per group, in order."""

    interchange: int
    groups: list[int] = field(default_factory=list)


def following(number: int, steps: int = 1) -> int:
    """``number`` plus ``steps`` in 1..LARGEST, wrapping to 1."""
    return (number + steps - 1) % LARGEST + 1


class ControlNumbers:
    """The numbering of one partner (e.g. ``"ZZ:MYID>ZZ:THEIRID"``) in ``store``."""

    def __init__(self, store: StateStore, partner: str) -> None:
        if not partner:
            raise ValueError("a control-number partner is a non-empty name")
        self.store = store
        self.partner = partner

    @contextmanager
    def allocate(
        self, groups: int = 1, *, written: Written | None = None, within: Connection | None = None
    ) -> Iterator[Allocation]:
        """The next interchange number and ``groups`` group numbers, held until the block ends.

        Args:
            groups: how many functional groups the interchange carries (>= 0).
            written: the crash guard (see the module): the group numbers an existing file of
                that interchange number carries, or None; such an interchange is skipped.
            within: a write transaction of the caller's (``store.begin()``) to take the numbers
                in: they commit or roll back with it (and what else it records, e.g. that a
                group was acknowledged).
        """
        if groups < 0:
            raise ValueError(f"groups is a count >= 0, got {groups}")
        with nullcontext(within) if within is not None else self.store.begin() as conn:
            last_interchange, last_group = self._locked_row(conn)
            while written is not None:
                carried = written(following(last_interchange))
                if carried is None:
                    break
                last_interchange = following(last_interchange)
                last_group = max([last_group, *carried]) if carried else last_group
            taken = Allocation(following(last_interchange), [following(last_group, n + 1) for n in range(groups)])
            conn.execute(
                update(control_numbers)
                .where(control_numbers.c.partner == self.partner)
                .values(interchange=taken.interchange, group_number=taken.groups[-1] if groups else last_group)
            )
            yield taken  # an exception from the block rolls the numbers back

    def last(self) -> Allocation:
        """The last numbers committed (0 for none yet): an interchange and its last group."""
        with self.store.connect() as conn:
            row = conn.execute(
                select(control_numbers.c.interchange, control_numbers.c.group_number).where(
                    control_numbers.c.partner == self.partner
                )
            ).first()
        return Allocation(0, [0]) if row is None else Allocation(int(row[0]), [int(row[1])])

    def _locked_row(self, conn: Connection) -> tuple[int, int]:
        """The partner's row, created at 0/0 when new, locked until ``conn`` ends."""
        insert_new(conn, control_numbers, {"partner": self.partner, "interchange": 0, "group_number": 0})
        query = select(control_numbers.c.interchange, control_numbers.c.group_number).where(
            control_numbers.c.partner == self.partner
        )
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()  # on SQLite, BEGIN IMMEDIATE already holds the writers
        row = conn.execute(query).one()
        return int(row[0]), int(row[1])
