"""How exports end: a complete one ends with its line end and a cut one without, every
end is logged and counted (complete, broken, aborted, with the rows sent), a worker
streams at most max_exports at once, and a stopping worker cuts streams at the end of
their grace.  In-process, over SQLite (62,500 rows: a table crossed with itself)."""

from __future__ import annotations

import json
import logging

import pytest

from helpers.backends import crm_config, make_app
from helpers.metrics import scrape, value
from legacy_bridge.errors import SourceUnavailable
from legacy_bridge.ops import stopping

CROSSED = "SELECT a.CUST_NO AS CUST_NO, b.CUST_NO AS OTHER_NO FROM LGCY_CUST a CROSS JOIN LGCY_CUST b"
ROWS = 250 * 250


def _config(sqlite_connection: str, **service) -> dict:
    config = crm_config(sqlite_connection)
    config["service"].update(service)
    config["resources"]["pairs"] = {
        "source": "crm",
        "select": CROSSED,
        "key": ["id", "other"],
        "fields": {
            "id": {"column": "CUST_NO", "converter": "int"},
            "other": {"column": "OTHER_NO", "converter": "int"},
        },
    }
    return config


@pytest.fixture
def app(sqlite_backend):
    app = make_app(_config(sqlite_backend.connection, max_exports=1))
    yield app
    app.extensions["legacy_bridge"].close()


def _export(client, fmt: str = "ndjson"):
    """A streamed export response whose body is read chunk by chunk (``.response``)."""
    return client.get(f"/v1/pairs/export?format={fmt}", buffered=False)


@pytest.mark.parametrize("fmt, end", [("ndjson", b"\n"), ("csv", b"\r\n")])
def test_a_complete_export_ends_with_its_line_end_and_is_counted_with_its_rows(app, fmt, end):
    client = app.test_client()
    before = scrape(client)
    body = client.get(f"/v1/pairs/export?format={fmt}").data
    after = scrape(client)
    assert body.endswith(end) and not body.endswith(end + end)
    assert body.count(end) == ROWS + (fmt == "csv")
    delta = lambda name, **labels: value(after, name, **labels) - value(before, name, **labels)  # noqa: E731
    assert delta("legacy_bridge_exports_total", resource="pairs", format=fmt, outcome="complete") == 1
    assert delta("legacy_bridge_export_rows_total", resource="pairs", outcome="complete") == ROWS


def test_an_export_broken_mid_stream_ends_with_an_unterminated_error_line(app, mocker, caplog):
    driver = app.extensions["legacy_bridge"].drivers["crm"]
    real_fetch = driver.fetch

    def fetch(target, query):
        for n, row in enumerate(real_fetch(target, query)):
            if n == 2500:
                raise SourceUnavailable("source 'crm' cannot be reached", "crm", "08S01")
            yield row

    mocker.patch.object(driver, "fetch", fetch)
    body = app.test_client().get("/v1/pairs/export?format=ndjson").data
    *records, last = body.split(b"\n")
    assert len(records) == 2000  # two whole batches went out
    assert json.loads(last)["error"]["type"].endswith("source-unavailable")
    assert not body.endswith(b"\n")  # a line reader sees the cut
    assert "export of pairs broken after 2000 rows" in caplog.text


def test_an_export_the_client_leaves_is_logged_and_counted_as_aborted_with_the_rows_sent(app, caplog):
    client = app.test_client()
    before = scrape(client)
    response = _export(client)
    chunks = iter(response.response)
    sent = next(chunks) + next(chunks)
    with caplog.at_level(logging.WARNING, logger="legacy_bridge.export"):
        response.close()  # what the server does when the client is gone
    after = scrape(client)
    assert sent.count(b"\n") == 1999  # the second batch's newline is still held back
    assert "export of pairs aborted by the client after 2000 rows" in caplog.text
    assert (
        value(after, "legacy_bridge_exports_total", resource="pairs", format="ndjson", outcome="aborted")
        - value(before, "legacy_bridge_exports_total", resource="pairs", format="ndjson", outcome="aborted")
        == 1
    )
    assert app.extensions["legacy_bridge"].drivers["crm"].bulkhead.in_flight == 0  # the source stream closed


def test_an_export_over_max_exports_is_a_503_busy_before_any_byte_and_its_place_comes_back(app):
    client = app.test_client()
    first = _export(client)
    next(iter(first.response))
    busy = client.get("/v1/pairs/export?format=csv")
    assert busy.status_code == 503 and busy.mimetype == "application/problem+json"
    assert busy.get_json()["type"].endswith(":busy") and busy.headers["Retry-After"] == "1"
    assert client.get("/v1/customers/3").status_code == 200  # short requests are not limited
    first.close()
    head = client.head("/v1/pairs/export?format=csv")
    assert head.status_code == 200
    head.close()  # a body never read (the server closes it)...
    assert client.get("/v1/pairs/export?format=csv").status_code == 200  # ...gives its place back too


def test_a_stopping_worker_cuts_a_stream_at_the_end_of_its_grace(app, monkeypatch):
    response = _export(app.test_client())
    chunks = iter(response.response)
    body = next(chunks)
    monkeypatch.setattr(stopping, "_ends_at", 0.0)  # the grace is over
    body += b"".join(chunks)
    *records, last = body.split(b"\n")
    assert len(records) == 1000 and not body.endswith(b"\n")
    assert json.loads(last)["error"]["type"].endswith("service-stopping")
