"""``legacy-bridge openapi``: the OpenAPI document of a config, without serving it."""

from __future__ import annotations

import json

import click

from legacy_bridge.cli.common import config_option, load_config


@click.command()
@config_option
def openapi(config_path: str | None) -> None:
    """Print the OpenAPI 3 document of the config's resources (every API version, as /openapi.json)."""
    from legacy_bridge.facades.openapi import build_spec
    from legacy_bridge.resources import Bridge

    config = load_config(config_path)
    bridge = Bridge(config, secret="openapi")  # no connection is opened for the spec
    try:
        click.echo(
            json.dumps(
                build_spec(bridge.resources, config.service, config, versions=bridge.versions, actions=bridge.actions),
                indent=2,
            )
        )
    finally:
        bridge.close()
