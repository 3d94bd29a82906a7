"""A source's resilience policy: its ``retries``, ``breaker`` and ``max_calls`` keys, their
defaults and their validation.  The config checker reads it at start-up; the guard that applies
it to every call (:mod:`.resilience`) only reads the validated :class:`Policy`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Policy", "POLICY_KEYS", "check_policy"]

POLICY_KEYS = ("retries", "breaker", "max_calls")
RETRIES_DEFAULTS: dict[str, Any] = {"attempts": 2, "backoff": 0.2}
BREAKER_DEFAULTS: dict[str, Any] = {"failures": 5, "cooldown": 5.0}


@dataclass(frozen=True)
class Policy:
    """A source's ``retries: {attempts, backoff}`` and ``breaker: {failures, cooldown}``."""

    attempts: int = RETRIES_DEFAULTS["attempts"]
    backoff: float = RETRIES_DEFAULTS["backoff"]
    failures: int = BREAKER_DEFAULTS["failures"]
    cooldown: float = BREAKER_DEFAULTS["cooldown"]
    timeout: float | None = None  # a call's budget (seconds); None: unbounded
    max_calls: int | None = None  # the bulkhead; None: sized from the worker's threads

    @classmethod
    def of(cls, options: dict[str, Any], default_timeout: float | None = None) -> Policy:
        """The policy in a validated source config (see :func:`check_policy`)."""
        retries, breaker = options.get("retries") or {}, options.get("breaker") or {}
        return cls(
            attempts=retries.get("attempts", cls.attempts),
            backoff=retries.get("backoff", cls.backoff),
            failures=breaker.get("failures", cls.failures),
            cooldown=breaker.get("cooldown", cls.cooldown),
            timeout=options.get("timeout", default_timeout),
            max_calls=options.get("max_calls"),
        )


def check_policy(
    node: dict[str, Any], path: str, fail: Callable[[str, str], None], duration: Callable[[Any], float]
) -> None:
    """Validate (and normalise in place) a source's ``retries`` and ``breaker`` keys."""
    shapes = {"retries": ({"attempts": 1}, {"backoff": 0.0}), "breaker": ({"failures": 1}, {"cooldown": 0.0})}
    if "max_calls" in node:
        value = node["max_calls"]
        value = int(value) if isinstance(value, str) and value.strip().isdecimal() else value
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            fail(f"{path}.max_calls", f"expected an integer >= 1, got {node['max_calls']!r}")
        node["max_calls"] = value
    for key, (integers, durations) in shapes.items():
        value = node.get(key)
        if value is None:
            continue
        if not isinstance(value, dict):
            fail(f"{path}.{key}", f"expected a mapping with {', '.join([*integers, *durations])}")
            continue
        for k in value:
            if k not in integers and k not in durations:
                fail(f"{path}.{key}.{k}", f"unknown key; known: {', '.join(sorted([*integers, *durations]))}")
        for k, low in integers.items():
            if k in value:
                v = value[k]
                v = int(v) if isinstance(v, str) and v.strip().isdecimal() else v
                if isinstance(v, bool) or not isinstance(v, int) or v < low:
                    fail(f"{path}.{key}.{k}", f"expected an integer >= {low}, got {value[k]!r}")
                value[k] = v
        for k in durations:
            if k in value:
                try:
                    value[k] = duration(value[k])
                except ValueError:
                    fail(f"{path}.{key}.{k}", f"expected a duration such as 5s or 500ms, got {value[k]!r}")
