"""The ``legacy-bridge`` command: serve, check, introspect, openapi, demo.

Exit codes: 0 all well; 1 a source or resource is failing (or a lookup found
nothing); 2 the config is invalid or the command was used wrongly.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import time
from contextlib import closing, contextmanager
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterator, NoReturn

import click

from . import __version__
from .errors import ConfigError, LegacyBridgeError

EXIT_FAILING = 1
EXIT_USAGE = 2

_config_option = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False),
    help="The YAML config file (default: $LEGACY_BRIDGE_CONFIG).")


def _fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    click.echo(message, err=True)
    raise click.exceptions.Exit(code)


def _config_path(config_path: str | None) -> str:
    path = config_path or os.environ.get("LEGACY_BRIDGE_CONFIG")
    if not path:
        _fail("error: no config file: pass --config FILE or set LEGACY_BRIDGE_CONFIG")
    return path


def _load(config_path: str | None):
    from .config import load
    try:
        return load(_config_path(config_path))
    except ConfigError as error:
        _fail(f"invalid config {error}")


@contextmanager
def _quiet_drivers() -> Iterator[None]:
    """The report says what failed and why; the drivers' warning logs would only repeat it."""
    logger = logging.getLogger("legacy_bridge")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _cause(error: BaseException) -> str | None:
    """The lower layer's own message (pyodbc's), for the operator at the terminal."""
    inner = error.__cause__ or error.__context__
    if inner is None or isinstance(inner, LegacyBridgeError):
        return None
    text = str(inner.args[-1]) if inner.args else str(inner)
    return " ".join(text.split())[:300]


def _reason(error: BaseException) -> str:
    if isinstance(error, LegacyBridgeError):
        text = error.detail
        code = getattr(error, "legacy_code", None)
        text += f" [{code}]" if code else ""      # the legacy system's own code (SQLSTATE)
    else:
        text = f"{type(error).__name__}: {error}"
    cause = _cause(error)
    return f"{text}: {cause}" if cause else text


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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="legacy-bridge")
def main() -> None:
    """Legacy databases as clean, documented REST APIs."""


@main.command()
@_config_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
def serve(config_path: str | None, host: str, port: int) -> None:
    """Serve the config with the development server (use gunicorn wsgi:app in production)."""
    from .app import create_app
    try:
        app = create_app({"LEGACY_BRIDGE_CONFIG": _config_path(config_path)})
    except ConfigError as error:
        _fail(f"invalid config {error}")
    click.echo(f"serving {len(app.extensions['legacy_bridge'].resources)} resource(s) on "
               f"http://{host}:{port} (Ctrl-C to stop)")
    run_server(app, host, port)


def _probe(driver: Any, timeout: float) -> tuple[str | None, float]:
    started = time.monotonic()
    try:
        driver.probe(timeout)
        return None, time.monotonic() - started
    except Exception as error:      # noqa: BLE001 - any failure is reported, not raised
        return _reason(error), time.monotonic() - started


def _missing_columns(resource: Any) -> str | None:
    """Columns the catalog does not know.  A read alone cannot tell: SQLite takes an
    unknown double-quoted column for a string literal and answers without an error."""
    kind, target = next(iter(resource.spec.target.items()))
    describe = getattr(resource.driver, "describe", None)
    if describe is None or kind == "select":
        return None
    known = {c["name"].upper() for c in describe(target, 0)["columns"]}
    missing = [f"{name} ({f.column})" for name, f in resource.mapping.fields.items()
               if f.column.upper() not in known]
    return f"column(s) not in {target}: {', '.join(missing)}" if missing else None


def _check_resource(resource: Any) -> str | None:
    """Compare the columns with the catalog, ask how the sorted ones order, then read one
    record with every field: a wrong table, column, order or converter shows here."""
    from .resources import ListRequest
    try:
        missing = _missing_columns(resource)
        if missing:
            return missing
        unpageable = resource.order_problems()       # sortable fields the source cannot page in order
        if unpageable:
            return "; ".join(f"{path}: {message}" for path, message in unpageable)
        resource.page(ListRequest(fields=list(resource.mapping.fields), limit=1))
        return None
    except (LegacyBridgeError, ValueError, TypeError, ArithmeticError) as error:
        return _reason(error)


def _echo_quarantine(driver: Any, width: int, shown: int = 5) -> None:
    """The bad records a file source skips (quarantine policy): none is dropped silently."""
    if not callable(getattr(driver, "quarantine", None)):
        return
    report = driver.quarantine(shown)
    if report["total"]:
        click.echo(f"  {'':<{width}}  quarantined: {report['total']} bad record(s)")
        for bad in report["data"]:
            field = f", {bad['field']}" if bad.get("field") else ""
            click.echo(f"  {'':<{width}}    {bad['file']} record {bad['record']} (byte offset "
                       f"{bad['offset']}{field}): {bad['reason']}")


@main.command()
@_config_option
@click.option("--timeout", type=float, default=None,
              help="Seconds per source probe (default: service.readiness_timeout).")
