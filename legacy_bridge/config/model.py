"""The validated config as the rest of the service reads it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from legacy_bridge.config.writes import IDEMPOTENCY_DEFAULTS, WriteSpec
from legacy_bridge.contracts.mapping import FieldMap, Mapping
from legacy_bridge.drivers.flatfile.batches import DropRules
from legacy_bridge.drivers.flatfile.x12_outbound import X12DropRules

__all__ = ["Config", "ResourceSpec", "ActionSpec", "ResultSetSpec", "ApiVersion", "Embed", "base_version"]


@dataclass
class Embed:
    """A resource's children read from another table of its source (``embed:``): each record
    holds, as array field ``name``, the rows of ``target`` joined to it by ``on``."""

    name: str
    target: dict[str, str]
    on: tuple[tuple[str, str], ...]  # (parent column, child column) pairs
    fields: dict[str, FieldMap]  # the inner fields of one element
    order: tuple[tuple[str, bool], ...]  # (inner field, descending): the elements' order
    default: bool = False  # embedded without ?embed=
    description: str | None = None

    @property
    def column(self) -> str:
        """The column the embedded field reads in a row: no column of the parent's table (the
        children are appended to each row once it is read, never selected with it)."""
        return f"embed:{self.name}"

    @cached_property
    def mapping(self) -> Mapping:
        """The inner fields as a mapping of their own: its generated row reader makes an element
        of each child row (and keeps it for the next page)."""
        return Mapping(fields=self.fields, key=[])


@dataclass
class ResourceSpec:
    name: str
    source: str
    target: dict[str, str]
    mapping: Mapping
    default_limit: int
    max_limit: int
    description: str | None = None
    contract: type | None = None
    operations: tuple[str, ...] = ("get", "list")  # the routes it has: get, list, create, update, delete
    changes: dict[str, Any] | None = None  # change feed options (legacy_bridge.changes)
    watermark: tuple[str, ...] = ()  # field(s) that grow on every write: updated_since
    version: str | None = None  # the API version of this contract; None: the base version's
    embeds: dict[str, Embed] = field(default_factory=dict)  # children from other tables (embed:)
    #: the writes it takes: a table's (writes:), or the update/delete a SOAP resource's operations make
    writes: WriteSpec | None = None
    #: records taken by POST into batch files, or into X12 interchanges on an x12 source (drop:)
    drop: DropRules | X12DropRules | None = None
    #: Idempotency-Key on its POST: {"required": bool, "expire": seconds} (defaults when not given)
    idempotency: dict[str, Any] = field(default_factory=lambda: dict(IDEMPOTENCY_DEFAULTS))


@dataclass
class ResultSetSpec:
    """One result set: its name in the answer, the cursor parameter it comes from (None: the
    call itself), and its fields (column of the set -> canonical field, like a resource's)."""

    name: str
    cursor: str | None
    mapping: Mapping
    description: str | None = None


@dataclass
class ActionSpec:
    """A routine exposed as an action; ``params`` are FieldMaps whose column is the legacy
    parameter name, in the routine's argument order."""

    name: str
    source: str
    kind: str  # procedure | function
    routine: str
    params: dict[str, FieldMap]
    modes: dict[str, str]  # param -> in | out | inout
    required: tuple[str, ...] = ()  # IN / INOUT params a call must give
    read_only: bool = False
    audit: bool = True  # each call leaves an audit record (params and answer) in the state store
    returns: FieldMap | None = None
    result_sets: list[ResultSetSpec] = field(default_factory=list)
    description: str | None = None
    idempotency: dict[str, Any] = field(default_factory=lambda: dict(IDEMPOTENCY_DEFAULTS))

    @property
    def cursors(self) -> set[str]:
        """The params that are cursors a result set is read from (not answered as values)."""
        return {s.cursor for s in self.result_sets if s.cursor is not None}

    def given(self) -> dict[str, FieldMap]:
        """The params a call sends (IN, INOUT), by canonical name."""
        return {n: f for n, f in self.params.items() if self.modes[n] != "out" and n not in self.cursors}

    def answered(self) -> dict[str, FieldMap]:
        """The params the answer holds (OUT, INOUT), by canonical name."""
        return {n: f for n, f in self.params.items() if self.modes[n] != "in" and n not in self.cursors}


@dataclass
class ApiVersion:
    """One version of the API: its routes' prefix, its resources' contracts, its deprecation."""

    name: str  # e.g. v2: the last segment of ``path``
    path: str  # e.g. /v2
    resources: dict[str, ResourceSpec]
    base: bool = False  # the version at service.base_path: every resource
    deprecated: dt.datetime | None = None  # RFC 9745 Deprecation
    sunset: dt.datetime | None = None  # RFC 8594 Sunset
    link: str | None = None  # rel="deprecation": the page that explains it


def base_version(service: dict[str, Any], resources: dict[str, ResourceSpec]) -> ApiVersion:
    """The version every resource is served in, at ``service.base_path``."""
    path = str(service["base_path"]).rstrip("/")
    return ApiVersion(name=path.rsplit("/", 1)[-1], path=path, resources=resources, base=True)


@dataclass
class Config:
    service: dict[str, Any]
    sources: dict[str, dict[str, Any]]
    resources: dict[str, ResourceSpec] = field(default_factory=dict)
    origin: str = "config"
    auth: dict[str, Any] | None = None  # None: no auth: section, every route is open
    rate_limits: dict[str, Any] | None = None
    webhooks: dict[str, Any] = field(default_factory=dict)  # the webhooks: section, defaults filled in
    events: dict[str, Any] = field(default_factory=dict)  # the events: section (sinks, relay, retention)
    versions: list[ApiVersion] = field(default_factory=list)  # the base version first; empty: only it
    actions: dict[str, ActionSpec] = field(default_factory=dict)  # stored procedures and functions
