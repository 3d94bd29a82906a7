"""Batch files of drops (drivers/flatfile/batches.py) on real files: closes by size, age and
request, header and trailer records with counts and totals, names that never overwrite, the
crash rule, and several processes appending into one batch."""

from __future__ import annotations

import multiprocessing
import os
import threading
from decimal import Decimal

import pytest

from legacy_bridge.drivers.flatfile.batches import Batches, DropRules
from legacy_bridge.drivers.flatfile.outbound import Unfit, record_encoder

FIXED = {
    "kind": "flatfile",
    "path": "unused",
    "format": "fixed",
    "columns": [
        {"name": "ID", "start": 1, "length": 4, "type": "int"},
        {"name": "AMT", "start": 5, "length": 8, "type": "decimal"},
    ],
}


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def batches(folder, clock=None, **rules) -> Batches:
    options = {"name": "OUT.{timestamp:%Y%m%d%H%M%S}.{seq:04d}.txt", **rules}
    encoder = record_encoder(FIXED, ["ID", "AMT"])
    return Batches("orders", DropRules(folder=str(folder), **options), encoder, clock or Clock())


def rows(first: int, n: int) -> list[bytes]:
    encoder = record_encoder(FIXED, ["ID", "AMT"])
    return [encoder.encode({"ID": i, "AMT": Decimal(i) / 4}) for i in range(first, first + n)]


def delivered(folder) -> list[str]:
    return sorted(f for f in os.listdir(folder) if not f.startswith("."))


def test_a_batch_closes_when_it_holds_its_records_and_an_array_spans_batches(tmp_path):
    drop = batches(tmp_path, records=3)
    closed = drop.append(rows(1, 7))
    assert [c.records for c in closed] == [3, 3]
    assert delivered(tmp_path) == ["OUT.20270115080000.0001.txt", "OUT.20270115080000.0002.txt"]
    assert (tmp_path / closed[0].name).read_bytes() == b"".join(rows(1, 3))
    assert (tmp_path / ".orders.part").read_bytes() == rows(7, 1)[0]


def test_a_batch_closes_once_older_than_its_seconds_by_the_timer_or_the_next_append(tmp_path):
    clock = Clock()
    drop = batches(tmp_path, clock, seconds=60)
    drop.append(rows(1, 2))
    clock.now += 59
    assert drop.tick() is None and delivered(tmp_path) == []
    clock.now += 1
    assert drop.tick().records == 2 and len(delivered(tmp_path)) == 1
    drop.append(rows(3, 1))
    clock.now += 120
    closed = drop.append(rows(4, 1))  # the old batch closes first: the new record opens the next
    assert [c.records for c in closed] == [1] and (tmp_path / ".orders.part").read_bytes() == rows(4, 1)[0]


def test_close_delivers_the_open_batch_and_nothing_when_none_is_open(tmp_path):
    drop = batches(tmp_path)
    assert drop.close() is None
    drop.append(rows(1, 2))
    closed = drop.close()
    assert closed.records == 2 and not (tmp_path / ".orders.part").exists()
    assert drop.close() is None and delivered(tmp_path) == [closed.name]


def test_header_and_trailer_hold_the_count_and_control_total(tmp_path):
    drop = batches(tmp_path, header="H{timestamp:%Y%m%d}", trailer="T{count:03d}{total:08.2f}", total="AMT")
    drop.append(rows(1, 3), [Decimal("0.25"), Decimal("0.50"), Decimal("0.75")])
    drop.append(rows(4, 1), [Decimal("1.00")])
    data = (tmp_path / drop.close().name).read_bytes()
    assert data == b"H20270115   \n" + b"".join(rows(1, 4)) + b"T00400002.50\n"


def test_names_never_overwrite_a_file_already_there(tmp_path):
    (tmp_path / "OUT.20270115080000.0001.txt").write_bytes(b"someone else's")
    drop = batches(tmp_path, header="H{seq:04d}")
    drop.append(rows(1, 1))
    assert drop.close().name == "OUT.20270115080000.0002.txt"
    assert (tmp_path / "OUT.20270115080000.0001.txt").read_bytes() == b"someone else's"
    assert (tmp_path / "OUT.20270115080000.0002.txt").read_bytes().startswith(b"H0002 ")  # the file's own seq
    drop.append(rows(2, 1))
    assert drop.close().name == "OUT.20270115080000.0003.txt"


