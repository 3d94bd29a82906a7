"""Unbounded reads stream on their own pool (``stream_options``), bounded ones do not."""

from __future__ import annotations

from helpers.backends import ROWS, crm_config, make_app
from legacy_bridge.query.model import ListQuery

STREAM_OPTIONS = {"sqlite": "StepAPI=1", "postgresql": "UseDeclareFetch=1;Fetch=50", "mariadb": "NO_CACHE=1"}


def test_a_stream_reads_every_row_in_key_order_on_the_stream_pool(backend):
    app = make_app(crm_config(backend.connection, stream_options=STREAM_OPTIONS[backend.name]))
    bridge = app.extensions["legacy_bridge"]
    try:
        resource = bridge.resources["customers"]
        ids = [r["id"] for r in resource.stream(ListQuery(fields=["id"]))]
        assert ids == list(range(1, ROWS + 1))
        driver = bridge.drivers["crm"].driver  # the ODBC driver behind its guard
        assert driver.stream_pool is not driver.pool
        assert driver.stream_pool.connection_string.endswith(STREAM_OPTIONS[backend.name])
        # a page still runs on the bounded pool, on a statement kept for its SQL text
        assert app.test_client().get("/v1/customers?limit=3").get_json()["data"][0]["id"] == 1
    finally:
        bridge.close()


def test_without_stream_options_streams_share_the_one_pool(app):
    driver = app.extensions["legacy_bridge"].drivers["crm"].driver
    assert driver.stream_pool is driver.pool
