"""Change events as CloudEvents 1.0 (the ``cloudevents`` SDK), one envelope for every broker.

- ``id``: the change event's webhook-id (``evt_<event id>``), so one id drops duplicates
  across webhooks and every broker;
- ``source``: ``<events.source>/<resource>`` (the service, then the resource);
- ``type``: ``<events.type_prefix>.<resource>.<kind>.v<contract version>``;
- ``subject``: the record key (its values joined by ``,`` when composite, as in URLs);
- ``time``: when the change was detected; ``datacontenttype``: application/json;
- ``data``: the canonical record, or the key for deletions.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from cloudevents.core.bindings import http, rabbitmq
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from legacy_bridge.events.outbox import webhook_id
from legacy_bridge.events.state import ChangeEvent

__all__ = ["Envelope", "subject", "JSON_FORMAT", "structured", "binary_headers", "rabbitmq_message"]

JSON_FORMAT = JSONFormat()


def subject(key: dict[str, Any]) -> str:
    return ",".join(str(v) for v in key.values())


class Envelope:
    """Builds the CloudEvent of a change event for one deployment's names."""

    def __init__(self, source: str, type_prefix: str, contract_version: str) -> None:
        self.source = source.rstrip("/")
        self.type_prefix = type_prefix
        self.version = contract_version

    def event_type(self, resource: str, kind: str) -> str:
        return f"{self.type_prefix}.{resource}.{kind}.v{self.version}"

    def cloud_event(self, event: ChangeEvent) -> CloudEvent:
        attributes = {
            "id": webhook_id(event.id),
            "source": f"{self.source}/{event.resource}",
            "type": self.event_type(event.resource, event.kind),
            "subject": subject(event.key),
            "time": event.occurred_at.replace(tzinfo=dt.UTC),
            "datacontenttype": "application/json",
        }
        return CloudEvent(attributes, event.record if event.record is not None else event.key)


def structured(event: CloudEvent) -> bytes:
    """The whole event as one JSON document (content type application/cloudevents+json)."""
    return JSON_FORMAT.write(event)


def binary_headers(event: CloudEvent) -> tuple[dict[str, str], bytes]:
    """Attributes as ``ce-*`` headers (the HTTP binding's names), data as the body."""
    message = http.to_binary(event, JSON_FORMAT)
    return dict(message.headers), message.body


def rabbitmq_message(event: CloudEvent, mode: str) -> rabbitmq.RabbitMQMessage:
    """The RabbitMQ binding: ``ce-*`` headers (binary) or the JSON document (structured)."""
    convert = rabbitmq.to_binary if mode == "binary" else rabbitmq.to_structured
    return convert(event, JSON_FORMAT)
