"""The ``legacy-bridge`` command: one module per command group, sharing :mod:`.common`.

serve, check, introspect, openapi, demo, export, index, scan, worker, keys, events, webhooks.  Exit codes: 0 all
well; 1 a source or resource is failing (or a lookup found nothing); 2 the config is
invalid or the command was used wrongly.
"""

import click

from legacy_bridge import __version__
from legacy_bridge.cli.audit import audit
from legacy_bridge.cli.changes import scan
from legacy_bridge.cli.check import check
from legacy_bridge.cli.demo import demo
from legacy_bridge.cli.events import events
from legacy_bridge.cli.export import export
from legacy_bridge.cli.index import index
from legacy_bridge.cli.introspect import introspect
from legacy_bridge.cli.keys import keys
from legacy_bridge.cli.openapi import openapi
from legacy_bridge.cli.serve import serve
from legacy_bridge.cli.webhooks import webhooks
from legacy_bridge.cli.worker import worker

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="legacy-bridge")
def main() -> None:
    """Legacy databases, SOAP services and files as clean, documented REST APIs."""


for command in (serve, check, introspect, openapi, demo, export, index, scan, worker, keys, events, webhooks, audit):
    main.add_command(command)
