"""The record of the X12 groups acknowledged, so each gets its 997/999 once across workers and
hosts: a row of ``lb_x12_acks`` per received group (keyed by the received interchange's sender
and receiver, ISA13 and GS06), inserted in the same write transaction that takes the
acknowledgement's control numbers (:mod:`.control_numbers`) and stays open while its file is
written. A second writer of the same group waits for the first (its insert of the same key
queues) and then finds the row; a write that fails leaves neither row nor numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import BigInteger, Column, DateTime, MetaData, String, Table, Text, update
from sqlalchemy.engine import Connection

from legacy_bridge.events.control_numbers import ControlNumbers
from legacy_bridge.events.migrations import create_table, migration
from legacy_bridge.events.state import StateStore, insert_new, utcnow

__all__ = ["StoreAckLedger", "x12_acks"]


@migration(401, "X12 acknowledgements written, one per received functional group")
def _acks(conn: Connection) -> None:
    create_table(
        conn,
        "lb_x12_acks",
        Column("received", String(400), primary_key=True),
        Column("partner", String(400), nullable=False),
        Column("interchange", BigInteger),
        Column("group_number", BigInteger),
        Column("path", Text),
        Column("written_at", DateTime, nullable=False),
    )


x12_acks = Table(
    "lb_x12_acks",
    MetaData(),
    Column("received", String(400), primary_key=True),
    Column("partner", String(400)),
    Column("interchange", BigInteger),
    Column("group_number", BigInteger),
    Column("path", Text),
    Column("written_at", DateTime),
)


class StoreAckLedger:
    """Acknowledgements written once per received group (the flat-file driver's ``AckLedger``)."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def once(
        self,
        received: str,
        partner: str,
        write: Callable[[int, list[int]], str],
        written: Callable[[int], Sequence[int] | None],
        groups: int = 1,
    ) -> str | None:
        """``write(interchange, group numbers)`` with ``partner``'s next numbers (``groups`` group
        numbers) unless ``received`` was answered; the path written, or None."""
        with self.store.begin() as conn:
            if not insert_new(conn, x12_acks, {"received": received, "partner": partner, "written_at": utcnow()}):
                return None
            with ControlNumbers(self.store, partner).allocate(groups, written=written, within=conn) as taken:
                path = write(taken.interchange, taken.groups)
            conn.execute(
                update(x12_acks)
                .where(x12_acks.c.received == received)
                .values(
                    interchange=taken.interchange, group_number=taken.groups[0] if taken.groups else None, path=path
                )
            )
            return path
