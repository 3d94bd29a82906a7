"""A SOAP resource is one partition: its list operation pages by the service's own token, which
cannot be split; the one token reads what the export reads."""

from __future__ import annotations

import json

from helpers.backends import make_app
from legacy_bridge.demo.tms_config import tms_config
from legacy_bridge.demo.tms_simulator import TmsSimulator, serve


def test_a_soap_resource_is_one_partition_that_reads_the_whole_export():
    with serve(TmsSimulator()) as url:
        app = make_app({"service": {"secret": "s"}, **tms_config(url, "1.1")})
        client = app.test_client()
        try:
            planned = client.get("/v1/shipments/partitions?n=4&carrier=DHLX")
            assert planned.status_code == 200, planned.get_data(as_text=True)
            assert len(planned.json["data"]) == 1 and planned.json["data"][0]["records"] is None
            token = planned.json["data"][0]["partition"]
            whole = client.get("/v1/shipments/export?carrier=DHLX").get_data(as_text=True)
            part = client.get(f"/v1/shipments/export?carrier=DHLX&partition={token}").get_data(as_text=True)
            assert [json.loads(x) for x in part.splitlines()] == [json.loads(x) for x in whole.splitlines()]
            assert len(whole.splitlines()) > 0
        finally:
            app.extensions["legacy_bridge"].close()