def check(config_path: str | None, timeout: float | None) -> None:
    """Validate the config, probe every source and read one record of every resource."""
    from .resources import Bridge
    config = _load(config_path)
    timeout = timeout or config.service["readiness_timeout"]
    click.echo(f"config ok: {config.origin} ({len(config.sources)} source(s), "
               f"{len(config.resources)} resource(s))")
    bridge = Bridge(config, secret="check")
    failing = 0
    with _quiet_drivers(), closing(bridge):
        click.echo("sources:")
        width = max([len(n) for n in [*config.sources, *config.resources]] + [1])
        if bridge.drivers:
            with ThreadPoolExecutor(max_workers=min(8, len(bridge.drivers))) as pool:
                probes = dict(zip(bridge.drivers, pool.map(lambda d: _probe(d, timeout),
                                                          bridge.drivers.values())))
        else:
            probes = {}
        for name, (problem, took) in probes.items():
            failing += problem is not None
            state = f"ok       ({took * 1000:.0f} ms)" if problem is None else f"FAILING  {problem}"
            click.echo(f"  {name:<{width}}  {state}")
            if problem is None:
                _echo_quarantine(bridge.drivers[name], width)
        click.echo("resources:")
        for name, resource in bridge.resources.items():
            spec = resource.spec
            kind, target = next(iter(spec.target.items()))
            what = f"{kind} {target if kind != 'select' else '(...)'} on {spec.source}, " \
                   f"{len(spec.mapping.fields)} field(s), key {', '.join(spec.mapping.key)}"
            if probes[spec.source][0] is not None:
                problem = f"source {spec.source!r} is failing"
            else:
                problem = _check_resource(resource)
            failing += problem is not None
            click.echo(f"  {name:<{width}}  " + ("ok       " + what if problem is None else f"FAILING  {problem}"))
    if failing:
        _fail(f"{failing} problem(s) found", EXIT_FAILING)
    click.echo("all well")


@main.command()
@click.argument("source", required=False)
@click.argument("table", required=False)
@_config_option
@click.option("--sample", default=200, show_default=True, type=click.IntRange(0, 100_000),
              help="Rows read to suggest converters (with --copybook: records shown).")
@click.option("--name", "resource", default=None, help="The resource name (default: from the table).")
@click.option("--copybook", type=click.Path(exists=True, dir_okay=False),
              help="A COBOL copybook: print its layout and the first records of --data.")
@click.option("--data", type=click.Path(exists=True, dir_okay=False), help="The data file the copybook describes.")
@click.option("--codepage", default="cp037", show_default=True, help="With --copybook: cp037, cp500, cp1047, ascii...")
@click.option("--record-format", type=click.Choice(["F", "V", "VB"]), default="F", show_default=True)
@click.option("--floating-point", type=click.Choice(["ibm", "ieee"]), default="ibm", show_default=True)
@click.option("--wsdl", default=None, help="A WSDL (URL or file): list its services, ports and operations.")
@click.option("--operation", default=None, help="With --wsdl: print a draft resource for this operation.")
def introspect(source: str | None, table: str | None, config_path: str | None, sample: int,
               resource: str | None, copybook: str | None, data: str | None, codepage: str,
               record_format: str, floating_point: str, wsdl: str | None = None,
               operation: str | None = None) -> None:
    """Print a draft resource YAML for TABLE (a table or view) of SOURCE, or, with
    --copybook X.cpy --data Y.bin, the layout, the first records and a draft config, or, with
    --wsdl URL|FILE, its operations (--operation NAME: a draft resource)."""
    if wsdl:
        _introspect_wsdl(wsdl, operation, source, resource)
        return
    if copybook or data:
        _introspect_copybook(copybook, data, codepage, record_format, floating_point, min(sample, 20) or 5)
        return
    if not (source and table):
        _fail("error: give SOURCE TABLE, or --copybook X.cpy --data Y.bin")
    from .drivers import driver_class
    from .introspect import draft
    config = _load(config_path)
    options = config.sources.get(source)
    if options is None:
        _fail(f"error: unknown source {source!r}; known: {', '.join(sorted(config.sources)) or 'none'}")
    driver = driver_class(options["kind"])(source, options)
    try:
        if not hasattr(driver, "describe"):
            _fail(f"error: sources of kind {options['kind']!r} cannot be introspected")
        try:
            with _quiet_drivers():
                description = driver.describe(table, sample)
        except LegacyBridgeError as error:
            _fail(f"error: {_reason(error)}", EXIT_FAILING)
    finally:
        driver.close()
    click.echo(draft(description, source, resource), nl=False)


def _introspect_copybook(copybook: str | None, data: str | None, codepage: str, record_format: str,
                         floating_point: str, records: int) -> None:
    from .introspect_flatfile import report
    if not (copybook and data):
        _fail("error: --copybook and --data go together")
    try:
        click.echo(report(copybook, data, codepage, record_format, floating_point, records), nl=False)
    except (ValueError, OSError) as error:    # a copybook that does not parse, an unknown code page
        _fail(f"error: {error}", EXIT_FAILING)


def _introspect_wsdl(wsdl: str, operation: str | None, source: str | None, resource: str | None) -> None:
    from .soap_introspect import introspect_wsdl
    code, text = introspect_wsdl(wsdl, operation, source or "legacy_soap", resource)
    if code:
        _fail(text, code)
    click.echo(text, nl=False)


@main.command()
@_config_option
def openapi(config_path: str | None) -> None:
    """Print the OpenAPI 3 document of the config's resources."""
    from legacy_bridge.facades.openapi import build_spec
    from .resources import Bridge
    config = _load(config_path)
    bridge = Bridge(config, secret="openapi")     # no connection is opened for the spec
    try:
        click.echo(json.dumps(build_spec(bridge.resources, config.service, config), indent=2))
    finally:
        bridge.close()


@main.command()
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
    from . import demo as demo_module
    from .app import create_app
    stack = ExitStack()
    built = demo_module.build(directory)
    if not no_serve:
        from .tms_simulator import add_to_config, serve as serve_tms
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


from .cli_keys import keys as _keys  # noqa: E402 - a command group of its own module
main.add_command(_keys)
from .cli_changes import scan as _scan  # noqa: E402
main.add_command(_scan)
from .webhook_worker import worker as _worker  # noqa: E402
main.add_command(_worker)
from .cli_export import export as _export  # noqa: E402
main.add_command(_export)

if __name__ == "__main__":
    main()
