"""``introspect --copybook``: the record format found from the data (and a given one the data
contradicts refused, saying what the file looks like), OCCURS tables drafted as arrays,
variable-size records noticed, 8-digit dates drafted with ``yyyymmdd``, ``--name`` honoured."""

from __future__ import annotations

import pytest
import yaml
from click.testing import CliRunner

from helpers.invoices import INVOICE, write
from legacy_bridge.cli import main
from legacy_bridge.config import validate
from legacy_bridge.drivers.flatfile.copybook import make_encoder, parse_copybook


def introspect(*args: str):
    return CliRunner().invoke(main, ["introspect", *args])


@pytest.mark.parametrize(
    "record_format, found",
    [("V", "record descriptor words (RDW), no block"), ("VB", "block descriptor words (BDW)"), ("F", "30 bytes")],
)
def test_the_record_format_is_found_from_the_data_and_tables_become_arrays(tmp_path, record_format, found):
    (tmp_path / "invoice.cpy").write_text(INVOICE)
    write(tmp_path / "inv.bin", 40, record_format)
    result = introspect(
        "--copybook", str(tmp_path / "invoice.cpy"), "--data", str(tmp_path / "inv.bin"), "--name", "bills"
    )
    assert result.exit_code == 0, result.output
    assert f"record format {record_format}, found from the data" in result.output and found in result.output
    assert "LINES=[{'ITEM_SKU': 'S002', 'ITEM_QTY': -985}, {'ITEM_SKU': 'S003', 'ITEM_QTY': -984}]" in result.output
    draft = yaml.safe_load(result.output)
    source = draft["sources"]["bills"]
    assert source["record_format"] == record_format
    assert source.get("variable_size_occurs", False) is (record_format != "F")  # V, VB: records end early
    fields = draft["resources"]["bills"]["fields"]
    assert fields["lines"] == {
        "type": "array",
        "column": "LINES",
        "fields": {"sku": {"column": "ITEM_SKU"}, "quantity": {"column": "ITEM_QTY", "converter": "int"}},
    }
    assert not any(name.startswith("item") for name in fields)  # no flat indexed columns
    resource = validate(draft).resources["bills"]
    assert resource.mapping.fields["lines"].kind == "array"


@pytest.mark.parametrize("given, written, looks", [("VB", "V", "looks like V"), ("V", "VB", "looks like VB")])
def test_a_given_record_format_the_data_contradicts_says_what_the_file_looks_like(tmp_path, given, written, looks):
    (tmp_path / "invoice.cpy").write_text(INVOICE)
    write(tmp_path / "inv.bin", 40, written)
    result = introspect(
        "--copybook", str(tmp_path / "invoice.cpy"), "--data", str(tmp_path / "inv.bin"), "--record-format", given
    )
    assert result.exit_code != 0
    assert f"does not look like {given}" in result.output and looks in result.output
    assert "non-digit" not in result.output


DATED = """\
000100 01  ORDER.
000200     05  ORDER-NO        PIC 9(6).
000300     05  ORDER-DATE      PIC 9(8).
000400     05  SHIP-DT         PIC 9(8).
000500*    the day it was billed, CCYYMMDD
000600     05  BILLED          PIC 9(8).
000700     05  PAID            PIC 9(8).                                CCYYMMDD
000800     05  REF-NO          PIC 9(8).
000900     05  DUE-DATE        PIC X(8).
"""


def test_eight_digit_dates_by_name_or_comment_get_the_yyyymmdd_converter(tmp_path):
    (tmp_path / "order.cpy").write_text(DATED)
    encode = make_encoder(parse_copybook(DATED), "cp037")
    (tmp_path / "orders.bin").write_bytes(
        b"".join(encode((n, 20240101 + n, 20240201, 20240301, 20240401, 12345678, "20240501")) for n in range(1, 4))
    )
    result = introspect("--copybook", str(tmp_path / "order.cpy"), "--data", str(tmp_path / "orders.bin"))
    assert result.exit_code == 0, result.output
    draft = yaml.safe_load(result.output)
    assert list(draft["resources"]) == ["orders"]  # without --name: from the file's name
    fields = {f["column"]: f.get("converter") for f in draft["resources"]["orders"]["fields"].values()}
    assert fields == {
        "ORDER_NO": "int",
        "ORDER_DATE": "yyyymmdd",
        "SHIP_DT": "yyyymmdd",
        "BILLED": "yyyymmdd",  # the comment line before it
        "PAID": "yyyymmdd",  # the comment in columns 73-80
        "REF_NO": "int",
        "DUE_DATE": {"yyyymmdd": {"as": "str"}},
    }
    served = validate(draft).resources["orders"]
    assert served.mapping.fields["billed"].converter.to_canonical(20240401).isoformat() == "2024-04-01"
