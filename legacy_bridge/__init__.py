"""legacy-bridge: legacy databases, SOAP services and flat files as clean REST APIs."""

from __future__ import annotations

__all__ = ["create_app", "__version__"]
__version__ = "0.1.0"


def create_app(test_config=None):
    """See :func:`legacy_bridge.app.create_app` (imported lazily: the CLI starts fast)."""
    from .app import create_app as factory

    return factory(test_config)
