"""A resource's ``embed:`` section: children from another table of an ODBC source."""

from __future__ import annotations

import copy

import pytest
import yaml

from legacy_bridge.config import load, validate
from legacy_bridge.errors import ConfigError

LINES = {
    "table": "ORDER_LINES",
    "join": {"ORDER_NO": "ORD_NO"},
    "fields": {"line_no": {"column": "LN_NO", "converter": "int"}, "sku": {"column": "SKU", "filter": True}},
    "order": ["-line_no"],
}


def config(embed: object, kind: str = "odbc") -> dict:
    source = {"kind": "odbc", "connection": "DSN=crm"}
    if kind == "flatfile":
        source = {"kind": "flatfile", "path": "/nonexistent", "format": "csv", "columns": ["ORDER_NO"]}
    return {
        "service": {"secret": "s"},
        "sources": {"crm": source},
        "resources": {
            "orders": {
                "source": "crm",
                "table": "ORDERS",
                "key": "order_no",
                "fields": {"order_no": {"column": "ORDER_NO", "converter": "int"}},
                "embed": copy.deepcopy(embed),
            }
        },
    }


def problems(raw: dict) -> dict[str, str]:
    with pytest.raises(ConfigError) as exc:
        validate(raw, "bridge.yaml")
    return dict(exc.value.problems)


def test_an_embed_is_read_into_the_resource_spec():
    spec = validate(config({"lines": LINES})).resources["orders"]
    embed = spec.embeds["lines"]
    assert embed.target == {"table": "ORDER_LINES"} and embed.on == (("ORDER_NO", "ORD_NO"),)
    assert list(embed.fields) == ["line_no", "sku"] and embed.fields["sku"].filter
    assert embed.order == (("line_no", True),) and embed.default is False


def test_the_default_order_is_the_fields_in_declaration_order():
    lines = {k: v for k, v in LINES.items() if k != "order"}
    embed = validate(config({"lines": lines})).resources["orders"].embeds["lines"]
    assert embed.order == (("line_no", False), ("sku", False))


def test_each_problem_of_an_embed_is_named_by_its_path():
    bad = {
        "Lines": {**LINES, "view": "V", "join": {}, "order": ["qty"], "default": "yes", "extra": 1},
        "order_no": LINES,
    }
    found = problems(config(bad))
    assert "exactly one of table or view" in found["resources.orders.embed.Lines"]
    assert "required" in found["resources.orders.embed.Lines.join"]
    assert "'qty' is not one of the embedded fields" in found["resources.orders.embed.Lines.order"]
    assert "true or false" in found["resources.orders.embed.Lines.default"]
    assert "unknown key" in found["resources.orders.embed.Lines.extra"]
    assert "already a field" in found["resources.orders.embed.order_no"]


def test_inner_fields_are_checked_as_fields_and_take_no_sort():
    lines = {**LINES, "fields": {"sku": {"converter": "nope", "sort": True}}, "order": None}
    found = problems(config({"lines": lines}))
    assert "required" in found["resources.orders.embed.lines.fields.sku.column"]
    assert "ordered by its order" in found["resources.orders.embed.lines.fields.sku.sort"]


def test_only_a_source_that_joins_tables_embeds():
    found = problems(config({"lines": LINES}, kind="flatfile"))
    assert "embed is for odbc sources" in found["resources.orders.embed"]


def test_on_written_in_yaml_is_read_as_true_and_named_as_such(tmp_path):
    raw = config({"lines": LINES})
    text = yaml.safe_dump(raw).replace("join:", "on:")
    path = tmp_path / "bridge.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as exc:
        load(str(path))
    found = dict(exc.value.problems)
    assert "YAML reads on: as true" in found["resources.orders.embed.lines.join"]
