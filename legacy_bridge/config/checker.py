"""The config's building blocks: a checker that collects every problem with its key path,
``${ENV}`` interpolation, durations and sizes."""

from __future__ import annotations

import os
import re
from importlib import import_module
from typing import Any

__all__ = ["Checker", "interpolate", "parse_duration", "parse_size", "import_object"]

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}
_SIZE = re.compile(r"^\s*(\d+)\s*(B|KB|KiB|MB|MiB|GB|GiB)?\s*$", re.I)
_SIZE_UNITS = {"b": 1, "kb": 1000, "kib": 1024, "mb": 1000**2, "mib": 1024**2, "gb": 1000**3, "gib": 1024**3}


def parse_duration(value: Any) -> float:
    """``5s``, ``500ms``, ``2m`` or a number of seconds."""
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, (int, float)):
        return float(value)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_size(value: Any) -> int:
    """``1MiB``, ``64KiB``, ``10MB`` or a number of bytes."""
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int):
        return value
    match = _SIZE.match(str(value))
    if not match:
        raise ValueError
    return int(match.group(1)) * _SIZE_UNITS[(match.group(2) or "b").lower()]


def interpolate(node: Any, path: str, problems: list[tuple[str, str]]) -> Any:
    """Replace ``${VAR}`` / ``${VAR:-default}`` in every string of the tree."""
    if isinstance(node, dict):
        return {k: interpolate(v, f"{path}.{k}" if path else str(k), problems) for k, v in node.items()}
    if isinstance(node, list):
        return [interpolate(v, f"{path}[{i}]", problems) for i, v in enumerate(node)]
    if not isinstance(node, str):
        return node

    def one(match: re.Match) -> str:
        value = os.environ.get(match.group(1), match.group(2))
        if value is None:
            problems.append((path, f"environment variable {match.group(1)} is not set"))
            return ""
        return value

    return _ENV.sub(one, node)


class Checker:
    """Collects (path, message) problems while building the typed config."""

    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append((path, message))

    def mapping(self, node: Any, path: str) -> dict:
        if node is None:
            return {}
        if not isinstance(node, dict):
            self.fail(path, f"expected a mapping, got {type(node).__name__}")
            return {}
        return node

    def unknown(self, node: dict, known: set[str], path: str) -> None:
        for key in node:
            if key not in known:
                self.fail(f"{path}.{key}" if path else str(key), f"unknown key; known: {', '.join(sorted(known))}")

    def integer(self, node: dict, key: str, path: str, default: int, low: int = 1) -> int:
        value = node.get(key, default)
        if isinstance(value, str) and value.strip().isdecimal():  # ${VAR} interpolation yields text
            value = node[key] = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            self.fail(f"{path}.{key}", f"expected an integer >= {low}, got {value!r}")
            return default
        return value

    def duration(self, node: dict, key: str, path: str) -> None:
        if key in node:
            try:
                node[key] = parse_duration(node[key])
            except ValueError:
                self.fail(f"{path}.{key}", f"expected a duration such as 5s or 500ms, got {node[key]!r}")


def import_object(spec: str) -> Any:
    """``package.module:name`` imported."""
    module, _, attr = spec.partition(":")
    return getattr(import_module(module), attr)
