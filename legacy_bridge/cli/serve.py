"""``legacy-bridge serve``: the config on Flask's development server (gunicorn in production)."""

from __future__ import annotations

import signal
from typing import Any

import click

from legacy_bridge.cli.common import config_option, config_path_of, fail
from legacy_bridge.errors import ConfigError


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def run_server(app: Any, host: str, port: int) -> None:
    """Flask's development server until Ctrl-C or SIGTERM; the sources' pools are closed after."""
    from werkzeug.serving import run_simple

    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        app.extensions["legacy_bridge"].close()
    click.echo("stopped")


@click.command()
@config_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
def serve(config_path: str | None, host: str, port: int) -> None:
    """Serve the config with the development server (use gunicorn wsgi:app in production)."""
    from legacy_bridge.app import create_app

    try:
        app = create_app({"LEGACY_BRIDGE_CONFIG": config_path_of(config_path)})
    except ConfigError as error:
        fail(f"invalid config {error}")
    click.echo(
        f"serving {len(app.extensions['legacy_bridge'].resources)} resource(s) on http://{host}:{port} (Ctrl-C to stop)"
    )
    run_server(app, host, port)
