"""Outbound X12 through the app: records POSTed to an x12 drop become one interchange each call
(a transaction set per record) written into the outbound folder, read back by the inbound
``format: x12`` source with the same mapping value for value; envelopes carry the configured
ids and the partner's next control numbers; what the mapping cannot write is a 400 naming the
field, nothing written; start-up checks name the path."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest
import yaml

from helpers.backends import make_app
from helpers.x12_outbound import outbound_config
from legacy_bridge.config import validate
from legacy_bridge.drivers.flatfile.x12 import read_interchanges
from legacy_bridge.errors import ConfigError

RESPONSE = {
    "shipment_id": "SHIP20261128A",
    "scac": "FSTC",
    "responded_on": "2026-11-28",
    "action": "accepted",
    "pro_number": "PRO5550001",
    "bill_of_lading": None,
}
NOTICE = {
    "shipment_id": "ASN-1001",
    "shipped_on": "2026-11-29",
    "shipment": {
        "weight": "1250.5",
        "ship_to": {"name": "BIGBOX DC 14"},
        "orders": [
            {
                "po_number": "PO-1",
                "items": [{"sku": "A-1", "qty": 24, "unit": "EA"}, {"sku": "B-2", "qty": 6, "unit": "CA"}],
            },
            {"po_number": "PO-2", "items": [{"sku": "C-3", "qty": 1, "unit": "EA"}]},
        ],
    },
    "item_count": 3,
}


def files(folder) -> list[str]:
    return sorted(f for f in os.listdir(folder) if not f.startswith("."))


@pytest.fixture
def outbound(tmp_path):
    app = make_app(outbound_config(tmp_path, f"sqlite:///{tmp_path / 'state.db'}"))
    yield tmp_path, app.test_client()
    app.extensions["legacy_bridge"].close()


def test_a_990_posted_reads_back_value_for_value_in_its_envelope(outbound):
    folder, client = outbound
    answer = client.post("/v1/responses", json=RESPONSE)
    assert answer.status_code == 202, answer.get_data(as_text=True)
    assert answer.get_json() == {"written": 1, "file": "990.000000001.x12", "interchange": "000000001", "group": 1}
    declined = {**RESPONSE, "shipment_id": "SHIP20261128B", "action": "declined", "pro_number": None}
    second = client.post("/v1/responses", json={**declined, "bill_of_lading": "BOL778900"}).get_json()
    assert (second["interchange"], second["group"]) == ("000000002", 2)
    assert files(folder / "990") == ["990.000000001.x12", "990.000000002.x12"]

    assert client.get("/v1/responses/SHIP20261128A").get_json() == RESPONSE
    assert client.get("/v1/responses/SHIP20261128B").get_json() == {**declined, "bill_of_lading": "BOL778900"}
    (ic,) = read_interchanges((folder / "990" / "990.000000001.x12").read_bytes())
    assert (ic.sender_qualifier, ic.sender, ic.receiver_qualifier, ic.receiver) == ("02", "FSTC", "ZZ", "ACMESHIPPER")
    assert (ic.control, ic.version, ic.usage) == ("000000001", "00401", "T")
    (group,) = ic.groups
    assert (group.code, group.sender, group.receiver, group.control, group.version) == (
        "GF", "FSTC", "ACMESHIPPER", "1", "004010",
    )  # fmt: skip
    (tset,) = group.sets
    assert tset.segments == [
        ("ST", "990", "0001"),
        ("B1", "FSTC", "SHIP20261128A", "20261128", "A"),
        ("N9", "CN", "PRO5550001"),
        ("SE", "4", "0001"),
    ]


def test_an_array_is_one_interchange_of_one_set_per_record(outbound):
    folder, client = outbound
    records = [{**RESPONSE, "shipment_id": f"S{n}"} for n in range(3)]
    assert client.post("/v1/responses", json=records).get_json()["written"] == 3
    (ic,) = read_interchanges((folder / "990" / "990.000000001.x12").read_bytes())
    assert [s.control for s in ic.groups[0].sets] == ["0001", "0002", "0003"]
    assert [r["shipment_id"] for r in client.get("/v1/responses").get_json()["data"]] == ["S0", "S1", "S2"]


def test_an_856_nests_shipment_orders_and_items_as_hl_levels(outbound):
    folder, client = outbound
    assert client.post("/v1/notices", json=NOTICE).status_code == 202
    assert client.get("/v1/notices/ASN-1001").get_json() == NOTICE
    (ic,) = read_interchanges((folder / "856" / "856.000000001.x12").read_bytes())
    assert ic.groups[0].code == "SH"
    hl = [s for s in ic.groups[0].sets[0].segments if s[0] == "HL"]
    assert hl == [
        ("HL", "1", "", "S", "1"),
        ("HL", "2", "1", "O", "1"),
        ("HL", "3", "2", "I", "0"),
        ("HL", "4", "2", "I", "0"),
        ("HL", "5", "1", "O", "1"),
        ("HL", "6", "5", "I", "0"),
    ]


@pytest.mark.parametrize(
    "payload, parameter",
    [
        ([RESPONSE, {**RESPONSE, "shipment_id": None}], "[1].shipment_id"),  # the key: never null
        ([RESPONSE, {**RESPONSE, "responded_on": "someday"}], "[1].responded_on"),  # the contract
        ([RESPONSE, {**RESPONSE, "action": "maybe"}], "[1].action"),  # no code for it
        ([RESPONSE, {**RESPONSE, "pro_number": "PRO*1"}], "[1].pro_number"),  # the element separator
        ({**RESPONSE, "scac": "FS~TC"}, "scac"),  # the segment terminator
    ],
)
def test_what_cannot_be_written_is_a_400_naming_the_field_and_nothing_is_written(outbound, payload, parameter):
    folder, client = outbound
    answer = client.post("/v1/responses", json=payload)
    assert answer.status_code == 400, answer.get_data(as_text=True)
    assert answer.get_json()["parameter"] == parameter
    assert files(folder / "990") == []
    assert client.post("/v1/responses", json=RESPONSE).get_json()["interchange"] == "000000001"  # no number lost


def test_the_openapi_document_has_the_post_and_no_close(outbound):
    _, client = outbound
    paths = client.get("/openapi.json").get_json()["paths"]
    assert "202" in paths["/v1/responses"]["post"]["responses"]
    assert "/v1/responses/close" not in paths
    assert client.post("/v1/responses/close").status_code in (404, 405)


@pytest.mark.parametrize(
    "change, where",
    [
        ({"sender": "FSTC"}, "resources.responses.drop.sender: expected QUALIFIER:ID"),
        ({"segments": ["B1"]}, "resources.responses.drop.segments: the mapping writes N9, not in the list"),
        ({"version": "003040"}, "resources.responses.drop.version"),
        ({"name": "X.{seq}.x12"}, "resources.responses.drop.name: unknown key"),
        ({"folder": "/nonexistent/edi"}, "resources.responses.drop.folder"),
    ],
)
def test_a_broken_x12_drop_is_refused_at_start_up_naming_the_path(tmp_path, change, where):
    raw = outbound_config(tmp_path, f"sqlite:///{tmp_path / 'state.db'}")
    raw = copy.deepcopy(raw)
    raw["resources"]["responses"]["drop"].update(change)
    with pytest.raises(ConfigError) as refused:
        validate(raw)
    assert where in str(refused.value)


def test_the_readme_example_is_a_valid_config(tmp_path):
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("#### EDI X12: outbound documents", 1)[1]
    example = yaml.safe_load(section.split("```yaml\n", 1)[1].split("```", 1)[0])
    example["sources"]["responses_out"]["path"] = str(tmp_path)
    example["resources"]["responses"]["drop"]["folder"] = str(tmp_path)
    with pytest.raises(ConfigError) as refused:  # its sink names a shipments-status resource not shown
        validate(copy.deepcopy(example))
    assert "events.sinks.partner_214.resource" in str(refused.value)
    example["events"]["sinks"]["partner_214"]["resource"] = "responses"
    assert validate(example).resources["responses"].drop is not None


def test_a_file_left_by_a_crash_before_its_numbers_committed_is_skipped(outbound):
    folder, client = outbound
    first = client.post("/v1/responses", json=RESPONSE).get_json()
    left = (folder / "990" / first["file"]).read_bytes()
    # as if a worker renamed interchange 2 (group 2) into place, then died before committing
    (folder / "990" / "990.000000002.x12").write_bytes(
        left.replace(b"000000001", b"000000002").replace(b"*1*X*", b"*2*X*").replace(b"GE*1*1", b"GE*1*2")
    )
    answer = client.post("/v1/responses", json={**RESPONSE, "shipment_id": "S3"}).get_json()
    assert (answer["interchange"], answer["group"]) == ("000000003", 3)


def test_a_retry_with_the_same_idempotency_key_writes_no_second_interchange(outbound):
    folder, client = outbound
    headers = {"Idempotency-Key": "990-SHIP20261128A"}
    first = client.post("/v1/responses", json=RESPONSE, headers=headers)
    again = client.post("/v1/responses", json=RESPONSE, headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.get_json() == first.get_json()
    assert files(folder / "990") == ["990.000000001.x12"]
