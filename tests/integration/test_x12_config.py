"""X12 sources checked at start-up: a malformed mapping, a resource column (the key's too) the
mapping lacks, a mapping file and its problems, a drop on an x12 source, and the README's example,
each refused (or accepted) naming the key path."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from helpers.x12 import TENDER204, config
from legacy_bridge.config import validate
from legacy_bridge.errors import ConfigError


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "inbound").mkdir()
    return tmp_path


@pytest.mark.parametrize(
    "change, where, says",
    [
        (
            {"fields": {"shipment_id": "B2.x"}},
            "sources.tenders.x12.fields.shipment_id.element",
            "not an element reference",
        ),
        (
            {"fields": {"shipment_id": "B2.4", "stops": {"fields": {"seq": "S5.1"}, "single": True}}},
            "sources.tenders.x12.fields.stops.single",
            "only for a loop",
        ),
        (
            {"fields": {"shipment_id": "B2.4", "stops": {"loop": "s5", "fields": {"seq": "S5.1"}}}},
            "sources.tenders.x12.fields.stops.loop",
            "segment id",
        ),
    ],
)
def test_a_bad_mapping_refuses_to_start_naming_its_path(folder, change, where, says):
    raw = config(folder)
    raw["sources"]["tenders"]["x12"] = {"set": "204", **change}
    with pytest.raises(ConfigError) as refused:
        validate(raw)
    assert where in str(refused.value) and says in str(refused.value)


def test_a_key_or_field_not_in_the_mapping_refuses_to_start(folder):
    raw = copy.deepcopy(config(folder))
    raw["resources"]["tenders"]["fields"]["shipment_id"] = "shipment_no"
    raw["resources"]["tenders"]["fields"]["stops"]["fields"]["seq"] = "sequence"
    with pytest.raises(ConfigError) as refused:
        validate(raw)
    text = str(refused.value)
    assert "resources.tenders.fields.shipment_id.column" in text and "'shipment_no' is not in the file's layout" in text
    assert "resources.tenders.fields.stops.fields.seq.column" in text


def test_a_mapping_file_is_read_and_its_problems_name_the_file(folder, tmp_path):

    good = tmp_path / "tender204.yaml"
    good.write_text(yaml.safe_dump(TENDER204))
    raw = config(folder)
    raw["sources"]["tenders"]["x12"] = str(good)
    assert validate(raw).resources["tenders"]
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"set": "204", "fields": {"shipment_id": "B2"}}))
    raw["sources"]["tenders"]["x12"] = str(bad)
    with pytest.raises(ConfigError) as refused:
        validate(raw)
    assert "sources.tenders.x12.fields.shipment_id.element" in str(refused.value) and str(bad) in str(refused.value)


def test_a_batch_drop_on_an_x12_source_is_refused_at_start_up(folder, tmp_path):
    raw = copy.deepcopy(config(folder))  # an x12 drop writes interchanges: envelope ids, no batch names
    raw["resources"]["tenders"]["drop"] = {"folder": str(tmp_path), "name": "T.{seq:06d}.x12"}
    with pytest.raises(ConfigError) as refused:
        validate(raw)
    assert "resources.tenders.drop.name: unknown key" in str(refused.value)
    assert "resources.tenders.drop.sender: expected QUALIFIER:ID" in str(refused.value)


def test_the_readme_example_is_a_valid_config(folder):
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("#### EDI X12 (`format: x12`)", 1)[1]
    example = yaml.safe_load(section.split("```yaml\n", 1)[1].split("```", 1)[0])
    example["sources"]["tenders"]["path"] = str(folder / "inbound")
    assert validate({"service": {"secret": "s"}, **example}).resources["tenders"].mapping.key == ["shipment_id"]
