"""``legacy-bridge export RESOURCE``: the HTTP export, in-process, to a file.

Same query grammar (``--filter 'state=MA' --filter 'opened_on[gte]=2020-01-01'``,
``--fields``, ``--sort``), same encoders and the same ``--since`` as ``updated_since``.
Progress (rows, rows/s) goes to stderr a few times a second.  The file appears only
complete: rows go to ``FILE.part``, renamed when the last row is written; an error
removes it and exits 1.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import click

from legacy_bridge.cli.common import EXIT_FAILING, EXIT_USAGE, fail, load_config, reason
from legacy_bridge.errors import ConfigError, FaultInvalidInput, InvalidInput, LegacyBridgeError


class Progress:
    """A ``\\r`` status line on stderr: rows so far and rows/s, at most every ``every`` s."""

    def __init__(self, label: str, stream: IO[str] | None = None, every: float = 0.5) -> None:
        self.label, self.stream, self.every = label, stream or sys.stderr, every
        self.rows = 0
        self.started = self._shown = time.monotonic()

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        return f"{self.label}: {self.rows:,} rows, {self.rows / elapsed:,.0f} rows/s, {elapsed:.1f}s"

    def count(self, records: Iterator[dict]) -> Iterator[dict]:
        for record in records:
            self.rows += 1
            if not self.rows % 1000 and time.monotonic() - self._shown >= self.every:
                self._shown = time.monotonic()
                self.stream.write("\r" + self.line())
                self.stream.flush()
            yield record

    def done(self) -> None:
        self.stream.write("\r" + self.line() + "\n")
        self.stream.flush()


def _args(filters: tuple[str, ...], fields: str | None, sort: str | None, since: str | None) -> dict:
    args: dict[str, list[str]] = {}
    for item in filters:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{item!r}: expected FIELD=VALUE or FIELD[op]=VALUE", param_hint="--filter")
        args.setdefault(name, []).append(value)
    for name, given in (("fields", fields), ("sort", sort), ("updated_since", since)):
        if given is not None:
            args[name] = [given]
    return args


@click.command("export")
@click.argument("resource_name", metavar="RESOURCE")
@click.option("--format", "fmt", type=click.Choice(["ndjson", "csv"]), default="ndjson", show_default=True)
@click.option(
    "--since", help="Only rows whose watermark is greater (updated_since); '' for every row in watermark order."
)
@click.option("--filter", "filters", multiple=True, metavar="FIELD[op]=VALUE", help="A filter (repeatable).")
@click.option("--fields", help="The fields to export, comma-separated (default: all).")
@click.option("--sort", help="e.g. -opened_on,id (not with --since).")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, allow_dash=True),
    help="The file to write ('-' for stdout).",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="The YAML config file (default: $LEGACY_BRIDGE_CONFIG).",
)
def export(
    resource_name: str,
    fmt: str,
    since: str | None,
    filters: tuple[str, ...],
    fields: str | None,
    sort: str | None,
    output: str,
    config_path: str | None,
) -> None:
    """Export every matching record of RESOURCE as NDJSON or CSV, with progress on stderr."""
    from legacy_bridge.formats.encoders import encoder
    from legacy_bridge.query.schema import parse_list
    from legacy_bridge.resources import Bridge

    config = load_config(config_path)
    if resource_name not in config.resources:
        fail(f"error: no resource {resource_name!r}; resources: {', '.join(config.resources) or 'none'}")
    bridge = Bridge(config, secret="export")  # no cursor leaves the process
    target = None if output == "-" else Path(output)
    partial = None if target is None else target.with_name(target.name + ".part")
    try:
        resource = bridge.resources[resource_name]
        query = parse_list(resource, _args(filters, fields, sort, since))
        columns = resource.table_columns(query.fields) if fmt == "csv" else query.fields
        export = resource.export(query)
        watermark = export.watermark
        progress = Progress(resource_name)
        out = sys.stdout.buffer if partial is None else open(partial, "wb")
        try:
            for chunk in encoder(fmt)(progress.count(export.records), columns):
                out.write(chunk)
        finally:
            if partial is not None:
                out.close()
        progress.done()
    except (LegacyBridgeError, ConfigError) as error:
        if partial is not None and partial.exists():
            partial.unlink()
        fail(f"error: {reason(error)}", EXIT_FAILING if not _usage(error) else EXIT_USAGE)
    finally:
        bridge.close()
    if partial is not None and target is not None:
        os.replace(partial, target)
    where = "stdout" if target is None else str(target)
    click.echo(
        f"exported {progress.rows:,} rows to {where}"
        + (f"; resume with --since '{watermark or since}'" if query.incremental and (watermark or since) else ""),
        err=True,
    )


def _usage(error: Exception) -> bool:
    """Whether the error is the caller's (exit 2), not the source's or ours (exit 1)."""
    return isinstance(error, (InvalidInput, FaultInvalidInput))
