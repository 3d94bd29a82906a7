"""Real brokers for the event-sink tests: per-run names, consumers that collect CloudEvents.

RabbitMQ 127.0.0.1:5672 (guest/guest), NATS JetStream 127.0.0.1:4222 and Mosquitto
127.0.0.1:1883 run on the test machines; every exchange, queue, stream or topic a test
makes carries the run's pid and a random part, and is removed by the test.
"""
from __future__ import annotations

import os
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import orjson
from cloudevents.core.bindings import rabbitmq
from cloudevents.core.formats.json import JSONFormat
from helpers.backends import unavailable

RABBIT_HOST, RABBIT_PORT = "127.0.0.1", 5672


def run_name(what: str) -> str:
    """A name no other run uses on the shared brokers."""
    return f"lb-test-{what}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def rabbit_url(port: int = RABBIT_PORT) -> str:
    return f"amqp://guest:guest@{RABBIT_HOST}:{port}/%2F"


@dataclass
class Received:
    routing_key: str
    headers: dict[str, Any]
    content_type: str | None
    body: bytes
    event: Any          # the CloudEvent parsed back with the SDK

    @property
    def id(self) -> str:
        return self.event.get_id()


class RabbitConsumer:
    """A queue bound to ``exchange`` (declared as the sink declares it) and what it received."""

    def __init__(self, exchange: str, binding: str = "#") -> None:
        import pika
        try:
            self.connection = pika.BlockingConnection(pika.URLParameters(rabbit_url()))
        except Exception as exc:        # noqa: BLE001 - the reason goes into the message
            unavailable(f"RabbitMQ on {RABBIT_HOST}:{RABBIT_PORT} is not reachable: {exc!r}", "CI tests the sinks")
        self.exchange = exchange
        self.channel = self.connection.channel()
        self.channel.exchange_declare(exchange, exchange_type="topic", durable=True)
        self.queue = self.channel.queue_declare("", exclusive=True).method.queue     # gone with the connection
        self.channel.queue_bind(self.queue, exchange, routing_key=binding)
        self.received: list[Received] = []

    def collect(self, count: int, timeout: float = 30) -> list[Received]:
        """Wait until ``count`` messages in all arrived (or ``timeout``); every one so far."""
        deadline = time.monotonic() + timeout
        for method, properties, body in self.channel.consume(self.queue, auto_ack=True, inactivity_timeout=0.2):
            if method is not None:
                self.received.append(_parse(method.routing_key, properties, body))
            if len(self.received) >= count or time.monotonic() > deadline:
                break
        self.channel.cancel()
        return self.received

    def close(self) -> None:
        try:
            self.channel.exchange_delete(self.exchange)
        finally:
            self.connection.close()

    def __enter__(self) -> "RabbitConsumer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _parse(routing_key: str, properties: Any, body: bytes) -> Received:
    headers = dict(properties.headers or {})
    message = rabbitmq.RabbitMQMessage(headers={k: str(v) for k, v in headers.items()},
                                       content_type=properties.content_type, body=body)
    event = rabbitmq.from_rabbitmq(message, JSONFormat())
    return Received(routing_key, headers, properties.content_type, body, event)


def per_key(received: list[Any], key_of: Any = lambda r: r.event.get_subject()) -> dict[str, list[int]]:
    """The event ids each key received, in arrival order."""
    out: dict[str, list[int]] = defaultdict(list)
    for r in received:
        out[key_of(r)].append(int(r.id.removeprefix("evt_")))
    return out


def assert_complete_and_ordered(received: list[Any], expected_ids: set[int]) -> int:
    """Every expected event arrived and, per key, events first arrived in ascending id order
    (a re-publish after a lost confirm or a crash repeats events, never reorders new ones);
    how many duplicates arrived."""
    ids = [int(r.id.removeprefix("evt_")) for r in received]
    assert set(ids) == expected_ids, f"missing {sorted(expected_ids - set(ids))[:10]}, extra {sorted(set(ids) - expected_ids)[:10]}"
    for key, got in per_key(received).items():
        first_seen = list(dict.fromkeys(got))
        assert first_seen == sorted(first_seen), f"key {key}: out of order {first_seen}"
    return len(ids) - len(set(ids))


def json_body(body: bytes) -> Any:
    return orjson.loads(body)
