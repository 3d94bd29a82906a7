"""The config file: loaded, validated (every section's checks in this package), and typed.

The names below are re-exported lazily: importing one module of this package (the
checker, say, from a section's own checks) must not load the whole validator.
"""

from importlib import import_module
from typing import Any

_EXPORTS = {
    "Checker": "checker",
    "interpolate": "checker",
    "parse_duration": "checker",
    "parse_size": "checker",
    "SERVICE_DEFAULTS": "loader",
    "load": "loader",
    "validate": "loader",
    "Config": "model",
    "ResourceSpec": "model",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)
