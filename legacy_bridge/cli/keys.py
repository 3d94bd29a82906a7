"""``legacy-bridge keys create|list|revoke``: API keys, kept as hashes.

``create`` prints the new key once (it is stored nowhere) and the config line that
holds its hash.  With a keys file (``--keys-file`` or the config's ``auth.keys_file``)
it adds the entry there, and ``revoke`` removes one; a running service re-reads that
file within a second, so neither needs a restart.  Keys written inline in the config's
``auth.keys`` are listed but revoked by removing their line from the config.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click
import yaml

from legacy_bridge.cli.common import fail
from legacy_bridge.errors import ConfigError


def _sources(config_path: str | None, keys_file: str | None) -> tuple[list[dict], str | None]:
    """(the config's inline keys, the keys file to use) from the options and environment."""
    config_path = config_path or os.environ.get("LEGACY_BRIDGE_CONFIG")
    inline: list[dict] = []
    if config_path:
        from legacy_bridge.config import load

        try:
            config = load(config_path)
        except ConfigError as error:
            fail(f"invalid config {error}")
        auth = config.auth or {}
        inline = auth.get("keys", [])
        keys_file = keys_file or auth.get("keys_file")
    return inline, keys_file


def _write(path: str, entries: list[dict]) -> None:
    """Replace the keys file atomically, readable by its owner only."""
    folder = Path(path).resolve().parent
    folder.mkdir(parents=True, exist_ok=True)
    fd, staging = tempfile.mkstemp(dir=folder, prefix=".keys-")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write("# API keys of legacy-bridge (hashes only), managed by `legacy-bridge keys`\n")
        yaml.safe_dump({"keys": entries}, out, sort_keys=False)
    os.chmod(staging, 0o600)
    os.replace(staging, path)


def _checked_file(keys_file: str) -> list[dict]:
    from legacy_bridge.config import Checker
    from legacy_bridge.security.auth import check_keys, read_keys_file

    ck = Checker()
    entries = check_keys(ck, read_keys_file(keys_file), keys_file)
    if ck.problems:
        fail("invalid keys file:\n" + "\n".join(f"  {p}: {m}" for p, m in ck.problems))
    return entries


_options = [
    click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False),
        help="The YAML config (default: $LEGACY_BRIDGE_CONFIG); its auth.keys_file is used.",
    ),
    click.option(
        "--keys-file",
        type=click.Path(dir_okay=False),
        help="The keys file to manage (overrides the config's auth.keys_file).",
    ),
]


def _with_options(command):
    for option in reversed(_options):
        command = option(command)
    return command


@click.group()
def keys() -> None:
    """Create, list and revoke API keys (stored as sha256 hashes)."""


@keys.command()
@click.argument("key_id")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    help="<resource|*>:<read|write|*>, repeatable, e.g. --scope customers:read",
)
@_with_options
def create(key_id: str, scopes: tuple[str, ...], config_path: str | None, keys_file: str | None) -> None:
    """Make a key KEY_ID: print it once, and store its hash in the keys file if there is one."""
    from legacy_bridge.security.scopes import KEY_ID, SCOPE, hash_key, new_key

    if not KEY_ID.match(key_id):
        fail(f"invalid key id {key_id!r}: letters, digits, . _ - (at most 64)")
    bad = [s for s in scopes if not SCOPE.match(s)]
    if bad:
        fail(f"invalid scope(s) {', '.join(bad)}: expected <resource|*>:<read|write|*>")
    inline, keys_file = _sources(config_path, keys_file)
    existing = inline + (_checked_file(keys_file) if keys_file else [])
    if any(e["id"] == key_id for e in existing):
        fail(f"a key with id {key_id!r} exists; revoke it first or choose another id")
    key = new_key()
    entry = {"id": key_id, "hash": hash_key(key), "scopes": list(scopes)}
    click.echo(f"key: {key}\n(shown once: legacy-bridge keeps only its hash)")
    if keys_file:
        _write(keys_file, _checked_file(keys_file) + [entry])
        click.echo(f"stored in {keys_file}")
    else:
        click.echo(
            "add to the config's auth.keys:\n  - "
            + yaml.safe_dump(entry, default_flow_style=True, sort_keys=False, width=1000).strip()
        )


@keys.command(name="list")
@_with_options
def list_keys(config_path: str | None, keys_file: str | None) -> None:
    """Every known key: id, scopes, where it is kept (never a key, only a hash prefix)."""
    inline, keys_file = _sources(config_path, keys_file)
    rows = [(e, "config") for e in inline] + [(e, keys_file) for e in (_checked_file(keys_file) if keys_file else [])]
    if not rows:
        click.echo("no keys")
    for entry, where in rows:
        click.echo(f"{entry['id']:<24} {' '.join(entry['scopes']):<40} {entry['hash'][:15]}…  {where}")


@keys.command()
@click.argument("key_id")
@_with_options
def revoke(key_id: str, config_path: str | None, keys_file: str | None) -> None:
    """Remove key KEY_ID from the keys file; the service refuses it within a second."""
    inline, keys_file = _sources(config_path, keys_file)
    if any(e["id"] == key_id for e in inline):
        fail(f"key {key_id!r} is written in the config's auth.keys: remove its line there and restart")
    if not keys_file:
        fail(f"no key {key_id!r} (no keys file)")
    entries = _checked_file(keys_file)
    kept = [e for e in entries if e["id"] != key_id]
    if len(kept) == len(entries):
        fail(f"no key {key_id!r} in {keys_file}")
    _write(keys_file, kept)
    click.echo(f"revoked {key_id}")
