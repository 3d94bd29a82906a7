"""MQTT with paho-mqtt: QoS 1 (each message acknowledged by a PUBACK), topic
``<topic_prefix>/<resource>/<kind>``, for the plant floor and telematics side.

Binary mode needs MQTT 5 (the CloudEvents MQTT binding): attributes as User Properties, the
content type in the Content Type property, the data as the payload; structured mode works on
3.1.1 too.  A batch is published, then its PUBACKs awaited in order; paho's own reconnect is
off and a client that failed is thrown away, so messages it still held are never re-sent
behind the relay's back (the relay starts again at the first unacknowledged event).
"""

from __future__ import annotations

import threading
import uuid
from typing import Any
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from legacy_bridge.events.sinks.base import Message, Published, Sink, SinkUnavailable
from legacy_bridge.events.sinks.envelope import binary_headers, structured

PROTOCOLS = {"5": mqtt.MQTTv5, "3.1.1": mqtt.MQTTv311}


class MqttSink(Sink):
    kind = "mqtt"
    options = {"url": None, "topic_prefix": "legacy-bridge", "protocol": "5"}

    @classmethod
    def check(cls, settings: dict[str, Any]) -> list[tuple[str, str]]:
        if str(settings["protocol"]) not in PROTOCOLS:
            return [("protocol", f"expected 5 or 3.1.1, got {settings['protocol']!r}")]
        if settings["mode"] == "binary" and str(settings["protocol"]) != "5":
            return [("mode", "binary mode needs MQTT 5 (user properties); use structured with 3.1.1")]
        return []

    def __init__(self, name: str, settings: dict[str, Any]) -> None:
        super().__init__(name, settings)
        url = urlsplit(settings["url"])
        self._host, self._port = url.hostname or "127.0.0.1", url.port or 1883
        self._auth = (unquote(url.username), unquote(url.password or "")) if url.username else None
        self.prefix = settings["topic_prefix"].rstrip("/")
        self._v5 = str(settings["protocol"]) == "5"
        self._client: mqtt.Client | None = None

    def describe(self) -> str:
        return f"mqtt://{self._host}:{self._port} topics {self.prefix}/#"

    def _open(self) -> mqtt.Client:
        if self._client is not None and self._client.is_connected():
            return self._client
        self.close()
        protocol = PROTOCOLS[str(self.settings["protocol"])]
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"legacy-bridge-{uuid.uuid4().hex[:12]}",
            protocol=protocol,
            reconnect_on_failure=False,
        )
        if self._auth:
            client.username_pw_set(*self._auth)
        connected = threading.Event()
        client.on_connect = lambda c, userdata, flags, reason, props: connected.set() if not reason.is_failure else None
        client.connect(self._host, self._port, keepalive=max(5, int(self.settings["timeout"] * 2)))
        client.loop_start()
        self._client = client
        if not connected.wait(self.settings["timeout"]):
            raise OSError("no CONNACK (refused or timed out)")
        return client

    def _wire(self, message: Message) -> tuple[bytes, Properties | None]:
        properties = Properties(PacketTypes.PUBLISH) if self._v5 else None
        if self.mode == "binary":
            assert properties is not None  # binary mode needs MQTT 5: the config check refuses it on 3.1.1
            headers, body = binary_headers(message.cloud_event)
            properties.ContentType = headers.pop("content-type", "application/json")
            properties.UserProperty = [(k.removeprefix("ce-"), v) for k, v in headers.items()]
            return body, properties
        if properties is not None:
            properties.ContentType = "application/cloudevents+json"
        return structured(message.cloud_event), properties

    def publish(self, messages: list[Message]) -> Published:
        done = Published(0)
        try:
            client = self._open()
            sent = []
            for message in messages:
                body, properties = self._wire(message)
                info = client.publish(
                    f"{self.prefix}/{message.resource}/{message.kind}", body, qos=1, properties=properties
                )
                if info.rc != mqtt.MQTT_ERR_SUCCESS:
                    raise OSError(mqtt.error_string(info.rc))
                sent.append(info)
            for info in sent:  # PUBACKs come in order: count the acknowledged head of the batch
                info.wait_for_publish(self.settings["timeout"])
                if not info.is_published():
                    raise OSError("no PUBACK in time")
                done.confirmed += 1
        except (OSError, RuntimeError, ValueError) as exc:
            self.close()
            raise SinkUnavailable(f"publish failed: {exc!r}", done.confirmed) from None
        return done

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.disconnect()
            client.loop_stop()
