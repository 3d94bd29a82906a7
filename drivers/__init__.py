"""Drivers, one package per kind of legacy system (odbc, soap, flatfile), found by ``kind`` in the config."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from .base import Driver

__all__ = ["Driver", "register_driver", "driver_class", "known_kinds"]

_BUILTIN = {
    "odbc": "legacy_bridge.drivers.odbc.driver:OdbcDriver",
    "soap": "legacy_bridge.drivers.soap.driver:SoapDriver",
    "flatfile": "legacy_bridge.drivers.flatfile.driver:FlatFileDriver",
}
_REGISTRY: dict[str, type[Driver] | str] = dict(_BUILTIN)


def register_driver(kind: str, cls: type[Driver]) -> None:
    """Make ``kind: <kind>`` in a source's config use ``cls``."""
    if not (isinstance(cls, type) and issubclass(cls, Driver)):
        raise TypeError(f"{cls!r} is not a Driver subclass")
    _REGISTRY[kind] = cls


def known_kinds() -> list[str]:
    return sorted(_REGISTRY)


def driver_class(kind: Any) -> type[Driver]:
    """The class for a source kind, as the config gives it (a KeyError, listing the kinds that
    exist, for any other value)."""
    entry = _REGISTRY.get(kind)
    if entry is None:
        raise KeyError(f"unknown source kind {kind!r}; known: {', '.join(known_kinds())}")
    if isinstance(entry, str):  # imported on first use: pyodbc only when needed
        module, _, attr = entry.partition(":")
        entry = _REGISTRY[kind] = getattr(import_module(module), attr)
    return entry