def test_bytes_past_the_last_acknowledged_append_are_cut_back_by_the_next_writer(tmp_path):
    drop = batches(tmp_path)
    drop.append(rows(1, 2))
    with open(tmp_path / ".orders.part", "ab") as f:  # a writer died in the middle of a record
        f.write(rows(3, 1)[0][:5])
    drop.append(rows(4, 1))
    assert (tmp_path / drop.close().name).read_bytes() == b"".join(rows(1, 2) + rows(4, 1))


def test_at_start_a_left_over_batch_is_cut_back_and_closed_or_removed_when_empty(tmp_path):
    batches(tmp_path).append(rows(1, 2))
    with open(tmp_path / ".orders.part", "ab") as f:
        f.write(b"12")
    closed = batches(tmp_path).recover()  # the next start
    assert closed.records == 2 and (tmp_path / closed.name).read_bytes() == b"".join(rows(1, 2))
    drop = batches(tmp_path, header="H")
    drop.append(rows(1, 1))
    (tmp_path / ".orders.part").write_bytes(b"H" + b" " * 11 + b"\n")  # a state that says 1, a file with none:
    state = (tmp_path / ".orders.state").read_text().replace('"count": 1', '"count": 0')
    (tmp_path / ".orders.state").write_text(state.replace(f'"end": {13 + 13}', '"end": 13'))
    assert batches(tmp_path, header="H").recover() is None and not (tmp_path / ".orders.part").exists()


def test_a_part_without_its_state_is_set_aside_never_delivered(tmp_path):
    drop = batches(tmp_path)
    drop.append(rows(1, 1))
    os.remove(tmp_path / ".orders.state")
    assert drop.recover() is None and delivered(tmp_path) == []
    assert [f for f in os.listdir(tmp_path) if f.startswith(".orders.part.orphaned-")]


def _writer(folder: str, first: int) -> None:
    drop = batches(folder, records=25)
    for k in range(10):
        drop.append(rows(first + k * 7, 7))


def test_processes_appending_at_once_leave_every_record_whole_and_once(tmp_path):
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_writer, args=(str(tmp_path), 1000 * p)) for p in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert all(w.exitcode == 0 for w in workers)
    batches(tmp_path).close()
    files = delivered(tmp_path)
    data = [(tmp_path / f).read_bytes() for f in files]
    assert all(len(d) % 13 == 0 for d in data) and [len(d) // 13 for d in data[:-1]] == [25] * (len(files) - 1)
    records = [d[i : i + 13] for d in data for i in range(0, len(d), 13)]
    expected = [r for p in range(4) for k in range(10) for r in rows(1000 * p + k * 7, 7)]
    assert sorted(records) == sorted(expected) and len(set(records)) == 280


@pytest.mark.parametrize(
    "row, column, reason",
    [
        ({"ID": 12345, "AMT": 1}, "ID", "5 bytes do not fit the field's 4"),
        ({"ID": 1, "AMT": "naïve€"}, "AMT", "character 'ï' is not in ascii"),
    ],
)
def test_a_value_the_fixed_layout_cannot_hold_names_its_column(row, column, reason):
    with pytest.raises(Unfit) as caught:
        record_encoder(FIXED, ["ID", "AMT"]).encode(row)
    assert (caught.value.column, caught.value.reason) == (column, reason)


def test_one_timer_thread_per_process_and_none_without_seconds(tmp_path):
    def timers():
        return [t for t in threading.enumerate() if t.name == f"drop-timer{tmp_path}/.orders.part"]

    batches(tmp_path).start_timer()
    assert timers() == []
    drop = batches(tmp_path, seconds=3600)
    drop.start_timer()
    drop.start_timer()
    drop.append(rows(1, 1))
    assert len(timers()) == 1 and timers()[0].daemon
