"""X12 documents as an event sink: each change event's record written as one interchange (a 214
shipment status, say) through an x12 ``drop:`` resource — its contract, converters, mapping in
reverse, envelope ids and folder — with control numbers from the state store.

```yaml
events:
  sinks:
    partner_214: {kind: x12, resource: statuses, events: ["shipments.created", "shipments.updated"]}
```

The event's record is taken as a POST body of that resource (the fields it names; the others are
the source's own).  Each file is named ``<set>.<ISA13>.evt_<event id>.x12``: a batch the relay
publishes again (a lease lost, a worker killed before the cursor moved) finds the event's file in
the folder and writes no second one.  A deletion carries no record: it writes nothing.  A record
the document cannot carry (a required value null, a delimiter in a value) stops its partition
with the reason in the sink's status, as a broker refusing a message would, until the data or
the mapping is mended.
"""

from __future__ import annotations

from functools import partial
from typing import Any, ClassVar

from legacy_bridge.errors import InvalidInput
from legacy_bridge.events.control_numbers import ControlNumbers
from legacy_bridge.events.outbox import webhook_id
from legacy_bridge.events.sinks.base import Message, Published, Sink, SinkUnavailable
from legacy_bridge.events.state import StateStore
from legacy_bridge.query.schema import parse_body
from legacy_bridge.resources import Resource
from legacy_bridge.x12_drops import X12DropWriter

__all__ = ["X12Sink"]


class X12Sink(Sink):
    kind = "x12"
    options: ClassVar[dict[str, Any]] = {"resource": None}

    def __init__(self, name: str, settings: dict[str, Any]) -> None:
        super().__init__(name, settings)
        self.resource: Resource | None = None
        self.writer: X12DropWriter | None = None

    def attach(self, store: StateStore, resources: dict[str, Resource]) -> None:
        resource = resources.get(self.settings["resource"])
        if resource is None or not isinstance(resource.drop, X12DropWriter):
            return  # not served here (the config check refuses it): publish says so
        self.resource, self.writer = resource, resource.drop
        if self.writer.numbers is None:
            self.writer.numbers = partial(ControlNumbers, store)

    def describe(self) -> str:
        where = f" into {self.writer.outbound.rules.folder}" if self.writer is not None else ""
        return f"x12 documents of {self.settings['resource']}{where}"

    def publish(self, messages: list[Message]) -> Published:
        if messages and (self.resource is None or self.writer is None):
            raise SinkUnavailable(f"sink {self.name}: not attached to its resource (a relay without resources)")
        done = Published(0)
        for message in messages:
            record = message.cloud_event.get_data()
            tag = webhook_id(message.event_id)
            assert self.resource is not None and self.writer is not None
            if message.kind != "deleted" and isinstance(record, dict) and not self.writer.outbound.files(tag=tag):
                try:
                    fields = self.resource.mapping.fields
                    body = parse_body(self.resource, {n: v for n, v in record.items() if n in fields})
                    self.writer.deliver([self.writer.body(body)], tag)
                except (InvalidInput, OSError, ValueError) as exc:
                    detail = exc.detail if isinstance(exc, InvalidInput) else str(exc)
                    raise SinkUnavailable(f"event {tag}: {detail}", done.confirmed) from None
            done.confirmed += 1
        return done
