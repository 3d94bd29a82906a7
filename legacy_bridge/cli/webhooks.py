"""``legacy-bridge webhooks redeliver``: send many dead (or delivered) deliveries again at once."""

from __future__ import annotations

import datetime as dt

import click

from legacy_bridge.cli.common import config_option, fail, load_config


@click.group("webhooks")
def webhooks() -> None:
    """Webhook deliveries (subscriptions are made through the API)."""


def _instant(name: str, text: str | None) -> float | None:
    from legacy_bridge.events.state import parse_instant

    if text is None:
        return None
    try:
        return parse_instant(text).replace(tzinfo=dt.UTC).timestamp()
    except ValueError:
        fail(f"{name}: expected a time such as 2026-11-29T10:00:00Z, got {text!r}")


@webhooks.command("redeliver")
@config_option
@click.option("--subscription", default=None, help="One subscription (wh_...); default: every one.")
@click.option("--status", type=click.Choice(["dead", "delivered"]), default="dead", show_default=True)
@click.option("--since", default=None, help="Deliveries made at or after this time (2026-11-29T00:00:00Z).")
@click.option("--until", default=None, help="Deliveries made before this time.")
def redeliver(
    config_path: str | None, subscription: str | None, status: str, since: str | None, until: str | None
) -> None:
    """Send every matching delivery again (same body and webhook-id, a fresh attempt budget);
    the running workers deliver them."""
    from legacy_bridge.events import outbox, webhook_deliveries
    from legacy_bridge.events.state import StateStore, state_url

    config = load_config(config_path)
    start, end = _instant("--since", since), _instant("--until", until)
    if start is not None and end is not None and start >= end:
        fail("--since must be before --until")
    store = StateStore(state_url(config.service, config.origin))
    try:
        if subscription is not None and outbox.get_subscription(store, subscription) is None:
            fail(f"--subscription: no webhook subscription {subscription!r}")
        count = webhook_deliveries.redeliver_many(store, subscription, status, start, end)
    finally:
        store.close()
    click.echo(f"{count} {status} deliver{'y' if count == 1 else 'ies'} queued again")
