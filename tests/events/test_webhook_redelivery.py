"""Webhooks that outlast a maintenance window: the default retry schedule, bulk redelivery
(API and CLI) and attempts counted when a worker dies mid-request."""

from __future__ import annotations

import time

import pytest
import yaml
from click.testing import CliRunner

from helpers.backends import crm_config, make_app
from legacy_bridge.cli import main
from legacy_bridge.events import outbox, webhook_deliveries
from legacy_bridge.events.state import NewEvent
from legacy_bridge.events.webhooks import Settings, retry_window
from legacy_bridge.facades.webhooks import store_of


def test_the_default_schedule_retries_through_more_than_a_day_of_outage():
    settings = Settings.from_config({})
    shortest, longest = retry_window(settings)
    assert shortest >= 24 * 3600  # even if every jitter draw is the shortest
    assert (round(shortest / 3600, 1), round(longest / 3600, 1)) == (26.8, 53.7)  # as the README says
    assert (settings.max_attempts, settings.backoff, settings.max_backoff) == (24, 10.0, 14400.0)


@pytest.fixture
def api(sqlite_backend, tmp_path):
    config = crm_config(sqlite_backend.connection)
    config["service"]["state"] = f"sqlite:///{tmp_path / 'state.db'}"
    config["webhooks"] = {"allow_networks": ["127.0.0.0/8"]}
    config["resources"]["customers"]["changes"] = True  # webhooks carry change events
    (tmp_path / "lb.yaml").write_text(yaml.safe_dump(config))
    app = make_app(config)
    yield app, app.test_client(), tmp_path / "lb.yaml"
    app.extensions["legacy_bridge"].close()


def _deliveries(app, client, sub_id: str, count: int, status: str, made_at: float) -> list[int]:
    """``count`` deliveries of ``sub_id`` made at ``made_at`` and left ``status``."""
    store = store_of(app)
    with store.begin() as conn:
        store.append_events(conn, [NewEvent("customers", "updated", {"id": n}, {"id": n}) for n in range(count)])
    outbox.fan_out(store, now=made_at)
    rows = outbox.claim(store, "w", 1000, 60, now=made_at)
    for row in rows:
        outbox.record(store, row.id, "w", status, row.attempts, 500, "HTTP 500", None, now=made_at)
    return [r.id for r in rows]


def _subscribe(client, path: str) -> str:
    response = client.post("/v1/webhooks", json={"url": f"http://127.0.0.1:9/{path}", "events": ["customers.*"]})
    return response.get_json()["id"]


def test_bulk_redelivery_by_subscription_status_and_time_range(api):
    app, client, _ = api
    a, b = _subscribe(client, "a"), _subscribe(client, "b")
    day = time.time() - 86400
    old = _deliveries(app, client, a, 3, outbox.DEAD, day)  # yesterday (b has its own)
    _deliveries(app, client, a, 2, outbox.DEAD, day + 7200)  # two hours later
    answer = client.post(f"/v1/webhooks/{a}/redeliver", json={"until": _iso(day + 3600)})
    assert answer.status_code == 202 and answer.get_json() == {"redelivered": 3, "status": "dead"}
    rows = {r["id"]: r for r in webhook_deliveries.list_deliveries(store_of(app), a, limit=100)}
    assert {rows[i]["status"] for i in old if i in rows} == {"pending"}
    assert [r["attempts"] for r in rows.values() if r["status"] == "pending"] == [0] * 3
    assert webhook_deliveries.list_deliveries(store_of(app), b, status="dead", limit=100)  # b untouched
    assert client.post(f"/v1/webhooks/{a}/redeliver").get_json()["redelivered"] == 2  # every dead one left
    assert client.post(f"/v1/webhooks/{a}/redeliver", json={"status": "delivered"}).get_json()["redelivered"] == 0


@pytest.mark.parametrize(
    "body, parameter",
    [
        ({"status": "pending"}, "status"),
        ({"since": "yesterday"}, "since"),
        ({"until": 5}, "until"),
        ({"since": "2026-11-29T10:00:00Z", "until": "2026-11-29T09:00:00Z"}, "until"),
        ({"sub": "x"}, "sub"),
        (["dead"], "body"),
    ],
)
def test_a_bad_bulk_redelivery_is_a_400_naming_the_member(api, body, parameter):
    app, client, _ = api
    response = client.post(f"/v1/webhooks/{_subscribe(client, 'x')}/redeliver", json=body)
    assert response.status_code == 400 and response.get_json()["parameter"] == parameter
    assert client.post("/v1/webhooks/wh_none/redeliver").status_code == 404


def test_bulk_redelivery_from_the_command_line(api):
    app, client, config = api
    a, b = _subscribe(client, "a"), _subscribe(client, "b")
    _deliveries(app, client, a, 2, outbox.DEAD, time.time() - 60)
    run = CliRunner().invoke(
        main, ["webhooks", "redeliver", "--config", str(config), "--since", "2000-01-01T00:00:00Z"]
    )
    assert run.exit_code == 0 and "4 dead deliveries queued again" in run.output, run.output
    one = CliRunner().invoke(
        main, ["webhooks", "redeliver", "--config", str(config), "--subscription", b, "--status", "delivered"]
    )
    assert one.exit_code == 0 and "0 delivered deliveries" in one.output
    bad = CliRunner().invoke(main, ["webhooks", "redeliver", "--config", str(config), "--until", "soon"])
    assert bad.exit_code == 2 and "--until: expected a time" in bad.output


def test_an_attempt_is_counted_when_it_starts_so_a_dying_worker_cannot_hide_it(api):
    app, client, _ = api
    _subscribe(client, "a")
    store = store_of(app)
    with store.begin() as conn:
        store.append_events(conn, [NewEvent("customers", "updated", {"id": 1}, {"id": 1})])
    outbox.fan_out(store)
    now = time.time()
    [first] = outbox.claim(store, "dies", 10, claim_ttl=5, now=now)  # ...and the worker is SIGKILLed
    assert first.attempts == 1
    [again] = outbox.claim(store, "next", 10, claim_ttl=5, now=now + 6)  # its claim ran out
    assert again.attempts == 2
    [row] = webhook_deliveries.list_deliveries(store, first.subscription_id)
    assert (row["attempts"], row["last_worker"], row["status"]) == (2, "next", "pending")


def _iso(epoch: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat()
