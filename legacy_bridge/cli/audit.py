"""``legacy-bridge audit [RESOURCE] [--key K] [--limit N] [--json]``: the audit records of the
writes made through the API (who: the API key id; when; what: before and after), newest first."""

from __future__ import annotations

import json

import click

from legacy_bridge.cli.common import fail, load_config


@click.command()
@click.argument("resource", required=False)
@click.option("--key", "key_text", default=None, help="Only this record: its key, parts joined by '/' (7 or 12/3).")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10000))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line instead of a table.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="The YAML config file (default: $LEGACY_BRIDGE_CONFIG).",
)
def audit(resource: str | None, key_text: str | None, limit: int, as_json: bool, config_path: str | None) -> None:
    """Show who changed what through the API, newest first."""
    from legacy_bridge.events.journal import audit_records
    from legacy_bridge.events.state import StateStore, state_url

    config = load_config(config_path)
    if resource is not None and resource not in config.resources:
        fail(f"error: no resource {resource!r}; resources: {', '.join(config.resources) or 'none'}")
    key = None
    if key_text is not None:
        if resource is None:
            fail("error: --key needs the RESOURCE it belongs to")
        mapping = config.resources[resource].mapping
        parts = key_text.split("/")
        if len(parts) != len(mapping.key):
            fail(f"error: the key of {resource} has {len(mapping.key)} part(s) ({'/'.join(mapping.key)})")
        try:  # as the records hold it: JSON numbers for integer keys, ISO text for dates
            key = {n: int(p) if mapping.fields[n].type == "integer" else p for n, p in zip(mapping.key, parts)}
        except ValueError:
            fail(f"error: --key {key_text!r}: the key of {resource} is an integer")
    store = StateStore(state_url(config.service, config.origin))
    try:
        records = audit_records(store, resource, key, limit)
    finally:
        store.close()
    for record in records:
        if as_json:
            click.echo(json.dumps(record.to_json(), default=str))
            continue
        changed = ""
        if record.before and record.after:
            fields = [n for n in record.after if record.before.get(n) != record.after.get(n)]
            changed = " changed: " + ", ".join(fields) if fields else " (no field changed)"
        key_shown = "/".join(str(v) for v in record.key.values())
        click.echo(
            f"{record.id:>6}  {record.at:%Y-%m-%d %H:%M:%S}Z  {record.resource}/{key_shown}  {record.kind}"
            f"  by {record.caller or '(no key)'}{changed}"
        )
    if not records:
        click.echo("no audit records", err=True)
