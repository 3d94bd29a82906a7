"""``legacy-bridge demo``: a small legacy CRM, an EBCDIC extract and a legacy TMS (SOAP), served."""
from __future__ import annotations

import click

from legacy_bridge.cli.serve import run_server


@click.command()
@click.option("--dir", "directory", default="./demo-data", show_default=True,
              type=click.Path(file_okay=False), help="Where the demo database and config go.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--no-serve", is_flag=True, help="Build and print, do not serve.")
@click.option("--tms-port", default=8001, show_default=True, type=click.IntRange(0, 65535),
              help="Where the legacy TMS (a SOAP server) listens while the demo serves.")
def demo(directory: str, port: int, no_serve: bool, tms_port: int = 8001) -> None:
    """Build a small legacy CRM in SQLite, write its config and serve it on 127.0.0.1,
    beside a legacy TMS: a real SOAP server (spyne) exposed as /v1/shipments etc."""
    from contextlib import ExitStack
    from legacy_bridge.demo import crm as demo_module
    from legacy_bridge.app import create_app
    stack = ExitStack()
    built = demo_module.build(directory)
    if not no_serve:
        from legacy_bridge.demo.tms_simulator import add_to_config, serve as serve_tms
        tms_url = stack.enter_context(serve_tms(port=tms_port))
        add_to_config(built.config, tms_url)
        click.echo(f"legacy TMS: {tms_url}/soap11?wsdl and {tms_url}/soap12?wsdl (SOAP, spyne)")
    click.echo(f"legacy CRM: {built.database} ({built.rows} rows)\nconfig:     {built.config}")
    click.echo(f"extract:    {built.database.parent / 'drops'} (EBCDIC cp037, copybook "
               f"{demo_module.COPYBOOK_NAME}): /v1/invoices")
    base = f"http://127.0.0.1:{port}"
    click.echo("\nTry:")
    for line in demo_module.curl_lines(built.config, base):
        click.echo(f"  {line}")
    if not no_serve:
        click.echo(f"  curl '{base}/v1/shipments/TMS000001'")
        click.echo(f"  curl -g '{base}/v1/shipments?carrier=UPSN&consignee_country=US&limit=3'")
    click.echo(f"  docs: {base}/docs")
    if no_serve:
        click.echo(f"\nserve it: legacy-bridge serve --config {built.config} --port {port}")
        return
    with stack:
        app = create_app({"LEGACY_BRIDGE_CONFIG": str(built.config)})
        click.echo(f"\nserving on {base} (Ctrl-C to stop)")
        run_server(app, "127.0.0.1", port)
