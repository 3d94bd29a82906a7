"""``legacy-bridge introspect`` on every ODBC backend: the catalog becomes a draft
resource that validates, and that serves the legacy table as it is."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import yaml
from click.testing import CliRunner

from helpers.backends import make_app
from legacy_bridge.cli import main
from legacy_bridge.config import validate
from legacy_bridge.drivers.odbc.driver import OdbcDriver
from legacy_bridge.introspect.odbc import draft, field_names, resource_name, suggest


@pytest.fixture
def config_file(backend, tmp_path) -> str:
    path = tmp_path / "sources.yaml"
    path.write_text(
        yaml.safe_dump(
            {"service": {"secret": "t"}, "sources": {"crm": {"kind": "odbc", "connection": backend.connection}}}
        )
    )
    return str(path)


def introspect(config_file: str, table: str, *extra: str) -> str:
    result = CliRunner().invoke(
        main, ["introspect", "crm", table, "--config", config_file, *extra], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return result.output


def full_config(backend, draft_text: str) -> dict:
    """The draft pasted, as printed, under ``resources:`` of a config file."""
    text = (
        yaml.safe_dump(
            {"service": {"secret": "t"}, "sources": {"crm": {"kind": "odbc", "connection": backend.connection}}}
        )
        + "resources:\n"
        + draft_text
    )
    return yaml.safe_load(text)


def test_draft_of_a_table_suggests_converters_from_types_and_data(backend, config_file):
    draft = yaml.safe_load(introspect(config_file, "LGCY_CUST"))
    resource = draft["customer"]
    assert resource["table"] == "LGCY_CUST" and resource["source"] == "crm"
    assert resource["key"] == ["customer_no"]
    by_column = {f["column"]: f for f in resource["fields"].values()}
    assert by_column["CUST_NO"]["converter"] == "int"
    assert by_column["CUST_NM"]["converter"] == {"trim": {"width": 40}}
    assert by_column["OPEN_DT"]["converter"] == "yyyymmdd"  # sampled values hold 0 sentinels
    assert by_column["OPEN_TM"]["converter"] == "hhmmss"
    assert by_column["ACTV_FLG"]["converter"] == "flag"
    assert by_column["CRDT_LMT"]["converter"] == {"decimal": {"scale": 2}}
    assert "active" in resource["fields"] and "customer_name" in resource["fields"]


def test_draft_of_a_composite_key_table_keeps_the_key_in_order(backend, config_file):
    resource = yaml.safe_load(introspect(config_file, "LGCY_ORD_LN"))["order-line"]
    assert resource["key"] == ["order_no", "line_no"]
    assert resource["fields"]["item_code"] == {
        "column": "ITEM_CD",
        "converter": {"trim": {"width": 12}},
        "nullable": False,
    }


def test_draft_of_a_view_guesses_a_key_and_says_so(backend, config_file):
    text = introspect(config_file, "V_ACTV_CUST")
    resource = yaml.safe_load(text)["active-customer"]
    assert resource["view"] == "V_ACTV_CUST"
    assert resource["key"] == ["customer_no"]
    assert re.search(r"key: \[customer_no\]\s+# no primary key in the catalog", text)


@pytest.mark.parametrize("table", ["LGCY_CUST", "LGCY_ORD_LN", "V_ACTV_CUST"])
def test_pasted_draft_validates_and_serves_the_table(backend, config_file, table):
    text = introspect(config_file, table, "--sample", "100")
    config = full_config(backend, text)
    validate(config)  # raises ConfigError listing problems
    (name,) = config["resources"]
    app = make_app(config)
    try:
        client = app.test_client()
        response = client.get(f"/v1/{name}?limit=50")
        assert response.status_code == 200, response.get_json()
        records = response.get_json()["data"]
        assert len(records) == 50
        key = config["resources"][name]["key"]
        one = client.get(f"/v1/{name}/" + "/".join(str(records[0][k]) for k in key))
        assert one.status_code == 200 and one.get_json() == records[0]
    finally:
        app.extensions["legacy_bridge"].close()
    if table == "LGCY_CUST":
        for record in records:
            assert record["open_date"] is None or dt.date.fromisoformat(record["open_date"])
            assert isinstance(record["active"], bool)
            assert record["customer_name"] == record["customer_name"].rstrip()


def test_introspect_finds_a_table_named_in_another_case(backend, config_file):
    resource = yaml.safe_load(introspect(config_file, "lgcy_ord_ln"))["order-line"]
    assert resource["table"] == "LGCY_ORD_LN"


def test_describe_reads_the_catalog_and_a_bounded_sample(backend):
    driver = OdbcDriver("crm", {"connection": backend.connection})
    try:
        description = driver.describe("LGCY_CUST", sample=7)
    finally:
        driver.close()
    columns = {c["name"]: c for c in description["columns"]}
    assert list(columns)[:3] == ["CUST_NO", "CUST_NM", "ST_CD"]
    assert (columns["CUST_NM"]["type"], columns["CUST_NM"]["size"]) == ("char", 40)
    assert (columns["CRDT_LMT"]["type"], columns["CRDT_LMT"]["scale"]) == ("decimal", 2)
    assert columns["OPEN_DT"]["type"] == "integer" and columns["OPEN_DT"]["nullable"] is False
    assert description["key"] == ["CUST_NO"] and description["kind"] == "table"
    assert len(description["sample"]) == 7 and len(description["sample"][0]) == len(columns)


# -- the heuristics, on values alone ------------------------------------------------


def _col(name: str, family: str, size: int | None = None, scale: int | None = None) -> dict:
    return {"name": name, "type": family, "type_name": family.upper(), "size": size, "scale": scale, "nullable": True}


def test_integers_that_are_dates_or_sentinels_become_yyyymmdd():
    assert suggest(_col("SHIP_DT", "integer"), [20240229, 0, 99999999, None]).converter == "yyyymmdd"


def test_an_impossible_date_keeps_integers_integers():
    assert suggest(_col("SHIP_DT", "integer"), [20240229, 20230230]).converter == "int"


def test_small_quantities_are_not_mistaken_for_times():
    assert suggest(_col("QTY", "integer"), [1, 2, 5, 12, 40]).converter == "int"


def test_six_digit_times_without_a_name_hint_become_hhmmss():
    assert suggest(_col("X", "integer"), [120000, 235959, 101010, 93000, 140501]).converter == "hhmmss"


def test_char_flags_and_char_dates_are_recognised():
    assert suggest(_col("DEL_IND", "char", 1), ["T", "F", " "]).converter == {"flag": {"true": "T", "false": "F"}}
    assert suggest(_col("DLV_DT", "char", 8), ["20240101", "        ", "99999999"]).converter == {
        "yyyymmdd": {"as": "str"}
    }
    assert suggest(_col("NM", "char", 1), ["Y", "N", "X"]).converter == {"trim": {"width": 1}}


def test_decimal_scale_zero_is_an_integer():
    assert suggest(_col("AMT", "decimal", 9, 0), [1, 2]).converter == "int"


def test_names_drop_a_shared_prefix_and_expand_abbreviations():
    assert field_names(["ORD_NO", "ORD_CUST_NO", "ORD_DT"]) == {
        "ORD_NO": "no",
        "ORD_CUST_NO": "customer_no",
        "ORD_DT": "date",
    }
    assert field_names(["A-B", "a_b", "1X"]) == {"A-B": "a_b", "a_b": "a_b_2", "1X": "f_1x"}
    assert resource_name("dbo.TBL_CUST_ADDR") == "customer-address"


def test_draft_stays_valid_yaml_whatever_the_sampled_data_holds():
    description = {
        "table": "Odd Table",
        "kind": "table",
        "key": [],
        "columns": [_col("CD", "char", 2), _col("NOTE", "varchar", 20)],
        "sample": [("\x01", "a: b # c"), ("\x1b", "\n"), ("é", "'")] * 3,
    }
    config = {
        "sources": {"crm": {"kind": "odbc", "connection": "DSN=x"}},
        "resources": yaml.safe_load(draft(description, "crm")),
    }
    assert validate(config).resources["odd-table"].target == {"table": "Odd Table"}
