"""``legacy-bridge demo``: a small legacy CRM, an EBCDIC extract and a legacy TMS (SOAP),
served by gunicorn with the production settings (:mod:`legacy_bridge.ops.gunicorn_conf`)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from contextlib import ExitStack

import click

from legacy_bridge.cli.common import fail

GUNICORN_SETTINGS = "python:legacy_bridge.ops.gunicorn_conf"
LOCAL_RABBITMQ = "amqp://guest:guest@127.0.0.1:5672/%2F"


def _local_rabbitmq() -> str | None:
    """The local RabbitMQ's URL when one answers and its client is installed, else None."""
    try:
        import pika  # noqa: F401 - the [events] extra

        socket.create_connection(("127.0.0.1", 5672), timeout=0.5).close()
    except (ImportError, OSError):
        return None
    return LOCAL_RABBITMQ


@click.command()
@click.option(
    "--dir",
    "directory",
    default="./demo-data",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Where the demo database and config go.",
)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--no-serve", is_flag=True, help="Build and print, do not serve.")
@click.option(
    "--tms-port",
    default=8001,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Where the legacy TMS (a SOAP server) listens while the demo serves (0: any free port).",
)
@click.option(
    "--workers",
    default=2,
    show_default=True,
    type=click.IntRange(1, 64),
    help="gunicorn worker processes (WEB_CONCURRENCY).",
)
@click.option(
    "--broker",
    default="auto",
    show_default=True,
    help="RabbitMQ for the change events: auto (the local one, if it answers), none, or an amqp:// URL.",
)
def demo(
    directory: str, port: int, no_serve: bool, tms_port: int = 8001, workers: int = 2, broker: str = "auto"
) -> None:
    """Build a small legacy CRM in SQLite and an EBCDIC extract, write their config and
    serve it on 127.0.0.1 with gunicorn, as production runs, beside a legacy TMS: a real
    SOAP server (spyne) exposed as /v1/shipments etc."""
    try:
        from legacy_bridge.demo import crm
        from legacy_bridge.demo.tms_config import add_to_config
        from legacy_bridge.demo.tms_simulator import serve as serve_tms
    except ImportError as error:  # spyne is an extra
        fail(f"error: the demo needs its extra: pip install 'legacy-bridge[demo]' ({error})")
    broker_url = {"auto": _local_rabbitmq, "none": lambda: None}.get(broker, lambda: broker)()
    built = crm.build(directory, broker_url)
    with ExitStack() as stack:
        if not no_serve:
            tms_url = stack.enter_context(serve_tms(port=tms_port))
            add_to_config(built.config, tms_url)
            click.echo(f"legacy TMS: {tms_url}/soap11?wsdl and {tms_url}/soap12?wsdl (SOAP, spyne)")
        click.echo(f"legacy CRM: {built.database} ({built.rows} rows)\nconfig:     {built.config}")
        click.echo(
            f"extract:    {built.database.parent / 'drops'} (EBCDIC cp037, copybook {crm.COPYBOOK_NAME}): /v1/invoices"
        )
        base = f"http://127.0.0.1:{port}"
        click.echo("\nTry:")
        for line in crm.curl_lines(built.config, base):
            click.echo(f"  {line}")
        if not no_serve:
            click.echo(f"  curl '{base}/v1/shipments/TMS000001'")
            click.echo(f"  curl -g '{base}/v1/shipments?carrier=UPSN&consignee_country=US&limit=3'")
        click.echo(f"  docs: {base}/docs")
        click.echo(
            "\nWatch a change become events (the worker scans customers and delivers"
            + (
                f"; publishes to RabbitMQ, exchange {crm.DEMO_EXCHANGE}):"
                if broker_url
                else "; no RabbitMQ, so no broker sink):"
            )
        )
        for line in crm.event_lines(built, base, broker_url, sys.executable):
            click.echo(f"  {line}")
        click.echo(f"\nWrite an order (reads need no key; writes take the demo's key {crm.DEMO_WRITE_KEY}):")
        for line in crm.write_lines(base):
            click.echo(f"  {line}")
        if no_serve:
            click.echo(f"\nserve it: LEGACY_BRIDGE_CONFIG={built.config} gunicorn -c gunicorn.conf.py wsgi:app")
            return
        click.echo(f"\nserving on {base} with gunicorn ({workers} workers; Ctrl-C to stop)\n", err=True)
        raise SystemExit(_gunicorn(built.config, port, workers))


def _gunicorn(config: os.PathLike, port: int, workers: int) -> int:
    """gunicorn in the foreground, and beside it a ``legacy-bridge worker`` (change scans,
    webhooks, the broker relay), until they stop; Ctrl-C and SIGTERM stop both gracefully."""
    env = {
        **os.environ,
        "LEGACY_BRIDGE_CONFIG": str(config),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(workers),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", GUNICORN_SETTINGS, "legacy_bridge.app:create_app()"], env=env
    )
    worker = subprocess.Popen([sys.executable, "-m", "legacy_bridge.cli", "worker", "--config", str(config)], env=env)

    def stop(*_: object) -> None:
        for process in (server, worker):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        code = server.wait()
        stop()
        worker.wait()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return 0 if code in (0, -signal.SIGTERM) else code
