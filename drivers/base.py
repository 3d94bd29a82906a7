"""The driver contract: one kind of legacy system, nothing of HTTP.

A driver subclass implements :meth:`Driver.fetch`; everything else has a default.
What a driver can do is declared here (class attributes and hooks with defaults), so the
planner and the facades ask the driver instead of probing it for methods.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from contextlib import closing
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any, ClassVar

from legacy_bridge.query.legacy import OPERATORS, ColumnType, Condition, Extent, NewKey, Quantiles, Query, Rows
from legacy_bridge.query.routines import Routine, RoutineResult

#: Headers a driver that speaks HTTP adds to the calls it makes for the current request
#: (the W3C ``traceparent``); the service sets them per request.
outgoing_headers: ContextVar[Mapping[str, str]] = ContextVar(
    "outgoing_headers",
    default=MappingProxyType({}),  # read-only: a default shared by every context
)


class Driver(ABC):
    """A configured source (one ODBC database, one SOAP service, one file drop)."""

    kind: ClassVar[str]
    supports_pushdown: ClassVar[bool] = True  # filters and order run in the source
    #: the filter operators :meth:`fetch` applies itself (on the columns :meth:`filter_columns` allows)
    pushdown_operators: ClassVar[frozenset[str]] = frozenset(OPERATORS)
    supports_key_lookup: ClassVar[bool] = True
    supports_writes: ClassVar[bool] = False  # creates records through an operation (SOAP)
    #: inserts, updates and deletes rows of tables (:meth:`insert`, :meth:`update`, :meth:`delete`)
    writes_tables: ClassVar[bool] = False
    #: calls stored procedures and functions (:meth:`call_routine`, checked by :meth:`routine_problems`)
    calls_routines: ClassVar[bool] = False
    supports_sort: ClassVar[bool] = True  # any order; else only natural_order
    #: :meth:`quarantine` lists the bad records the source skips (flat files)
    lists_quarantine: ClassVar[bool] = False
    #: reads another table of the source for a resource's children (``embed:``) and applies
    #: :class:`~legacy_bridge.query.legacy.Related` where terms itself
    joins_tables: ClassVar[bool] = False
    #: :meth:`watch_keys` has each data version indexed on a key in the background, with
    #: :meth:`index_progress` and :meth:`use_leases` (flat files)
    builds_indexes: ClassVar[bool] = False
    #: a source option may have it acknowledge what it receives (X12 997/999): :meth:`use_acknowledgements`
    writes_acknowledgements: ClassVar[bool] = False
    #: :meth:`describe` reads a table's catalog and a sample of its rows (introspection, checks)
    describes_tables: ClassVar[bool] = False
    #: what a resource's config names on this source (tables, or operations)
    target_keys: ClassVar[tuple[str, ...]] = ("table", "view", "select")
    #: :meth:`check_target` asks the source, and is asked at start-up (bounded) as well as by ``check``
    checks_targets: ClassVar[bool] = False
    #: a resource needs none of ``target_keys`` (a flat-file source names its files itself)
    target_optional: ClassVar[bool] = False
    #: a call's budget (seconds) when the source's config gives no ``timeout``; None: unbounded
    default_timeout: ClassVar[float | None] = 30.0
    #: pseudo-columns the driver yields that give the source's own order (a file's
    #: record numbers), used for keyset cursors when it cannot sort by the key
    natural_order: tuple[str, ...] = ()
    #: whether :meth:`column_types` asks the source (then it is asked at start-up too)
    describes_columns: ClassVar[bool] = False
    #: the integers the driver can bind in a query (None: any Python int)
    int_range: ClassVar[tuple[int, int] | None] = None
    #: the code page text values are bound in (None: the driver takes any Unicode text)
    encoding: str | None = None
    #: code point ranges (first, last) no text value sent to the source may hold
    unsendable: ClassVar[tuple[tuple[int, int], ...]] = ()
    #: how a read splits into partitions: "keys" (:meth:`key_quantiles`: key ranges the source
    #: balances, read through ``Query.bounds``), "bytes" (:meth:`byte_ranges`: record-aligned
    #: ranges of the files, read through ``Query.extent``), or None: one partition
    partitioning: ClassVar[str | None] = None
    #: writes records into batch files in its own format (``drop:``; :meth:`batches`)
    takes_drops: ClassVar[bool] = False

    def __init__(self, name: str, options: dict[str, Any]) -> None:
        self.name = name
        self.options = options

    def filter_columns(self, target: dict[str, Any]) -> frozenset[str] | None:
        """The columns of ``target`` that :meth:`fetch` filters on itself (None: any)."""
        return None

    def pushable(self, condition: Condition, target: dict[str, Any]) -> bool:
        """Whether ``fetch`` applies ``condition`` itself; the planner applies the rest after it."""
        if not self.supports_pushdown or condition.op not in self.pushdown_operators:
            return False
        if not isinstance(condition.column, str):  # inside a nested column: any element matching
            return self.pushes_inner(condition, target)
        columns = self.filter_columns(target)
        return columns is None or condition.column in columns

    def pushes_inner(self, condition: Condition, target: dict[str, Any]) -> bool:
        """Whether ``fetch`` applies a condition on an inner column of a nested one
        (``condition.column`` an :class:`~legacy_bridge.query.legacy.Inner`) itself."""
        return False

    def key_lookup(self, target: dict[str, Any]) -> bool:
        """Whether :meth:`get` finds a record of ``target`` by key (else the planner reads the
        list filtered by the key)."""
        return self.supports_key_lookup

    @classmethod
    def check_options(cls, options: dict[str, Any]) -> list[tuple[str, str]]:
        """Problems in a source's config, as (key, message); called at start-up."""
        return []

    @classmethod
    def check_drop(cls, options: dict[str, Any], drop: dict[str, Any], columns: list[str]) -> list[tuple[str, str]]:
        """Problems of a resource's ``drop:`` (legacy ``columns`` it writes) on this source, as
        (key under drop, message); only asked of drivers that take drops."""
        return [("", f"sources of kind {cls.kind} take no drops (flat-file sources do)")]

    def batches(self, resource: str, rules: Any, columns: list[str]) -> Any:
        """The record encoder and the batch files of a resource's drops (``takes_drops``)."""
        raise NotImplementedError

    @classmethod
    def check_columns(cls, options: dict[str, Any], columns: dict[str, str | tuple[str, ...]]) -> list[tuple[str, str]]:
        """Fields (dotted name -> column) whose column the source's config says it lacks, as
        (field, message); an inner field of a nested column comes as the path (outer column,
        inner column).  The default knows no layout before it reads."""
        return []

    @abstractmethod
    def fetch(self, target: dict[str, Any], query: Query) -> Rows:
        """Yield legacy rows, values in ``query.columns`` order.

        ``target`` is the resource's legacy address (``{"table": ...}``, ``{"select": ...}``).
        """

    def fetch_all(self, target: dict[str, Any], query: Query) -> list[tuple]:
        """Every row of a read known to be small (the children of a page of parents), at
        once: a driver may run it as it runs a page rather than as a stream."""
        with closing(self.fetch(target, query)) as rows:
            return list(rows)

    def get(self, target: dict[str, Any], key: dict[str, Any], columns: list[str]) -> tuple | None:
        """One row by its key (legacy column -> legacy value), or None."""
        query = Query(columns=columns, where=[Condition(c, "eq", v) for c, v in key.items()], limit=1)
        with closing(self.fetch(target, query)) as rows:
            return next(rows, None)

    def column_types(self, target: dict[str, Any]) -> dict[str, ColumnType]:
        """What the source says of the columns of ``target`` (by name): how each must be
        compared so a keyset page resumes its order, and the integers it holds.  Asked once
        per target; the default knows nothing (every column compares as read)."""
        return {}

    def known_column_types(self, target: dict[str, Any]) -> dict[str, ColumnType]:
        """What :meth:`column_types` found so far, without asking the source."""
        return {}

    def key_quantiles(self, target: dict[str, Any], query: Query, parts: int) -> Quantiles:
        """The rows ``query`` selects (its ``where`` and ``bounds``) in ``query.order``, cut by
        the source into up to ``parts`` runs of equal size (``partitioning == "keys"``)."""
        raise NotImplementedError(f"{self.kind} sources cannot be split by key")

    def byte_ranges(self, parts: int) -> list[Extent]:
        """The served files cut into up to ``parts`` record-aligned byte ranges of about equal
        size, in read order, all of one version of each file (``partitioning == "bytes"``)."""
        raise NotImplementedError(f"{self.kind} sources cannot be split by bytes")

    def call_routine(self, routine: Routine) -> RoutineResult:
        """Call a stored procedure or function in one transaction (``calls_routines``)."""
        raise NotImplementedError(f"{self.kind} sources have no stored procedures")

    def routine_problems(self, routine: Routine) -> list[str]:
        """Why ``routine`` cannot be called on this source (may ask the source what it is)."""
        return [] if self.calls_routines else [f"{self.kind} sources have no stored procedures"]

    def describe_routine(self, name: str) -> dict[str, Any]:
        """The catalog's parameter list of a procedure or function (introspection; ``calls_routines``)."""
        raise NotImplementedError(f"{self.kind} sources have no stored procedures")

    def create(self, target: dict[str, Any], values: dict[str, Any], columns: list[str]) -> tuple | None:
        """Create one record (legacy column -> value); the row the source returns, or None.
        Only drivers that declare ``supports_writes``."""
        raise NotImplementedError(f"{self.kind} sources take no writes")

    def insert(
        self,
        target: dict[str, Any],
        rows: list[dict[str, Any]],
        key: NewKey,
        before_commit: Callable[[list[Any]], None] | None = None,
        read: tuple[list[str], list[str]] | None = None,
    ) -> list[Any]:
        """Insert ``rows`` (legacy column -> value) all or none, in one transaction; the key
        value of each new row, also handed to ``before_commit`` just before the commit (which
        it may prevent by raising).  With ``read`` (key columns, columns): instead of the keys,
        each new row as stored (a tuple of those columns), read in the same transaction.  Only
        drivers that declare ``writes_tables``."""
        raise NotImplementedError(f"{self.kind} sources take no table writes")

    def update(
        self,
        target: dict[str, Any],
        key: dict[str, Any],
        values: dict[str, Any],
        columns: list[str],
        check: Callable[[tuple], None] | None = None,
    ) -> tuple[tuple, tuple] | None:
        """Set ``values`` on the row with ``key``, in one transaction: ``check`` first sees the
        row (``columns``) as it is, locked, and may raise to change nothing; the row before and
        after, or None when there is none."""
        raise NotImplementedError(f"{self.kind} sources take no table writes")

    def delete(
        self,
        target: dict[str, Any],
        key: dict[str, Any],
        columns: list[str],
        check: Callable[[tuple], None] | None = None,
    ) -> tuple | None:
        """Delete the row with ``key`` after ``check`` saw it (as :meth:`update`); the row as
        it was, or None when there was none."""
        raise NotImplementedError(f"{self.kind} sources take no table writes")

    def quarantine(self, limit: int = 1000) -> dict[str, Any]:
        """The bad records skipped (``lists_quarantine`` drivers): per file, and the first ``limit``."""
        raise NotImplementedError(f"{self.kind} sources keep no quarantine")

    def watch_keys(self, key: tuple[str, ...], start: bool = True) -> None:
        """Index each data version on ``key`` as soon as it is seen; ``start``: look for
        versions now, else at the next read (``builds_indexes`` drivers)."""
        raise NotImplementedError(f"{self.kind} sources build no index")

    def use_leases(self, leases: Any) -> None:
        """Decide who builds an index with ``leases`` (``builds_indexes`` drivers)."""
        raise NotImplementedError(f"{self.kind} sources build no index")

    def use_acknowledgements(self, ledger: Any) -> bool:
        """Write acknowledgements once through ``ledger`` (``writes_acknowledgements`` drivers);
        True when the source's config asks for them."""
        raise NotImplementedError(f"{self.kind} sources write no acknowledgements")

    def index_progress(self, finished: bool = False) -> list[dict[str, Any]]:
        """The index builds running now and how far each is; with ``finished``, also those
        done and those waiting (``builds_indexes`` drivers)."""
        return []

    def describe(self, table: str, sample: int = 200) -> dict[str, Any]:
        """The catalog of ``table`` and a sample of its rows (``describes_tables`` drivers)."""
        raise NotImplementedError(f"{self.kind} sources cannot describe a table")

    def describe_target(self, target: dict[str, Any]) -> str:
        """``target`` in a few words, for operators (``legacy-bridge check``)."""
        kind, value = next(iter(target.items()))
        return f"{kind} {value if kind != 'select' else '(...)'}"

    def check_target(self, target: dict[str, Any]) -> list[str]:
        """What is wrong with ``target`` that the source tells without reading a record (an
        operation its service lacks), for ``legacy-bridge check`` and (``checks_targets``) the
        start-up; the default knows nothing."""
        return []

    def probe(self, timeout: float) -> None:
        """Raise a :class:`~legacy_bridge.errors.SourceError` if the source is not usable."""

    def pool_usage(self) -> tuple[int, int] | None:
        """``(connections in use, pool size)`` for drivers that pool connections, else None."""
        return None

    def close(self) -> None:
        """Release connections; the driver may be used again afterwards."""
