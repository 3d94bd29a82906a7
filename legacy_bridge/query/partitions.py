"""Partitions of a resource: signed tokens that together read its (filtered) records once each,
all as of one moment, and the extra conditions each token adds to a read plan.

A partition is a range of the read: a key range (``Query.bounds``, for sources that split by
key: ODBC) or a record-aligned byte range of one file version (``Query.extent``: flat files),
or the whole read (SOAP).  What "one moment" means, per source:

- ODBC with a watermark: the high watermark when the partitions were planned.  Every partition
  reads only rows whose watermark is not after it (rows without one included), so rows written
  since (inserted or updated) are left out of every partition: the union is the moment's rows,
  and a pull ``updated_since=<watermark>`` picks up what changed since, updated rows included.
  The key ranges are open at both ends (the first from the first key, the last to the last).
- ODBC without a watermark: the key range at that moment.  The last partition ends at the last
  key then, so rows inserted later with a greater key (a sequence) are in no partition; a row
  inserted later with a key inside the range is read by the one partition whose range holds it,
  if it is read after the insert.  No row is ever read twice.  (A read that selects no row at
  planning is one open partition: it reads whatever is there when it is read.)
- Flat files: the file version (device, inode, size, mtime) of each served file; a partition of
  a version since replaced is refused (409), as its cursors are.
- SOAP: one partition, the whole read, as of when it is read.

Balance: ODBC key ranges hold equal counts of the rows the filters the database applies select
(quantiles computed by the database, :meth:`Driver.key_quantiles`); file ranges equal bytes.
A token holds its range and a fingerprint of the resource and its filters: a token used with
another resource or other filters, or altered, is a 400.  ``fields`` and ``sort`` are free.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from itsdangerous import BadSignature, URLSafeSerializer

from legacy_bridge.errors import InvalidInput
from legacy_bridge.query.cursors import fingerprint, tag_value, untag_value
from legacy_bridge.query.legacy import Bound, ColumnValue, Condition, Extent, Quantiles, Query, Related, SortKey
from legacy_bridge.query.planner import Planner, ReadPlan

__all__ = ["Partition", "PartitionCodec", "owner", "partitioned", "plan_partitions", "MAX_PARTITIONS"]

MAX_PARTITIONS = 1024


class Splitter(Protocol):
    """What plans partitions: a driver (or the driver behind its source's policy)."""

    def key_quantiles(self, target: dict[str, Any], query: Query, parts: int) -> Quantiles: ...

    def byte_ranges(self, parts: int) -> list[Extent]: ...


@dataclass(frozen=True)
class Partition:
    """One partition: ``low``/``high`` key sort values (None: open), the ``watermark`` (legacy
    values) it stops at, or the file ``extent``; ``records`` (ODBC: exact at the moment) and
    ``size`` (bytes, files) are estimates for the client, not part of the token."""

    index: int
    count: int
    low: tuple | None = None
    high: tuple | None = None
    watermark: tuple | None = None
    extent: Extent | None = None
    records: int | None = None
    size: int | None = None

    def payload(self) -> list[Any]:
        extent = self.extent
        return [
            self.index,
            self.count,
            None if self.low is None else [tag_value(v) for v in self.low],
            None if self.high is None else [tag_value(v) for v in self.high],
            None if self.watermark is None else [tag_value(v) for v in self.watermark],
            None if extent is None else [extent.file, extent.start, extent.end, extent.record, extent.block],
        ]

    @classmethod
    def of(cls, payload: list[Any]) -> Partition:
        index, count, low, high, watermark, extent = payload

        def values(items: Any) -> tuple | None:
            return None if items is None else tuple(untag_value(i) for i in items)

        return cls(
            int(index),
            int(count),
            values(low),
            values(high),
            values(watermark),
            None if extent is None else Extent(str(extent[0]), *extent[1:]),
        )


def owner(planner: Planner, where: Sequence[Condition | Related]) -> str:
    """What a partition token belongs to: the resource and its filters (in any order)."""
    return fingerprint("partition", planner.name, sorted(repr(c) for c in where))


class PartitionCodec:
    """Signs and reads partition tokens for one deployment (one secret), as cursors are."""

    def __init__(self, secret: str) -> None:
        self._signer = URLSafeSerializer(secret, salt="legacy-bridge.partition")

    def dump(self, owner_id: str, partition: Partition) -> str:
        return self._signer.dumps([owner_id, partition.payload()])

    def load(self, token: str, owner_id: str) -> Partition:
        """The partition in ``token``; a 400 unless it is ours and belongs to this resource and filters."""
        try:
            found, payload = self._signer.loads(token)
            partition = Partition.of(payload)
        except BadSignature:
            raise InvalidInput(
                "the partition is not one this service issued (tampered or truncated)",
                parameter="partition",
                slug="invalid-partition",
            ) from None
        except (ValueError, TypeError, KeyError, ArithmeticError):
            raise InvalidInput(
                "the partition cannot be read", parameter="partition", slug="invalid-partition"
            ) from None
        if found != owner_id:
            raise InvalidInput(
                "the partition belongs to another resource or to other filters; plan the partitions "
                "with the same filters",
                parameter="partition",
                slug="invalid-partition",
            )
        return partition


def _key_order(planner: Planner) -> tuple[SortKey, ...]:
    fields = planner.mapping.fields
    return tuple(SortKey(fields[k].row_column, False, False) for k in planner.key)


def _moment(planner: Planner, watermark: tuple) -> Bound:
    """Rows whose watermark is not after ``watermark`` (a NULL watermark is inside)."""
    order = tuple(SortKey(f.row_column, False, f.nullable) for f in planner.watermark)
    return Bound(order, None, tuple(ColumnValue(v) for v in watermark))


def partitioned(planner: Planner, plan: ReadPlan, partition: Partition) -> ReadPlan:
    """``plan`` restricted to ``partition`` (its cursors belong to that partition only)."""
    bounds = []
    if partition.low is not None or partition.high is not None:
        bounds.append(Bound(_key_order(planner), partition.low, partition.high))
    if partition.watermark is not None:
        bounds.append(_moment(planner, partition.watermark))
    query = replace(plan.query, bounds=tuple(bounds), extent=partition.extent)
    return replace(plan, query=query, query_id=fingerprint(plan.query_id, partition.payload()))


def _sizes(records: int, parts: int) -> list[int]:
    """The rows in each run of the quantiles' cut (see drivers/odbc/quantiles.py)."""
    ends = sorted({-(-i * records // parts) for i in range(1, parts + 1)})
    return [b - a for a, b in zip([0] + ends, ends)]


def plan_partitions(
    planner: Planner, source: Splitter, where: Sequence[Condition | Related], watermark: tuple | None, parts: int
) -> list[Partition]:
    """Up to ``parts`` partitions of the read ``where`` selects, as of ``watermark`` (the high
    watermark now, for resources with one); ``source`` is the driver to ask (behind its policy)."""
    kind = planner.driver.partitioning
    if kind == "bytes":
        extents = source.byte_ranges(parts)
        return [
            Partition(i, len(extents), extent=e, size=None if e.end is None else e.end - e.start)
            for i, e in enumerate(extents)
        ]
    if kind != "keys":
        return [Partition(0, 1)]
    order = _key_order(planner)
    # a filter on an embedded child (Related) is left to the partition's read: the cut is then
    # less even, never wrong (each partition's read applies every filter)
    pushed = [c for c in where if isinstance(c, Condition) and planner.driver.pushable(c, planner.target)]
    bounds = (_moment(planner, watermark),) if watermark is not None else ()
    cut = source.key_quantiles(planner.target, Query(columns=[], where=pushed, order=list(order), bounds=bounds), parts)
    highs: list[tuple | None] = list(cut.boundaries)
    if not highs:
        return [Partition(0, 1, watermark=watermark, records=0)]
    if watermark is not None:  # the moment is the watermark: the last range stays open
        highs[-1] = None
    lows: list[tuple | None] = [None, *cut.boundaries[:-1]]
    sizes = _sizes(cut.records, parts)
    return [
        Partition(i, len(highs), low, high, watermark, records=size)
        for i, (low, high, size) in enumerate(zip(lows, highs, sizes))
    ]
