"""Webhooks: settings, secrets, Standard Webhooks signatures, backoff and one delivery.

A subscription names a target URL and the events it wants (``customers.updated``,
``customers.*``).  The worker (:mod:`legacy_bridge.webhook_worker`) turns change
events into outbox rows, one per subscription and event (:mod:`.webhooks_store`), and
delivers each with :func:`deliver`: the body is built once, when the row is made, so
every attempt and every redelivery sends the same bytes under the same ``webhook-id``;
only ``webhook-timestamp`` and the signature are made afresh per attempt, as the
Standard Webhooks spec asks.  A row is done only after a 2xx; any other answer (or
none) schedules the next attempt after an exponential backoff with jitter, and after
``max_attempts`` the row is dead (redeliverable through the API).
"""

from __future__ import annotations

import base64
import ipaddress
import random
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from standardwebhooks import Webhook

from legacy_bridge import __version__
from legacy_bridge.events.targets import Answer, TargetPolicy, post

EVENT_KINDS = ("created", "updated", "deleted")
EVENT_PATTERN = re.compile(r"^([a-z][a-z0-9_-]*|\*)\.(created|updated|deleted|\*)$")
SETTINGS_KEYS = {
    "allowed_hosts",
    "allow_networks",
    "max_attempts",
    "backoff",
    "max_backoff",
    "timeout",
    "claim_ttl",
    "poll_interval",
    "batch",
    "concurrency",
}
# retries for a day and more of receiver outage (retry_window: 27.4 h at the least, 54.8 h at
# the most with the jitter), as hosted webhook services do; tests shorten it
DEFAULTS: dict[str, Any] = {
    "allowed_hosts": [],
    "allow_networks": [],
    "max_attempts": 24,
    "backoff": 10.0,
    "max_backoff": 14400.0,
    "timeout": 10.0,
    "claim_ttl": 60.0,
    "poll_interval": 1.0,
    "batch": 50,
    "concurrency": 4,
}


class Backoff(Protocol):
    """The delays of a retry schedule (webhook settings, a sink relay's settings)."""

    @property
    def backoff(self) -> float: ...
    @property
    def max_backoff(self) -> float: ...


@dataclass(frozen=True)
class Settings:
    """The ``webhooks:`` section, validated (durations in seconds)."""

    policy: TargetPolicy
    max_attempts: int = 24
    backoff: float = 10.0  # the first retry waits about this long; each next one twice as long
    max_backoff: float = 14400.0
    timeout: float = 10.0  # one attempt, connection to last byte
    claim_ttl: float = 60.0  # how long a worker holds a row; a killed worker's rows free up after it
    poll_interval: float = 1.0
    batch: int = 50
    concurrency: int = 4

    @classmethod
    def from_config(cls, node: dict[str, Any] | None) -> Settings:
        node = {**DEFAULTS, **(node or {})}
        return cls(
            TargetPolicy.from_config(node["allowed_hosts"], node["allow_networks"]),
            **{k: node[k] for k in SETTINGS_KEYS - {"allowed_hosts", "allow_networks"}},
        )


def check_config(ck: Any, node: Any) -> dict[str, Any]:
    """The ``webhooks:`` section, validated into ``ck`` (a config checker)."""
    node = {**DEFAULTS, **ck.mapping(node, "webhooks")}
    ck.unknown(node, SETTINGS_KEYS, "webhooks")
    for key in ("max_attempts", "batch", "concurrency"):
        node[key] = ck.integer(node, key, "webhooks", DEFAULTS[key])
    for key in ("backoff", "max_backoff", "timeout", "claim_ttl", "poll_interval"):
        ck.duration(node, key, "webhooks")
    for key in ("allowed_hosts", "allow_networks"):
        if not isinstance(node[key], list) or not all(isinstance(v, str) and v for v in node[key]):
            ck.fail(f"webhooks.{key}", "expected a list of strings")
            node[key] = []
    for i, network in enumerate(node["allow_networks"]):
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            ck.fail(f"webhooks.allow_networks[{i}]", f"{network!r} is not an address or network (127.0.0.0/8)")
    durations_ok = all(isinstance(node[k], float) for k in ("timeout", "claim_ttl"))
    if durations_ok and node["claim_ttl"] <= node["timeout"] + 1:
        # a row must stay claimed for longer than an attempt may take, or two workers could send it
        ck.fail("webhooks.claim_ttl", f"must exceed timeout ({node['timeout']}s) by more than a second")
    return node


def new_secret() -> str:
    """A signing secret in the Standard Webhooks form: ``whsec_`` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def event_type(resource: str, kind: str) -> str:
    return f"{resource}.{kind}"


def wants(patterns: list[str], resource: str, kind: str) -> bool:
    """Whether a subscription's event patterns match one event."""
    for pattern in patterns:
        res, _, what = pattern.partition(".")
        if res in ("*", resource) and what in ("*", kind):
            return True
    return False


def signed_headers(secret: str, webhook_id: str, body: bytes, now: datetime | None = None) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt (``webhook-timestamp`` is the attempt's time)."""
    now = now or datetime.now(UTC)
    signature = Webhook(secret).sign(webhook_id, now, body.decode("utf-8"))
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
        "user-agent": f"legacy-bridge/{__version__} (webhooks)",
    }


def backoff(failures: int, settings: Backoff, rng: Callable[[], float] = random.random) -> float:
    """Seconds before the next attempt after ``failures`` failed ones: doubling from
    ``settings.backoff`` up to ``max_backoff``, each delay between half and all of that
    (jitter), so receivers coming back are not hit by every worker at the same instant."""
    ceiling = min(settings.max_backoff, settings.backoff * 2 ** min(failures - 1, 60))
    return ceiling / 2 + rng() * ceiling / 2


def retry_window(settings: Settings) -> tuple[float, float]:
    """Seconds from a delivery's first attempt to its last, at the least and at the most (the
    jitter draws each delay between half and all of its ceiling): how long a receiver may be
    down before the delivery is dead."""
    ceilings = [
        min(settings.max_backoff, settings.backoff * 2 ** min(n - 1, 60)) for n in range(1, settings.max_attempts)
    ]
    return sum(ceilings) / 2, float(sum(ceilings))


@dataclass
class Outcome:
    """What one attempt did to a row: ``status`` delivered/pending/dead and when to retry."""

    status: str
    attempts: int
    answer: Answer
    next_attempt_at: float | None = None


def deliver(
    url: str, secret: str, webhook_id: str, body: bytes, attempts: int, settings: Settings, now: float
) -> Outcome:
    """Attempt number ``attempts`` at one outbox row (counted when it was claimed, so an attempt
    cut short by a dying worker counts too)."""
    answer = post(url, body, signed_headers(secret, webhook_id, body), settings.policy, settings.timeout)
    if answer.ok:
        return Outcome("delivered", attempts, answer)
    if attempts >= settings.max_attempts:
        return Outcome("dead", attempts, answer)
    delay = backoff(attempts, settings)
    if answer.retry_after is not None:  # the receiver asked for a pause (429, 503): honour it, capped
        delay = max(delay, min(answer.retry_after, settings.max_backoff))
    return Outcome("pending", attempts, answer, now + delay)
