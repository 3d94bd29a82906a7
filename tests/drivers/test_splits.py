"""Record-aligned byte ranges of a file (drivers/flatfile/splits.py): every range starts at a
record (V) or a block (VB), knows how many records come before it, and the ranges cover the
file once, also past the reader's 1 MiB chunks."""

from __future__ import annotations

import io

import pytest

from helpers.vb_files import VB_COPYBOOK
from legacy_bridge.drivers.flatfile.cobol import CopybookFormat
from legacy_bridge.drivers.flatfile.copybook import make_encoder, parse_copybook
from legacy_bridge.drivers.flatfile.files import DataFile
from legacy_bridge.drivers.flatfile.splits import byte_ranges

LAYOUT = parse_copybook(VB_COPYBOOK)


def _records(n: int) -> list[bytes]:
    encode = make_encoder(LAYOUT, "cp037")
    return [(24).to_bytes(2, "big") + b"\0\0" + encode((i % 100000, f"NAME {i}")) for i in range(n)]


def _file(raw: bytes) -> DataFile:
    return DataFile("/data/REC.bin", 1, 2, len(raw), 3)


def _starts(records: list[bytes], per_block: int | None) -> tuple[bytes, dict[int, int]]:
    """The file and, per unit start (record for V, block for VB), the records before it."""
    units = (
        [[r] for r in records]
        if per_block is None
        else [records[b : b + per_block] for b in range(0, len(records), per_block)]
    )
    out, starts, at = [], {}, 0
    for first, unit in zip(range(0, len(records), len(units[0])), units):
        body = b"".join(unit)
        if per_block is not None:
            body = (len(body) + 4).to_bytes(2, "big") + b"\0\0" + body
        starts[at] = first
        out.append(body)
        at += len(body)
    return b"".join(out), starts


@pytest.mark.parametrize("record_format, per_block", [("V", None), ("VB", 50)])
def test_ranges_start_at_a_unit_with_its_record_count_across_chunks(record_format, per_block):
    records = _records(60_000)  # 1.4 MB: the walk reads past its first 1 MiB chunk
    raw, starts = _starts(records, per_block)
    fmt = CopybookFormat(LAYOUT, record_format=record_format)
    ranges = byte_ranges(fmt, io.BytesIO(raw), _file(raw), 5)
    assert len(ranges) == 5 and ranges[0].start == 0 and ranges[-1].end is None
    for before, after in zip(ranges, ranges[1:]):
        assert before.end == after.start
    for extent in ranges:
        assert starts[extent.start] == extent.record  # a unit starts there, after that many records
        assert extent.block == (extent.start if record_format == "VB" else None)
    sizes = [(r.end or len(raw)) - r.start for r in ranges]
    assert max(sizes) - min(sizes) < len(raw) // 50


def test_fixed_records_split_by_arithmetic_without_reading():
    fmt = CopybookFormat(LAYOUT, record_format="F")  # 20-byte records
    ranges = byte_ranges(fmt, io.BytesIO(b""), DataFile("/x", 1, 2, 20 * 10, 3), 4)
    assert [(r.start, r.end, r.record) for r in ranges] == [(0, 60, 0), (60, 100, 3), (100, 160, 5), (160, None, 8)]
    assert len(byte_ranges(fmt, io.BytesIO(b""), DataFile("/x", 1, 2, 20 * 2, 3), 4)) == 2


def test_a_broken_descriptor_ends_the_walk_in_the_last_range():
    raw, _ = _starts(_records(1000), None)
    broken = raw[: 24 * 300] + b"\0\0\0\0" + raw[24 * 300 :]
    ranges = byte_ranges(CopybookFormat(LAYOUT, record_format="V"), io.BytesIO(broken), _file(broken), 8)
    assert ranges[-1].end is None and ranges[-1].start <= 24 * 300
