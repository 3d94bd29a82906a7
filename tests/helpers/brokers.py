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
    event: Any  # the CloudEvent parsed back with the SDK

    @property
    def id(self) -> str:
        return self.event.get_id()


class Arrivals(list):
    """What a consumer received, in arrival order, counting the different event ids as they
    come: recounting 10,000 arrivals at every poll took the GIL from the relay under test
    (the RabbitMQ cut-away test spent half its time there and overran its wait in CI)."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def append(self, received: Received) -> None:
        super().append(received)
        self.ids.add(received.id)


class RabbitConsumer:
    """A queue bound to ``exchange`` (declared as the sink declares it) and what it received."""

    def __init__(self, exchange: str, binding: str = "#") -> None:
        import pika

        try:
            self.connection = pika.BlockingConnection(pika.URLParameters(rabbit_url()))
        except Exception as exc:  # noqa: BLE001 - the reason goes into the message
            unavailable(f"RabbitMQ on {RABBIT_HOST}:{RABBIT_PORT} is not reachable: {exc!r}", "CI tests the sinks")
        self.exchange = exchange
        self.channel = self.connection.channel()
        self.channel.exchange_declare(exchange, exchange_type="topic", durable=True)
        self.queue = self.channel.queue_declare("", exclusive=True).method.queue  # gone with the connection
        self.channel.queue_bind(self.queue, exchange, routing_key=binding)
        self.received = Arrivals()
        self.channel.basic_consume(
            self.queue,
            lambda ch, method, properties, body: self.received.append(_parse(method.routing_key, properties, body)),
            auto_ack=True,
        )

    def collect(self, count: int, timeout: float = 30, distinct: bool = True) -> list[Received]:
        """Wait until ``count`` different events (or messages, when not ``distinct``) arrived, or
        ``timeout``; every message so far.  One consumer for the queue's life: cancelling one
        between calls would drop the messages pika had already prefetched."""
        deadline = time.monotonic() + timeout
        counted = unique if distinct else len
        while counted(self.received) < count and time.monotonic() < deadline:
            self.connection.process_data_events(time_limit=0.2)
        return self.received

    def close(self) -> None:
        """Delete the run's exchange, on a fresh channel if a failure closed this one."""
        try:
            channel = self.channel if self.channel.is_open else self.connection.channel()
            channel.exchange_delete(self.exchange)
        finally:
            if self.connection.is_open:
                self.connection.close()

    def __enter__(self) -> RabbitConsumer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _parse(routing_key: str, properties: Any, body: bytes) -> Received:
    headers = dict(properties.headers or {})
    message = rabbitmq.RabbitMQMessage(
        headers={k: str(v) for k, v in headers.items()}, content_type=properties.content_type, body=body
    )
    event = rabbitmq.from_rabbitmq(message, JSONFormat())
    return Received(routing_key, headers, properties.content_type, body, event)


def unique(received: Arrivals) -> int:
    """How many different events arrived (a re-published one counts once)."""
    return len(received.ids)


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
    assert set(ids) == expected_ids, (
        f"missing {sorted(expected_ids - set(ids))[:10]}, extra {sorted(set(ids) - expected_ids)[:10]}"
    )
    for key, got in per_key(received).items():
        first_seen = list(dict.fromkeys(got))
        assert first_seen == sorted(first_seen), f"key {key}: out of order {first_seen}"
    return len(ids) - len(set(ids))


def json_body(body: bytes) -> Any:
    return orjson.loads(body)


NATS_URL, MQTT_HOST, MQTT_PORT = "nats://127.0.0.1:4222", "127.0.0.1", 1883


def _from_headers(subject: str, headers: dict[str, str], body: bytes) -> Received:
    """A CloudEvent carried with HTTP-binding headers (binary) or as a JSON document (structured)."""
    from cloudevents.core.bindings.http import HTTPMessage, from_http

    lowered = {k.lower(): v for k, v in headers.items()}
    event = from_http(HTTPMessage(headers=lowered, body=body), JSONFormat())
    return Received(subject, lowered, lowered.get("content-type"), body, event)


class NatsConsumer:
    """A per-run JetStream stream over ``<prefix>.>`` and an ephemeral pull consumer on it."""

    def __init__(self, prefix: str) -> None:
        import asyncio

        self.prefix, self.stream = prefix, prefix.replace("-", "_")
        self.loop = asyncio.new_event_loop()
        self.received = Arrivals()
        try:
            self.loop.run_until_complete(self._start())
        except Exception as exc:  # noqa: BLE001 - the reason goes into the message
            unavailable(f"NATS JetStream on {NATS_URL} is not reachable: {exc!r}", "CI tests the sinks")

    async def _start(self) -> None:
        import nats

        self.client = await nats.connect(NATS_URL, connect_timeout=3, allow_reconnect=False)
        self.js = self.client.jetstream()
        await self.js.add_stream(name=self.stream, subjects=[f"{self.prefix}.>"])
        self.sub = await self.js.pull_subscribe(f"{self.prefix}.>", stream=self.stream)

    async def _collect(self, count: int, timeout: float) -> None:
        import nats.errors

        deadline = time.monotonic() + timeout
        while unique(self.received) < count and time.monotonic() < deadline:
            try:
                messages = await self.sub.fetch(500, timeout=0.5)
            except (nats.errors.TimeoutError, TimeoutError):  # nothing came within the wait
                continue
            for m in messages:
                self.received.append(_from_headers(m.subject, dict(m.headers or {}), m.data))
                await m.ack()

    def collect(self, count: int, timeout: float = 30) -> list[Received]:
        self.loop.run_until_complete(self._collect(count, timeout))
        return self.received

    def close(self) -> None:
        async def stop() -> None:
            await self.js.delete_stream(self.stream)
            await self.client.close()

        self.loop.run_until_complete(stop())
        self.loop.close()

    def __enter__(self) -> NatsConsumer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class MqttConsumer:
    """An MQTT 5 client subscribed (QoS 1) to ``<prefix>/#``."""

    def __init__(self, prefix: str) -> None:
        import threading

        import paho.mqtt.client as mqtt

        self.received = Arrivals()
        self._arrived = threading.Condition()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=prefix, protocol=mqtt.MQTTv5)
        subscribed = threading.Event()
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *args: subscribed.set()
        try:
            self.client.connect(MQTT_HOST, MQTT_PORT)
        except OSError as exc:
            unavailable(f"Mosquitto on {MQTT_HOST}:{MQTT_PORT} is not reachable: {exc!r}", "CI tests the sinks")
        self.client.loop_start()
        self.client.subscribe(f"{prefix}/#", qos=1)
        assert subscribed.wait(10), "no SUBACK"

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        props = getattr(message, "properties", None)
        headers = {f"ce-{k}": v for k, v in (getattr(props, "UserProperty", None) or [])}
        headers["content-type"] = getattr(props, "ContentType", None) or "application/cloudevents+json"
        with self._arrived:
            self.received.append(_from_headers(message.topic, headers, message.payload))
            self._arrived.notify_all()

    def collect(self, count: int, timeout: float = 30) -> list[Received]:
        with self._arrived:
            self._arrived.wait_for(lambda: unique(self.received) >= count, timeout)
            return list(self.received)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def __enter__(self) -> MqttConsumer:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
