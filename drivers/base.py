"""The driver contract: one kind of legacy system, nothing of HTTP.

A driver subclass implements :meth:`Driver.fetch`; everything else has a default.
Capabilities are class attributes the facade asks before it relies on them.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import closing
from contextvars import ContextVar
from typing import Any, ClassVar, Iterator

from legacy_bridge.query.legacy import ColumnType, Condition, Query


#: Headers a driver that speaks HTTP adds to the calls it makes for the current request
#: (the W3C ``traceparent``); the service sets them per request.
outgoing_headers: ContextVar[dict[str, str]] = ContextVar("outgoing_headers", default={})


class Driver(ABC):
    """A configured source (one ODBC database, one SOAP service, one file drop)."""

    kind: ClassVar[str]
    supports_pushdown: ClassVar[bool] = True     # filters and order run in the source
    supports_key_lookup: ClassVar[bool] = True
    supports_writes: ClassVar[bool] = False
    supports_sort: ClassVar[bool] = True         # any order; else only natural_order
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

    def __init__(self, name: str, options: dict[str, Any]) -> None:
        self.name = name
        self.options = options

    def pushable(self, condition: Condition, target: dict[str, Any]) -> bool:
        """Whether ``fetch`` applies ``condition`` itself; the rest is applied after it."""
        return self.supports_pushdown

    @classmethod
    def check_options(cls, options: dict[str, Any]) -> list[tuple[str, str]]:
        """Problems in a source's config, as (key, message); called at start-up."""
        return []

    @abstractmethod
    def fetch(self, target: dict[str, Any], query: Query) -> Iterator[tuple]:
        """Yield legacy rows, values in ``query.columns`` order.

        ``target`` is the resource's legacy address (``{"table": ...}``, ``{"select": ...}``).
        """

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

    def probe(self, timeout: float) -> None:
        """Raise a :class:`~legacy_bridge.errors.SourceError` if the source is not usable."""

    def pool_usage(self) -> tuple[int, int] | None:
        """``(connections in use, pool size)`` for drivers that pool connections, else None."""
        return None

    def close(self) -> None:
        """Release connections; the driver may be used again afterwards."""
