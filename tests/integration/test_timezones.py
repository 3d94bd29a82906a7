"""Time zones on every backend: a filter or ``updated_since`` with a UTC offset is converted to
the source's declared zone before it is bound, never dropped; without a declared zone it is
a 400 naming the parameter and the option.  Records, exports, watermarks and cursors stay
naive local times of the source, the same everywhere.

LGCY_CUST's LAST_UPD_TS is 2020-01-01 00:00 + n hours for customer n (conftest), so
"before 05:00 local" is customers 1-4.
"""

from __future__ import annotations

import csv
import io
import json

import pytest

from helpers.backends import crm_config, make_app


def _config(backend, timezone: str | None) -> dict:
    config = crm_config(backend.connection, **({"timezone": timezone} if timezone else {}))
    customers = config["resources"]["customers"]
    customers["watermark"] = "updated_at"
    stamp = customers["fields"]["updated_at"]
    stamp["filter"] = True
    if backend.name == "sqlite":  # CHAR(26) text: the converter's format binds it exactly
        stamp["converter"] = {"timestamp": {"format": "%Y-%m-%d %H:%M:%S.%f"}}
    return config


@pytest.fixture(scope="module")
def berlin(backend):
    app = make_app(_config(backend, "Europe/Berlin"))
    yield app.test_client()
    app.extensions["legacy_bridge"].close()


@pytest.fixture(scope="module")
def undeclared(backend):
    app = make_app(_config(backend, None))
    yield app.test_client()
    app.extensions["legacy_bridge"].close()


def _ids(client, query: str) -> list[int]:
    response = client.get(f"/v1/customers?fields=id&limit=500&{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return [r["id"] for r in response.get_json()["data"]]


@pytest.mark.parametrize(
    "value",
    ["2020-01-01T05:00:00%2B01:00", "2020-01-01T04:00:00Z", "2020-01-01T06:30:00%2B02:30", "2020-01-01T05:00:00"],
)
def test_a_filter_with_an_offset_is_taken_to_the_sources_time_zone(berlin, value):
    # January in Berlin is CET (+01:00): each of these is 05:00 local
    assert _ids(berlin, f"updated_at[lt]={value}") == [1, 2, 3, 4]


def test_without_a_declared_time_zone_an_offset_is_a_400_naming_parameter_and_option(undeclared):
    response = undeclared.get("/v1/customers?updated_at[lt]=2020-01-01T04:00:00Z")
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["parameter"] == "updated_at[lt]"
    assert "sources.crm.timezone" in problem["detail"]
    assert _ids(undeclared, "updated_at[lt]=2020-01-01T05:00:00") == [1, 2, 3, 4]  # local time: as given


def test_updated_since_with_an_offset_is_converted_and_the_watermark_stays_local(berlin, undeclared):
    body = berlin.get("/v1/customers?updated_since=2020-01-10T08:00:00Z&limit=2&fields=id,updated_at").get_json()
    # 08:00Z is 09:00 Berlin: rows strictly after 2020-01-10T09:00 local (customer 225 + 1)
    assert [r["id"] for r in body["data"]] == [226, 227]
    assert body["watermark"] == "2020-01-10T11:00:00" == body["data"][-1]["updated_at"]
    response = undeclared.get("/v1/customers?updated_since=2020-01-10T08:00:00%2B00:00")
    assert response.status_code == 400 and response.get_json()["parameter"] == "updated_since"


def test_records_exports_and_openapi_say_local_time_everywhere(berlin):
    record = berlin.get("/v1/customers/5").get_json()
    assert record["updated_at"] == "2020-01-01T05:00:00"
    ndjson = berlin.get("/v1/customers/export?format=ndjson&id=5&fields=id,updated_at").get_data(as_text=True)
    assert json.loads(ndjson) == {"id": 5, "updated_at": "2020-01-01T05:00:00"}
    rows = list(
        csv.reader(
            io.StringIO(berlin.get("/v1/customers/export?format=csv&id=5&fields=id,updated_at").get_data(as_text=True))
        )
    )
    assert rows == [["id", "updated_at"], ["5", "2020-01-01T05:00:00"]]
    document = berlin.get("/openapi.json").get_json()
    prop = document["components"]["schemas"]["Customers"]["properties"]["updated_at"]
    assert prop["format"] == "local-date-time" and "Europe/Berlin" in prop["description"]
    param = {p["name"]: p for p in document["paths"]["/v1/customers"]["get"]["parameters"]}["updated_at[lt]"]
    assert param["schema"]["pattern"].endswith(")?$")  # an offset may follow
