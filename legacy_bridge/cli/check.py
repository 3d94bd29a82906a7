"""``legacy-bridge check``: the config validated, every source probed, one record of every
resource read, every event sink's broker reached, without starting a server."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from typing import Any

import click

from legacy_bridge.cli.common import EXIT_FAILING, config_option, fail, load_config, quiet_drivers, reason
from legacy_bridge.errors import LegacyBridgeError


def _probe(driver: Any, timeout: float) -> tuple[str | None, float]:
    started = time.monotonic()
    try:
        driver.probe(timeout)
        return None, time.monotonic() - started
    except Exception as error:  # noqa: BLE001 - any failure is reported, not raised
        return reason(error), time.monotonic() - started


def _missing_columns(resource: Any) -> str | None:
    """Columns the catalog does not know.  A read alone cannot tell: SQLite takes an
    unknown double-quoted column for a string literal and answers without an error."""
    kind, target = next(iter(resource.spec.target.items()))
    if not resource.capabilities.describes_tables or kind == "select":
        return None
    known = {c["name"].upper() for c in resource.capabilities.describe(target, 0)["columns"]}
    missing = [
        f"{name} ({fmap.column})"
        for name, fmap in resource.mapping.leaves().items()
        if fmap.column is not None and "." not in name and fmap.column.upper() not in known
    ] + [
        f"{name}.{inner} ({f.column})"
        for name, fmap in resource.mapping.fields.items()
        if fmap.column is None
        for inner, f in fmap.fields.items()
        if f.column is not None and f.column.upper() not in known
    ]
    return f"column(s) not in {target}: {', '.join(missing)}" if missing else None


def _unreadable(resource: Any) -> str | None:
    """Why no record can be read without input from a caller (a get-only resource needs a key,
    a list with required filters their values), or None."""
    from legacy_bridge.query.parameters import required_filters

    if "list" not in resource.spec.operations:
        return "a get needs a key"
    required = required_filters(resource)
    return f"the list needs the filter(s) {', '.join(required)}" if required else None


def _check_resource(resource: Any) -> tuple[str | None, str | None]:
    """(problem, note): compare the columns with the catalog, ask how the sorted ones order, check
    the target with the source, then read one record with every field: a wrong table, operation,
    column, order or converter shows here.  A resource that cannot be read without a caller's
    input (``note`` says why) is checked up to the read."""
    from legacy_bridge.query.model import ListQuery

    try:
        missing = _missing_columns(resource)
        if missing:
            return missing, None
        unpageable = resource.order_problems()  # sortable fields the source cannot page in order
        if unpageable:
            return "; ".join(f"{path}: {message}" for path, message in unpageable), None
        wrong = resource.capabilities.check_target(resource.spec.target)
        if wrong:
            return "; ".join(wrong), None
        unreadable = _unreadable(resource)
        if unreadable:
            return None, f"no record read: {unreadable}"
        resource.page(ListQuery(fields=list(resource.mapping.fields), limit=1))
        return None, None
    except (LegacyBridgeError, ValueError, TypeError, ArithmeticError) as error:
        return reason(error), None


def _echo_quarantine(driver: Any, width: int, shown: int = 5) -> None:
    """The bad records a file source skips (quarantine policy): none is dropped silently."""
    if not driver.driver.lists_quarantine:
        return
    report = driver.quarantine(shown)
    if report["total"]:
        click.echo(f"  {'':<{width}}  quarantined: {report['total']} bad record(s)")
        for bad in report["data"]:
            field = f", {bad['field']}" if bad.get("field") else ""
            click.echo(
                f"  {'':<{width}}    {bad['file']} record {bad['record']} (byte offset "
                f"{bad['offset']}{field}): {bad['reason']}"
            )


@click.command()
@config_option
@click.option(
    "--timeout", type=float, default=None, help="Seconds per source probe (default: service.readiness_timeout)."
)
def check(config_path: str | None, timeout: float | None) -> None:
    """Validate the config, probe every source and read one record of every resource."""
    from legacy_bridge.resources import Bridge

    config = load_config(config_path)
    timeout = timeout or config.service["readiness_timeout"]
    click.echo(f"config ok: {config.origin} ({len(config.sources)} source(s), {len(config.resources)} resource(s))")
    bridge = Bridge(config, secret="check")
    failing = 0
    with quiet_drivers(), closing(bridge):
        click.echo("sources:")
        width = max([len(n) for n in [*config.sources, *config.resources, *config.actions]] + [1])
        if bridge.drivers:
            with ThreadPoolExecutor(max_workers=min(8, len(bridge.drivers))) as pool:
                probes = dict(zip(bridge.drivers, pool.map(lambda d: _probe(d, timeout), bridge.drivers.values())))
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
            what = (
                f"{resource.capabilities.describe_target(spec.target)} on {spec.source}, "
                f"{len(spec.mapping.fields)} field(s), key {', '.join(spec.mapping.key)}"
            )
            note = None
            if probes[spec.source][0] is not None:
                problem = f"source {spec.source!r} is failing"
            else:
                problem, note = _check_resource(resource)
            failing += problem is not None
            what += f" ({note})" if note else ""
            click.echo(f"  {name:<{width}}  " + ("ok       " + what if problem is None else f"FAILING  {problem}"))
        failing += _check_actions(bridge.actions, probes, width)
    failing += _check_sinks(config.events.get("sinks", {}))
    if failing:
        fail(f"{failing} problem(s) found", EXIT_FAILING)
    click.echo("all well")


def _check_actions(actions: dict[str, Any], probes: dict[str, tuple], width: int) -> int:
    """Ask each action's source whether it can call the routine as declared (its kind of
    database, the catalog's arguments: order, names, modes); how many cannot."""
    if not actions:
        return 0
    click.echo("actions:")
    failing = 0
    for name, action in actions.items():
        spec = action.spec
        if probes[spec.source][0] is not None:
            problems = [f"source {spec.source!r} is failing"]
        else:
            try:
                problems = action.driver.driver.routine_problems(action.routine())
            except LegacyBridgeError as error:
                problems = [reason(error)]
        failing += bool(problems)
        what = f"{spec.kind} {spec.routine} on {spec.source}, {len(spec.params)} param(s)"
        click.echo(f"  {name:<{width}}  " + ("ok       " + what if not problems else "FAILING  " + "; ".join(problems)))
    return failing


def _check_sinks(sinks: dict[str, dict]) -> int:
    """Connect to every event sink's broker (an empty publish: nothing is sent); how many failed."""
    if not sinks:
        return 0
    from legacy_bridge.events.sinks.base import SinkUnavailable
    from legacy_bridge.events.sinks.registry import build

    click.echo("event sinks:")
    width, failing = max(len(n) for n in sinks), 0
    for name, settings in sinks.items():
        sink = build(name, settings)
        started = time.monotonic()
        try:
            sink.publish([])
            click.echo(f"  {name:<{width}}  ok       ({(time.monotonic() - started) * 1000:.0f} ms) {sink.describe()}")
        except SinkUnavailable as error:
            failing += 1
            click.echo(f"  {name:<{width}}  FAILING  {sink.describe()}: {error}")
        finally:
            sink.close()
    return failing
