"""``legacy-bridge introspect``: draft resources from an ODBC catalog, a copybook or a WSDL."""

from __future__ import annotations

from typing import Any

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
@click.option(
    "--name", "resource", default=None, help="The resource or action name (default: from the table or routine)."
)
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
@click.option(
    "--x12",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="An X12 file: its interchanges, groups and transaction sets, envelope errors (exit status 1 when "
    "there are any), the segment tree of each set code with counts, and a draft config for each set code.",
)
@click.option(
    "--envelope",
    type=click.Choice(["strict", "lenient"]),
    default="strict",
    show_default=True,
    help="With --x12: lenient reads sets whose SE01 (GE01, IEA01) count is wrong.",
)
@click.option("--encoding", default="utf-8", show_default=True, help="With --x12: of the element values.")
@click.option("--operation", default=None, help="With --wsdl: print a draft resource for this operation.")
@click.option(
    "--procedure",
    "--function",
    "routine",
    default=None,
    help="Print a draft action for this stored procedure or function of SOURCE (its catalog's parameters).",
)
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
    routine: str | None = None,
    x12: str | None = None,
    envelope: str = "strict",
    encoding: str = "utf-8",
) -> None:
    """Print a draft resource YAML for TABLE (a table or view) of SOURCE, or, with
    --copybook X.cpy --data Y.bin, the layout, the first records and a draft config, or, with
    --wsdl URL|FILE, its operations (--operation NAME: a draft resource), or, with --procedure NAME
    (--function NAME), a draft action for a stored procedure or function of SOURCE, or, with
    --x12 FILE, the interchanges of an X12 file, the segment tree of each transaction set and a
    draft config for each set code."""
    if x12:
        _introspect_x12(x12, envelope, encoding)
        return
    if wsdl:
        _introspect_wsdl(wsdl, operation, source, resource)
        return
    if copybook or data:
        _introspect_copybook(copybook, data, codepage, record_format, floating_point, min(sample, 20) or 5, resource)
        return
    if routine and source:
        _introspect_routine(source, routine, config_path, resource)
        return
    if not (source and table):
        fail("error: give SOURCE TABLE, SOURCE --procedure NAME, or --copybook X.cpy --data Y.bin")
    from legacy_bridge.introspect.odbc import draft

    driver = _driver(source, config_path)
    options = driver.options
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


def _driver(source: str, config_path: str | None) -> Any:
    """The (bare) driver of ``source`` in the config."""
    from legacy_bridge.drivers import driver_class

    config = load_config(config_path)
    options = config.sources.get(source)
    if options is None:
        fail(f"error: unknown source {source!r}; known: {', '.join(sorted(config.sources)) or 'none'}")
    return driver_class(options["kind"])(source, options)


def _introspect_routine(source: str, routine: str, config_path: str | None, name: str | None) -> None:
    from legacy_bridge.introspect.routines import draft_action

    driver = _driver(source, config_path)
    try:
        if not driver.calls_routines:
            fail(f"error: sources of kind {driver.kind!r} have no stored procedures")
        try:
            with quiet_drivers():
                description = driver.describe_routine(routine)
        except LegacyBridgeError as error:
            fail(f"error: {reason(error)}", EXIT_FAILING)
    finally:
        driver.close()
    click.echo(draft_action(description, source, name), nl=False)


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


def _introspect_x12(path: str, envelope: str, encoding: str) -> None:
    from legacy_bridge.introspect.x12 import report
    from legacy_bridge.introspect.x12_draft import drafts

    try:
        text, errors = report(path, encoding, check_counts=envelope == "strict")
        draft = drafts(path, encoding, check_counts=envelope == "strict")
    except (LookupError, OSError) as error:  # an unknown encoding, a file that cannot be read
        fail(f"error: {error}", EXIT_FAILING)
    click.echo(text, nl=False)
    if draft:
        click.echo("\n" + draft, nl=False)
    if errors:  # listed under "errors:"; the exit status tells a script
        raise SystemExit(EXIT_FAILING)
