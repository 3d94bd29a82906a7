"""``introspect --x12 FILE`` drafts a config per transaction set code (a ``format: x12`` source and
a resource) that the app accepts as it is and that serves every set of the file: qualified N1
loops as objects, S5 stops as an array, the 856's HL levels nested, dates typed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from helpers.backends import make_app
from helpers.x12 import EDI, ok
from legacy_bridge.cli import main
from legacy_bridge.config import validate

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "x12"


def drafted(path: Path, *options: str, status: int = 0) -> list[dict]:
    result = CliRunner().invoke(main, ["introspect", "--x12", str(path), *options])
    assert result.exit_code == status, result.output
    text = result.output.split("# Draft config for transaction set", 1)[1]
    return [yaml.safe_load(part.split("\n", 1)[1]) for part in text.split("# Draft config for transaction set")]


def served(config: dict) -> list[dict]:
    config = {"service": {"secret": "s"}, **config}
    validate(config)
    app = make_app(config)
    try:
        (name,) = config["resources"]
        return ok(app.test_client().get(f"/v1/{name}"))["data"]
    finally:
        app.extensions["legacy_bridge"].close()


def test_the_204_draft_serves_both_tenders_with_their_stops(tmp_path):
    shutil.copyfile(SAMPLES / "tms-204-load-tender.x12", tmp_path / "tender.x12")
    (config,) = drafted(tmp_path / "tender.x12")
    mapping = config["sources"]["x12_204"]["x12"]
    assert mapping["set"] == "204" and mapping["fields"]["b2_4"] == {"element": "B2.4", "required": True}
    assert mapping["fields"]["s5"]["loop"] == "S5"
    records = served(config)
    assert [r["b2_4"] for r in records] == ["SHIP20261128A", "SHIP20261128B"]
    assert [s["s5_2"] for s in records[0]["s5"]] == ["LD", "UL"]
    assert records[0]["s5"][0]["g62_37_2"] == "2026-12-01"  # a dated element, qualified by its G62.1


def test_the_856_draft_nests_orders_and_items_under_the_shipment(tmp_path):
    shutil.copyfile(EDI / "gozer-asn856.txt", tmp_path / "asn.txt")
    # (exit status 1: its IEA02 names another interchange; the draft is printed all the same)
    (config,) = drafted(tmp_path / "asn.txt", "--envelope", "lenient", status=1)
    assert config["sources"]["x12_856"]["envelope"] == "lenient"
    (record,) = served(config)
    shipment = record["hl_s"]
    assert record["bsn_2"] == "829716" and record["bsn_3"] == "2011-12-06"
    assert shipment["n1_sf"]["n1_2"] == "1 EDI SOURCE" and shipment["ref_bm"] == "999999-001"
    assert [[i["lin_3"] for i in o["hl_i"]] for o in shipment["hl_o"]] == [["87787D", "99887D"]]


def test_a_file_of_two_codes_gets_a_draft_for_each(tmp_path):
    both = tmp_path / "both.x12"
    both.write_bytes(
        (SAMPLES / "tms-204-load-tender.x12").read_bytes() + (SAMPLES / "tms-990-response.x12").read_bytes()
    )
    codes = [c["sources"][next(iter(c["sources"]))]["x12"]["set"] for c in drafted(both)]
    assert codes == ["204", "990"]


@pytest.mark.parametrize("name", ["tms-214-status.x12", "tms-990-response.x12"])
def test_every_sample_draft_is_a_valid_config(tmp_path, name):
    shutil.copyfile(SAMPLES / name, tmp_path / name)
    for config in drafted(tmp_path / name):
        assert len(served(config)) == 2
