"""The worker's accept: with requests in flight it leaves a new connection a moment to an idle
worker (every worker is woken by a connection and the first to accept takes it; two partitions
asked at once often both landed in the worker that had just taken the first)."""

from __future__ import annotations

import pytest
from gunicorn.workers.gthread import ThreadWorker as GunicornThreadWorker

from legacy_bridge.ops import gunicorn_worker
from legacy_bridge.ops.gunicorn_worker import HANDOFF, ThreadWorker


@pytest.mark.parametrize("in_flight, waits", [({"request": "conn"}, True), ({}, False)])
def test_a_busy_worker_waits_a_moment_before_it_accepts_an_idle_one_does_not(mocker, in_flight, waits):
    accepted = mocker.patch.object(GunicornThreadWorker, "accept")
    slept = mocker.patch.object(gunicorn_worker.time, "sleep")
    worker = object.__new__(ThreadWorker)  # the accept path alone: no gunicorn arbiter behind it
    worker._running = in_flight
    listener = object()
    worker.accept(listener)
    accepted.assert_called_once_with(listener)  # it still accepts: if no idle worker took it
    assert slept.call_args_list == ([mocker.call(HANDOFF)] if waits else [])
    assert 0 < HANDOFF <= 0.005  # a request that finds every worker busy pays no more
