"""``legacy-bridge demo``: a small legacy CRM, an EBCDIC extract and a legacy TMS (SOAP),
served by gunicorn with the production settings (:mod:`legacy_bridge.ops.gunicorn_conf`)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from contextlib import ExitStack

import click

from legacy_bridge.cli.common import fail

GUNICORN_SETTINGS = "python:legacy_bridge.ops.gunicorn_conf"


@click.command()
@click.option("--dir", "directory", default="./demo-data", show_default=True,
              type=click.Path(file_okay=False), help="Where the demo database and config go.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--no-serve", is_flag=True, help="Build and print, do not serve.")
@click.option("--tms-port", default=8001, show_default=True, type=click.IntRange(0, 65535),
              help="Where the legacy TMS (a SOAP server) listens while the demo serves (0: any free port).")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="gunicorn worker processes (WEB_CONCURRENCY).")
def demo(directory: str, port: int, no_serve: bool, tms_port: int = 8001, workers: int = 2) -> None:
    """Build a small legacy CRM in SQLite and an EBCDIC extract, write their config and
    serve it on 127.0.0.1 with gunicorn, as production runs, beside a legacy TMS: a real
    SOAP server (spyne) exposed as /v1/shipments etc."""
    try:
        from legacy_bridge.demo import crm
        from legacy_bridge.demo.tms_simulator import add_to_config, serve as serve_tms
    except ImportError as error:         # spyne is an extra
        fail(f"error: the demo needs its extra: pip install 'legacy-bridge[demo]' ({error})")
    built = crm.build(directory)
    with ExitStack() as stack:
        if not no_serve:
            tms_url = stack.enter_context(serve_tms(port=tms_port))
            add_to_config(built.config, tms_url)
            click.echo(f"legacy TMS: {tms_url}/soap11?wsdl and {tms_url}/soap12?wsdl (SOAP, spyne)")
        click.echo(f"legacy CRM: {built.database} ({built.rows} rows)\nconfig:     {built.config}")
        click.echo(f"extract:    {built.database.parent / 'drops'} (EBCDIC cp037, copybook "
                   f"{crm.COPYBOOK_NAME}): /v1/invoices")
        base = f"http://127.0.0.1:{port}"
        click.echo("\nTry:")
        for line in crm.curl_lines(built.config, base):
            click.echo(f"  {line}")
        if not no_serve:
            click.echo(f"  curl '{base}/v1/shipments/TMS000001'")
            click.echo(f"  curl -g '{base}/v1/shipments?carrier=UPSN&consignee_country=US&limit=3'")
        click.echo(f"  docs: {base}/docs")
        if no_serve:
            click.echo(f"\nserve it: LEGACY_BRIDGE_CONFIG={built.config} gunicorn -c gunicorn.conf.py wsgi:app")
            return
        click.echo(f"\nserving on {base} with gunicorn ({workers} workers; Ctrl-C to stop)\n", err=True)
        raise SystemExit(_gunicorn(built.config, port, workers))


def _gunicorn(config: os.PathLike, port: int, workers: int) -> int:
    """gunicorn in the foreground until it stops; Ctrl-C and SIGTERM stop it gracefully."""
    env = {**os.environ, "LEGACY_BRIDGE_CONFIG": str(config), "GUNICORN_BIND": f"127.0.0.1:{port}",
           "WEB_CONCURRENCY": str(workers)}
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", GUNICORN_SETTINGS,
                               "legacy_bridge.app:create_app()"], env=env)
    stop = lambda *_: server.send_signal(signal.SIGTERM)      # noqa: E731 - one line, two signals
    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        code = server.wait()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return 0 if code in (0, -signal.SIGTERM) else code
