"""What every ``legacy-bridge`` command shares: the config option, loading it, failing
with an exit code, and a failure's reason as an operator reads it.

Exit codes: 0 all well; 1 a source or resource is failing (or a lookup found nothing);
2 the config is invalid or the command was used wrongly.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import click

from legacy_bridge.config import Config
from legacy_bridge.errors import ConfigError, LegacyBridgeError

__all__ = [
    "EXIT_FAILING",
    "EXIT_USAGE",
    "config_option",
    "fail",
    "config_path_of",
    "load_config",
    "quiet_drivers",
    "reason",
]

EXIT_FAILING = 1
EXIT_USAGE = 2

config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="The YAML config file (default: $LEGACY_BRIDGE_CONFIG).",
)


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    click.echo(message, err=True)
    raise click.exceptions.Exit(code)


def config_path_of(config_path: str | None) -> str:
    path = config_path or os.environ.get("LEGACY_BRIDGE_CONFIG")
    if not path:
        fail("error: no config file: pass --config FILE or set LEGACY_BRIDGE_CONFIG")
    return path


def load_config(config_path: str | None) -> Config:
    from legacy_bridge.config import load

    try:
        return load(config_path_of(config_path))
    except ConfigError as error:
        fail(f"invalid config {error}")


@contextmanager
def quiet_drivers() -> Iterator[None]:
    """The report says what failed and why; the drivers' warning logs would only repeat it."""
    logger = logging.getLogger("legacy_bridge")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def cause_of(error: BaseException) -> str | None:
    """The lower layer's own message (pyodbc's), for the operator at the terminal."""
    inner = error.__cause__ or error.__context__
    if inner is None or isinstance(inner, LegacyBridgeError):
        return None
    text = str(inner.args[-1]) if inner.args else str(inner)
    return " ".join(text.split())[:300]


def reason(error: BaseException) -> str:
    """A failure as the operator reads it: our detail with the legacy code, then the lower layer's message."""
    if isinstance(error, LegacyBridgeError):
        text = error.detail
        code = getattr(error, "legacy_code", None)
        text += f" [{code}]" if code else ""  # the legacy system's own code (SQLSTATE)
    else:
        text = f"{type(error).__name__}: {error}"
    cause = cause_of(error)
    return f"{text}: {cause}" if cause else text
