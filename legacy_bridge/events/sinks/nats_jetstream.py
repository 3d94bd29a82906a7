"""NATS JetStream with nats-py: subject ``<subject_prefix>.<resource>.<kind>``, each publish
acknowledged by the stream (a ``PubAck``), ``Nats-Msg-Id`` = the CloudEvents id so the stream
itself drops a re-published event inside its duplicate window.

nats-py is asyncio; the sink keeps one event loop of its own and runs each batch to the end
on it, so the relay stays a plain thread.  The client never reconnects by itself: a broken
connection fails the batch, and the relay's retry reconnects and starts again at the first
unacknowledged event (order per key holds).  ``stream:`` (optional) is created, for the
prefix's subjects, when it does not exist.
"""

from __future__ import annotations

import asyncio
from typing import Any

import nats
from nats.errors import Error as NatsError
from nats.js.errors import Error as JetStreamError
from nats.js.errors import NotFoundError

from legacy_bridge.events.sinks.base import Message, Published, Sink, SinkUnavailable
from legacy_bridge.events.sinks.envelope import binary_headers, structured

STRUCTURED = "application/cloudevents+json"


class NatsSink(Sink):
    kind = "nats"
    options = {"url": None, "subject_prefix": "legacy-bridge", "stream": ""}

    def __init__(self, name: str, settings: dict[str, Any]) -> None:
        super().__init__(name, settings)
        self.prefix = settings["subject_prefix"]
        self._loop = asyncio.new_event_loop()
        self._client: Any = None
        self._js: Any = None

    def describe(self) -> str:
        return f"nats subjects {self.prefix}.>"

    async def _open(self) -> Any:
        if self._client is not None and self._client.is_connected:
            return self._js
        await self._drop()
        timeout = self.settings["timeout"]
        self._client = await nats.connect(
            self.settings["url"],
            connect_timeout=timeout,
            allow_reconnect=False,
            max_reconnect_attempts=0,
            ping_interval=max(1, int(timeout)),
            max_outstanding_pings=2,
        )
        self._js = self._client.jetstream(timeout=timeout)
        stream = self.settings["stream"]
        if stream:
            try:
                await self._js.stream_info(stream)
            except NotFoundError:
                await self._js.add_stream(name=stream, subjects=[f"{self.prefix}.>"])
        return self._js

    def _wire(self, message: Message) -> tuple[bytes, dict[str, str]]:
        if self.mode == "binary":
            headers, body = binary_headers(message.cloud_event)
        else:
            headers, body = {"content-type": STRUCTURED}, structured(message.cloud_event)
        headers["Nats-Msg-Id"] = message.cloud_event.get_id()
        return body, headers

    async def _publish(self, messages: list[Message]) -> Published:
        done = Published(0)
        try:
            js = await self._open()
        except (TimeoutError, NatsError, JetStreamError, OSError) as exc:
            await self._drop()
            raise SinkUnavailable(f"cannot connect: {exc!r}") from None
        for message in messages:
            body, headers = self._wire(message)
            try:
                await js.publish(f"{self.prefix}.{message.resource}.{message.kind}", body, headers=headers)
            except (TimeoutError, NatsError, JetStreamError, OSError) as exc:
                await self._drop()
                raise SinkUnavailable(f"publish failed: {exc!r}", done.confirmed) from None
            done.confirmed += 1
        return done

    def publish(self, messages: list[Message]) -> Published:
        return self._loop.run_until_complete(self._publish(messages))

    async def _drop(self) -> None:
        client, self._client, self._js = self._client, None, None
        if client is not None and not client.is_closed:
            try:
                await asyncio.wait_for(client.close(), self.settings["timeout"])
            except Exception:  # already broken: nothing to close cleanly
                pass

    def close(self) -> None:
        if not self._loop.is_closed():
            self._loop.run_until_complete(self._drop())
            self._loop.close()
