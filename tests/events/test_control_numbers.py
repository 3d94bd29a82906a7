"""X12 control numbers from the state store: in sequence, given back by a failed block, never
repeated or skipped by concurrent threads or processes, wrapping at 999999999."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy import update

from helpers.backends import state_store_url
from legacy_bridge.events.control_numbers import LARGEST, Allocation, ControlNumbers, control_numbers
from legacy_bridge.events.state import StateStore

PARTNER = "ZZ:MYID>ZZ:THEIRID"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    with state_store_url(request.param, tmp_path, f"edi_control_numbers_{os.getpid()}") as url:
        yield url


@pytest.fixture
def store(store_url):
    store = StateStore(store_url)
    yield store
    store.close()


def taken(numbers: ControlNumbers, groups: int = 1) -> Allocation:
    with numbers.allocate(groups) as allocation:
        return allocation


def test_numbers_follow_each_other_per_partner_interchanges_and_groups_apart(store):
    numbers = ControlNumbers(store, PARTNER)
    assert taken(numbers) == Allocation(1, [1])
    assert taken(numbers, groups=3) == Allocation(2, [2, 3, 4])
    assert taken(numbers, groups=0) == Allocation(3, [])
    assert taken(numbers) == Allocation(4, [5])
    assert taken(ControlNumbers(store, "ZZ:MYID>ZZ:OTHER")) == Allocation(1, [1])
    assert numbers.last() == Allocation(4, [5])


def test_a_block_that_fails_gives_its_numbers_back(store):
    numbers = ControlNumbers(store, PARTNER)
    assert taken(numbers) == Allocation(1, [1])
    with pytest.raises(OSError), numbers.allocate(2) as allocation:
        assert allocation == Allocation(2, [2, 3])
        raise OSError("disk full")
    assert taken(numbers) == Allocation(2, [2])


def test_numbers_wrap_from_999999999_to_1(store):
    numbers = ControlNumbers(store, PARTNER)
    taken(numbers)
    with store.begin() as conn:
        conn.execute(update(control_numbers).values(interchange=LARGEST - 1, group_number=LARGEST - 1))
    assert taken(numbers, groups=3) == Allocation(LARGEST, [LARGEST, 1, 2])
    assert taken(numbers) == Allocation(1, [3])


def test_an_interchange_whose_file_a_crashed_writer_left_is_skipped_with_its_groups(store):
    """A writer killed after its rename and before its commit left interchange 2 (groups 2, 3)."""
    numbers = ControlNumbers(store, PARTNER)
    taken(numbers)
    left = {2: [2, 3]}
    with numbers.allocate(1, written=left.get) as allocation:
        assert allocation == Allocation(3, [4])


def test_threads_allocating_at_once_get_1_to_n_without_gap_or_repeat(store):
    numbers = ControlNumbers(store, PARTNER)
    got: list[Allocation] = []
    inside = 0
    most_inside = 0
    counting = threading.Lock()

    def work() -> None:
        nonlocal inside, most_inside
        for _ in range(5):
            with numbers.allocate(2) as allocation:
                with counting:
                    inside += 1
                    most_inside = max(most_inside, inside)
                time.sleep(0.002)  # the caller writes its file while holding the numbers
                with counting:
                    inside -= 1
            got.append(allocation)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(a.interchange for a in got) == list(range(1, 41))
    assert sorted(g for a in got for g in a.groups) == list(range(1, 81))
    assert all(a.groups == [2 * a.interchange - 1, 2 * a.interchange] for a in got)
    assert most_inside == 1  # holders queue on the row


PROCESS = """
import sys
from legacy_bridge.events.control_numbers import ControlNumbers
from legacy_bridge.events.state import StateStore
numbers = ControlNumbers(StateStore(sys.argv[1]), sys.argv[2])
sys.stdin.readline()  # start together
for _ in range(int(sys.argv[3])):
    with numbers.allocate(1) as a:
        print(a.interchange, *a.groups, flush=True)
"""


def test_two_processes_allocating_at_once_get_1_to_n_without_gap_or_repeat(store, store_url):
    taken(ControlNumbers(store, "warm-up"))  # the schema exists before the race
    each = 60
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", PROCESS, store_url, PARTNER, str(each)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.close()
    outputs = [p.stdout.read() for p in procs if p.stdout is not None]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    pairs = [tuple(map(int, line.split())) for out in outputs for line in out.splitlines()]
    assert all(len(out.splitlines()) == each for out in outputs)
    assert sorted(i for i, _ in pairs) == list(range(1, 2 * each + 1))
    assert sorted(g for _, g in pairs) == list(range(1, 2 * each + 1))


def test_numbers_taken_within_a_callers_transaction_commit_or_roll_back_with_it(store):
    numbers = ControlNumbers(store, PARTNER)
    with pytest.raises(OSError), store.begin() as conn:
        with numbers.allocate(1, within=conn) as allocation:
            assert allocation == Allocation(1, [1])
        raise OSError("the caller's own record failed")
    with store.begin() as conn, numbers.allocate(1, within=conn) as allocation:
        assert allocation == Allocation(1, [1])
    assert taken(numbers) == Allocation(2, [2])
