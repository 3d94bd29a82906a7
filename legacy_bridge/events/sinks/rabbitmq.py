"""RabbitMQ (AMQP 0-9-1) with pika: a topic exchange, routing key ``<resource>.<kind>``,
persistent messages, publisher confirms and mandatory routing.

pika's ``BlockingChannel`` in confirm mode turns the broker's answer to each publish into
a return value or an exception (``UnroutableError`` for a mandatory message no queue took,
``NackError`` for a refusal), which is exactly what the relay needs to mark events sent
one by one; kombu would add a transport abstraction and its own retry loop on top of the
relay's.  Unroutable events are reported (log, metric, /readyz); ``unroutable: retry``
keeps them unsent until a queue is bound instead.
"""

from __future__ import annotations

import logging
from typing import Any

import pika
from pika.exceptions import AMQPError, NackError, UnroutableError

from legacy_bridge.events.sinks.base import Message, Published, Sink, SinkUnavailable
from legacy_bridge.events.sinks.envelope import rabbitmq_message

log = logging.getLogger("legacy_bridge.sinks")
# pika logs every refused connection as an ERROR with a traceback; the relay reports each
# failed attempt itself, once, with its backoff
logging.getLogger("pika").setLevel(logging.CRITICAL)


class RabbitMQSink(Sink):
    kind = "rabbitmq"
    options = {"url": None, "exchange": "legacy-bridge.events", "declare": True, "unroutable": "report"}

    def __init__(self, name: str, settings: dict[str, Any]) -> None:
        super().__init__(name, settings)
        self.exchange = settings["exchange"]
        self._params = pika.URLParameters(settings["url"])
        timeout = settings["timeout"]
        self._params.socket_timeout = timeout
        self._params.stack_timeout = timeout * 2
        self._params.blocked_connection_timeout = timeout
        self._params.connection_attempts = 1
        self._params.heartbeat = max(2, int(timeout * 2))  # a silent broker is noticed, not waited on forever
        self._connection: pika.BlockingConnection | None = None
        self._channel: Any = None

    def describe(self) -> str:
        return f"amqp://{self._params.host}:{self._params.port}/ exchange {self.exchange}"

    def _open(self) -> Any:
        if self._channel is not None and self._channel.is_open:
            return self._channel
        self.close()
        self._connection = pika.BlockingConnection(self._params)
        channel = self._connection.channel()
        channel.confirm_delivery()
        if self.settings["declare"]:
            channel.exchange_declare(self.exchange, exchange_type="topic", durable=True)
        self._channel = channel
        return channel

    def publish(self, messages: list[Message]) -> Published:
        done = Published(0)
        try:
            channel = self._open()
        except (AMQPError, OSError) as exc:
            self.close()
            raise SinkUnavailable(f"cannot connect: {exc!r}") from None
        for message in messages:
            wire = rabbitmq_message(message.cloud_event, self.mode)
            properties = pika.BasicProperties(
                delivery_mode=pika.DeliveryMode.Persistent,
                content_type=wire.content_type,
                headers=wire.headers,
                message_id=message.cloud_event.get_id(),
            )
            try:
                channel.basic_publish(
                    self.exchange, f"{message.resource}.{message.kind}", wire.body, properties, mandatory=True
                )
            except UnroutableError:
                if self.settings["unroutable"] == "retry":
                    raise SinkUnavailable(
                        f"event {message.event_id} is unroutable (no queue bound to {message.resource}.{message.kind})",
                        done.confirmed,
                        done.unroutable,
                    ) from None
                done.unroutable.append(message.event_id)
            except NackError:
                raise SinkUnavailable(
                    f"the broker refused event {message.event_id}", done.confirmed, done.unroutable
                ) from None
            except (AMQPError, OSError) as exc:
                self.close()
                raise SinkUnavailable(f"publish failed: {exc!r}", done.confirmed, done.unroutable) from None
            done.confirmed += 1
        return done

    def close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except Exception:  # already broken: nothing to close cleanly
                log.debug("closing %s", self.name, exc_info=True)
