"""``legacy-bridge introspect``: draft resources from an ODBC catalog, a copybook or a WSDL."""

from __future__ import annotations

import click

from legacy_bridge.cli.common import EXIT_FAILING, config_option, fail, load_config, quiet_drivers, reason
from legacy_bridge.errors import LegacyBridgeError


@click.command()
@click.argument("source", required=False)
@click.argument("table", required=False)
@config_option
@click.option(
    "--sample",
    default=200,
    show_default=True,
    type=click.IntRange(0, 100_000),
    help="Rows read to suggest converters (with --copybook: records shown).",
)
@click.option("--name", "resource", default=None, help="The resource name (default: from the table).")
@click.option(
    "--copybook",
    type=click.Path(exists=True, dir_okay=False),
    help="A COBOL copybook: print its layout and the first records of --data.",
)
@click.option("--data", type=click.Path(exists=True, dir_okay=False), help="The data file the copybook describes.")
@click.option("--codepage", default="cp037", show_default=True, help="With --copybook: cp037, cp500, cp1047, ascii...")
@click.option(
    "--record-format",
    type=click.Choice(["F", "V", "VB"]),
    default=None,
    help="With --copybook: F, V or VB (default: found from the data's descriptor words).",
)
@click.option("--floating-point", type=click.Choice(["ibm", "ieee"]), default="ibm", show_default=True)
@click.option("--wsdl", default=None, help="A WSDL (URL or file): list its services, ports and operations.")
@click.option("--operation", default=None, help="With --wsdl: print a draft resource for this operation.")
def introspect(
    source: str | None,
    table: str | None,
    config_path: str | None,
    sample: int,
    resource: str | None,
    copybook: str | None,
    data: str | None,
    codepage: str,
    record_format: str | None,
    floating_point: str,
    wsdl: str | None = None,
    operation: str | None = None,
) -> None:
    """Print a draft resource YAML for TABLE (a table or view) of SOURCE, or, with
    --copybook X.cpy --data Y.bin, the layout, the first records and a draft config, or, with
    --wsdl URL|FILE, its operations (--operation NAME: a draft resource)."""
    if wsdl:
        _introspect_wsdl(wsdl, operation, source, resource)
        return
    if copybook or data:
        _introspect_copybook(copybook, data, codepage, record_format, floating_point, min(sample, 20) or 5, resource)
        return
    if not (source and table):
        fail("error: give SOURCE TABLE, or --copybook X.cpy --data Y.bin")
    from legacy_bridge.drivers import driver_class
    from legacy_bridge.introspect.odbc import draft

    config = load_config(config_path)
    options = config.sources.get(source)
    if options is None:
        fail(f"error: unknown source {source!r}; known: {', '.join(sorted(config.sources)) or 'none'}")
    driver = driver_class(options["kind"])(source, options)
    try:
        if not driver.describes_tables:
            fail(f"error: sources of kind {options['kind']!r} cannot be introspected")
        try:
            with quiet_drivers():
                description = driver.describe(table, sample)
        except LegacyBridgeError as error:
            fail(f"error: {reason(error)}", EXIT_FAILING)
    finally:
        driver.close()
    click.echo(draft(description, source, resource), nl=False)


def _introspect_copybook(
    copybook: str | None,
    data: str | None,
    codepage: str,
    record_format: str | None,
    floating_point: str,
    records: int,
    name: str | None,
) -> None:
    from legacy_bridge.introspect.flatfile import report

    if not (copybook and data):
        fail("error: --copybook and --data go together")
    try:
        click.echo(report(copybook, data, codepage, record_format, floating_point, records, name), nl=False)
    except (ValueError, OSError) as error:  # a copybook that does not parse, an unknown code page
        fail(f"error: {error}", EXIT_FAILING)


def _introspect_wsdl(wsdl: str, operation: str | None, source: str | None, resource: str | None) -> None:
    from legacy_bridge.introspect.soap import introspect_wsdl

    code, text = introspect_wsdl(wsdl, operation, source or "legacy_soap", resource)
    if code:
        fail(text, code)
    click.echo(text, nl=False)
