"""The flat-file driver's parts: options checked at start-up, record formats, the key
index text, and ``introspect --copybook``."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
import yaml
from click.testing import CliRunner

from helpers.backends import SHARED_TESTDATA
from helpers.vb_files import VB_COPYBOOK, vb_file
from legacy_bridge.cli import main
from legacy_bridge.config import validate
from legacy_bridge.drivers.flatfile.formats import BadRecord, Column, CsvFormat, FixedFormat
from legacy_bridge.drivers.flatfile.index import key_text
from legacy_bridge.errors import ConfigError

EXAMPLES = SHARED_TESTDATA / "cobol" / "cobol-to-csv" / "Examples"


def _config(source: dict) -> dict:
    return {
        "sources": {"f": {"kind": "flatfile", **source}},
        "resources": {"r": {"source": "f", "key": ["id"], "fields": {"id": "ID"}}},
    }


def test_a_resource_over_files_needs_no_table():
    config = validate(_config({"path": "/nowhere/*.csv", "format": "csv"}))
    assert config.resources["r"].target == {"file": "/nowhere/*.csv"}


@pytest.mark.parametrize(
    "source, where, message",
    [
        ({"format": "csv"}, "path", "required"),
        ({"path": "x", "format": "xml"}, "format", "expected one of"),
        ({"path": "x"}, "format", "required"),
        ({"path": "x", "format": "csv", "header": False}, "columns", "required when header is false"),
        ({"path": "x", "format": "csv", "codepage": "cp037"}, "codepage", "does not apply to format csv"),
        (
            {"path": "x", "format": "fixed", "columns": [{"name": "A", "start": 0, "length": 2}]},
            "columns[0].start",
            "integer >= 1",
        ),
        (
            {"path": "x", "format": "fixed", "columns": [{"name": "A", "start": 1, "length": 2, "type": "date"}]},
            "columns[0].type",
            "unknown type",
        ),
        ({"path": "x", "copybook": "/no/such.cpy"}, "copybook", "cannot read the copybook"),
        ({"path": "x", "copybook": str(EXAMPLES / "DTAR020.cbl"), "codepage": "cp9999"}, "codepage", "cp9999"),
        ({"path": "x", "format": "csv", "bad_records": "drop"}, "bad_records", "reject, quarantine"),
    ],
)
def test_bad_options_are_config_errors_naming_the_key(source, where, message):
    with pytest.raises(ConfigError) as info:
        validate(_config(source))
    assert any(path == f"sources.f.{where}" and message in text for path, text in info.value.problems), (
        info.value.problems
    )


DTAR020 = {"path": "x", "copybook": str(EXAMPLES / "DTAR020.cbl")}


@pytest.mark.parametrize(
    "source, known",
    [
        (DTAR020, "DTAR020_KEYCODE_NO"),
        ({"path": "x", "format": "fixed", "copybook": str(EXAMPLES / "DTAR020.cbl")}, "DTAR020_SALE_PRICE"),
        ({"path": "x", "format": "fixed", "columns": [{"name": "ACCT", "start": 1, "length": 4}]}, "ACCT"),
        ({"path": "x", "format": "csv", "header": False, "columns": ["ACCT", "NAME"]}, "ACCT, NAME"),
    ],
)
def test_a_field_naming_a_column_the_layout_lacks_is_a_config_error_at_start_up(source, known):
    config = _config(source)
    config["resources"]["r"]["fields"] = {"id": "ID", "ok": "__record__"}
    with pytest.raises(ConfigError) as info:
        validate(config)
    assert [p for p, _ in info.value.problems] == ["resources.r.fields.id.column"]
    text = info.value.problems[0][1]
    assert "'ID' is not in the file's layout" in text and known in text


def test_copybook_columns_match_as_written_and_a_header_row_is_only_known_from_the_file():
    config = _config(DTAR020)
    config["resources"]["r"]["fields"] = {"id": "DTAR020-KEYCODE-NO", "qty": "dtar020_qty_sold"}
    assert validate(config).resources["r"].mapping.fields["id"].column == "DTAR020-KEYCODE-NO"
    validate(_config({"path": "x", "format": "csv"}))  # the header names the columns: checked on read


def test_csv_reads_quoted_fields_over_lines_and_types_declared_columns():
    data = b'ID,NAME,AMT\r\n1,"a, ""b""\r\nc",1.50\r\n\r\n2,x,oops\r\n3,y\r\n4,\xe9,2\r\n'
    reader = CsvFormat(columns=[Column("ID", "int"), Column("AMT", "decimal")]).open(io.BytesIO(data))
    rows = list(reader.scan())
    assert reader.columns == ["ID", "NAME", "AMT"]
    assert rows[0][1][:2] == (1, 'a, "b"\r\nc') and str(rows[0][1][2]) == "1.50"
    assert rows[1][1] == BadRecord("'oops' is not a valid decimal", "AMT")
    assert rows[2][1].reason == "2 field(s), expected 3"
    assert "not valid utf-8" in rows[3][1].reason
    assert reader.read_at(rows[0][0])[0] == 1 and reader.read_at(rows[3][0]).reason == rows[3][1].reason


def test_fixed_width_reads_bytes_in_the_code_page_and_pads_trimmed_lines():
    fmt = FixedFormat([Column("NO", "int", 1, 3), Column("NAME", "text", 4, 5)], encoding="cp1252")
    data = b"001Caf\xe9s\n002AB\n003AB\x81CD\r\n\n00XABCDE\n"
    rows = list(fmt.open(io.BytesIO(data)).scan())
    assert [r for _, r in rows[:2]] == [(1, "Cafés"), (2, "AB   ")]
    assert [offset for offset, _ in rows] == [0, 9, 15, 25, 26]
    assert rows[2][1] == BadRecord("byte 0x81 at offset 5 is not valid cp1252", "NAME")
    assert rows[3][1] == BadRecord("an empty record")
    assert rows[4][1] == BadRecord("'00X' is not a valid int", "NO")


def test_fixed_length_records_without_line_ends_flag_a_truncated_tail():
    fmt = FixedFormat([Column("NO", "int", 1, 3)], encoding="ascii", record_length=4)
    rows = list(fmt.open(io.BytesIO(b"001 002 03")).scan())
    assert rows[:2] == [(0, (1,)), (4, (2,))]
    assert rows[2] == (8, BadRecord("truncated: 2 of 4 bytes", fatal=True))


@pytest.mark.parametrize(
    "values, same", [((5,), (Decimal("5.00"),)), ((Decimal("100"),), (Decimal("1E+2"),)), (("ABC  ", 7), ("ABC", 7))]
)
def test_key_text_finds_the_same_record_whatever_the_spelling(values, same):
    assert key_text(values) == key_text(same)
    assert key_text(values) != key_text(("other",))


def test_introspect_copybook_prints_layout_records_and_a_draft_that_loads(tmp_path):
    result = CliRunner().invoke(
        main,
        [
            "introspect",
            "--copybook",
            str(EXAMPLES / "DTAR020.cbl"),
            "--data",
            str(EXAMPLES / "in" / "DTAR020.bin"),
            "--sample",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "DTAR020_SALE_PRICE  21      6       decimal(2)" in out
    assert "record 2 (offset 27)" in out and "DTAR020_QTY_SOLD=-1" in out
    draft = yaml.safe_load(out)
    assert validate(draft).resources["dtar020"].mapping.fields["sale_price"].column == "DTAR020_SALE_PRICE"


def test_introspect_copybook_without_data_is_a_usage_error():
    result = CliRunner().invoke(main, ["introspect", "--copybook", str(EXAMPLES / "DTAR020.cbl")])
    assert result.exit_code == 2 and "go together" in result.output


class Tracked(io.BytesIO):
    """A file that remembers the lowest position it was read from."""

    lowest: int | None = None

    def read(self, size: int = -1) -> bytes:
        pos = self.tell()
        self.lowest = pos if self.lowest is None else min(self.lowest, pos)
        return super().read(size)

    def __iter__(self):
        return self


def test_a_vb_read_resumes_inside_its_block_without_reading_what_is_before_it():
    from legacy_bridge.drivers.flatfile.cobol import CopybookFormat
    from legacy_bridge.drivers.flatfile.copybook import parse_copybook

    fmt = CopybookFormat(parse_copybook(VB_COPYBOOK), record_format="VB")
    raw = vb_file(50)
    reader = fmt.open(io.BytesIO(raw))
    every = [(offset, reader.block, row) for offset, row in reader.scan()]
    assert [row[0] for _, _, row in every] == list(range(1, 51))
    assert len({block for _, block, _ in every}) == 8 and every[7][1] > every[6][1]
    for k in (1, 6, 7, 20, 49):  # mid-block, last of a block, first of one, the last record
        offset, block, _ = every[k]
        f = Tracked(raw)
        resumed = fmt.open(f)
        tail = [(o, resumed.block, row) for o, row in resumed.scan(offset, block)]
        assert tail == every[k:]
        assert f.lowest >= block  # nothing before the record's block was read
    # without the block (an old cursor) it still resumes correctly, from the start
    assert [o for o, _ in fmt.open(io.BytesIO(raw)).scan(every[20][0])] == [o for o, _, _ in every[20:]]
