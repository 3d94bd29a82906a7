"""The validated config as the rest of the service reads it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from legacy_bridge.contracts.mapping import Mapping

__all__ = ["Config", "ResourceSpec"]


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
    operations: tuple[str, ...] = ("get", "list")    # the routes it has: get, list, create
    changes: dict[str, Any] | None = None    # change feed options (legacy_bridge.changes)
    watermark: tuple[str, ...] = ()      # field(s) that grow on every write: updated_since


@dataclass
class Config:
    service: dict[str, Any]
    sources: dict[str, dict[str, Any]]
    resources: dict[str, ResourceSpec] = field(default_factory=dict)
    origin: str = "config"
    auth: dict[str, Any] | None = None          # None: no auth: section, every route is open
    rate_limits: dict[str, Any] | None = None
    webhooks: dict[str, Any] = field(default_factory=dict)    # the webhooks: section, defaults filled in
    events: dict[str, Any] = field(default_factory=dict)      # the events: section (sinks, relay, retention)
