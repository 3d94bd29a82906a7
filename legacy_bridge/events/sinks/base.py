"""What every event sink is: publish a batch in order, return once the broker confirmed it.

A sink is one small class (:class:`Sink`): ``publish(messages)`` sends CloudEvents in the
order given and returns only when the broker has acknowledged every one; a failure raises
:class:`SinkUnavailable` saying how many of the batch were confirmed before it, so the
relay (:mod:`legacy_bridge.events.relay`) marks exactly those sent and retries from the
next.  A sink keeps its connection between batches and drops it on any error, so the next
call reconnects.  Adding a broker (Kafka: confluent-kafka, keyed by ``subject``, an
idempotent producer) is one more subclass and one line in :data:`~.registry.KINDS`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:  # the SDK comes with the [events] extra
    from cloudevents.core.v1.event import CloudEvent

    from legacy_bridge.events.state import StateStore

__all__ = ["Sink", "Message", "Published", "SinkUnavailable"]


@dataclass(frozen=True)
class Message:
    """One change event as a sink sends it."""

    event_id: int
    resource: str
    kind: str
    cloud_event: CloudEvent


@dataclass
class Published:
    """What a batch did: every message confirmed; the ids the broker could not route."""

    confirmed: int
    unroutable: list[int] = field(default_factory=list)


class SinkUnavailable(Exception):
    """The broker is away or refused a message: retry later from message ``confirmed``."""

    def __init__(self, detail: str, confirmed: int = 0, unroutable: list[int] | None = None) -> None:
        super().__init__(detail)
        self.confirmed = confirmed
        self.unroutable = unroutable or []


class Sink(ABC):
    """A broker connection that publishes CloudEvents with acknowledgements."""

    kind: ClassVar[str]
    #: the per-kind keys of a ``events.sinks.<name>`` entry, with defaults (None: required)
    options: ClassVar[dict[str, Any]] = {}
    #: the content modes this broker carries (binary needs message headers)
    modes: ClassVar[tuple[str, ...]] = ("binary", "structured")

    @classmethod
    def check(cls, settings: dict[str, Any]) -> list[tuple[str, str]]:
        """Problems of a sink entry beyond the declared keys, as (key, message)."""
        return []

    def __init__(self, name: str, settings: dict[str, Any]) -> None:
        self.name = name
        self.settings = settings
        self.mode = settings["mode"]

    def attach(self, store: StateStore, resources: dict[str, Any]) -> None:
        """Given what a sink writing through a resource needs (the x12 sink): the state store
        and the served resources by name; a broker needs neither."""

    @abstractmethod
    def publish(self, messages: list[Message]) -> Published:
        """Send ``messages`` in order; return when every one is acknowledged."""

    def close(self) -> None:
        """Drop the connection (the next publish reconnects)."""

    def describe(self) -> str:
        """Where it publishes, without credentials (for logs and /readyz)."""
        return self.kind
