"""Drops under real gunicorn with two worker processes: concurrent POSTs append whole records
into one batch; a worker killed (SIGKILL) in the middle of an append leaves bytes the next
writer cuts back, and a restart closes the batch the last run left, by the documented rule."""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from http.client import HTTPException

import pytest
import yaml

from helpers.backends import ROOT
from helpers.drops import drop_config
from helpers.servers import HOST, free_port, serve_process

KILLING_CONF = """
import os
import signal

from legacy_bridge.ops.gunicorn_conf import *  # noqa: F401,F403
from legacy_bridge.ops import gunicorn_conf as base
from legacy_bridge.drivers.flatfile.batches import Batches

MARKER = {marker!r}


def post_worker_init(worker):
    base.post_worker_init(worker)
    write = Batches._write

    def dying(self, data):
        try:
            os.remove(MARKER)
        except FileNotFoundError:
            return write(self, data)
        write(self, data[: len(data) // 2 + 5])  # whole records, then part of one
        os.kill(os.getpid(), signal.SIGKILL)

    Batches._write = dying
"""


def record(n: int) -> dict:
    return {
        "keycode": f"{n:08d}",
        "store": n % 1000,
        "day": 40118,
        "dept": 280,
        "qty": n,
        "price": str(Decimal(n).scaleb(-2)),
    }


def post(url: str, body) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def read_back(url: str) -> list[dict]:
    with urllib.request.urlopen(f"{url}/v1/sales?limit=1000", timeout=30) as response:
        body = json.loads(response.read())
    assert body["next"] is None
    return body["data"]


@pytest.fixture
def gunicorn(tmp_path):
    drops = tmp_path / "outbox"
    drops.mkdir()
    marker = tmp_path / "kill-next-append"
    conf = tmp_path / "killing_conf.py"
    conf.write_text(KILLING_CONF.format(marker=str(marker)))

    def start(**drop):
        config_path = tmp_path / "config.yaml"
        config_path.write_text(yaml.safe_dump(drop_config(drops, **drop)))
        port = free_port()
        argv = [sys.executable, "-m", "gunicorn", "-c", str(conf), "-w", "2", "-b", f"{HOST}:{port}", "wsgi:app"]
        log = tmp_path / f"gunicorn-{port}.log"
        env = {"LEGACY_BRIDGE_CONFIG": str(config_path), "GUNICORN_THREADS": "4"}
        return serve_process(argv, port, log, cwd=ROOT, env=env)

    return start, drops, marker


def delivered(folder) -> list[bytes]:
    return [(folder / f).read_bytes() for f in sorted(os.listdir(folder)) if not f.startswith(".")]


def test_concurrent_posts_from_two_workers_append_every_record_whole_and_once(gunicorn):
    start, drops, _ = gunicorn
    with start(records=120) as server:
        url = f"{server.url}/v1/sales"
        batches = [[record(100 * b + i) for i in range(25)] for b in range(40)]
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda batch: post(url, batch), batches))
        assert all(status == 202 for status, _ in answers), answers
        assert post(f"{url}/close", {})[0] == 200
        files = delivered(drops)
        assert [len(f) // 27 for f in files] == [120] * 8 + [40] and all(len(f) % 27 == 0 for f in files)
        got = read_back(server.url)
    assert sorted(got, key=lambda r: r["keycode"]) == [r for b in batches for r in b]


def test_a_worker_killed_mid_append_loses_only_its_unanswered_records_and_a_restart_closes_the_batch(gunicorn):
    start, drops, marker = gunicorn
    first, killed, third, killed_again = ([record(100 * b + i) for i in range(50)] for b in range(1, 5))
    with start(records=1000) as server:
        url = f"{server.url}/v1/sales"
        assert post(url, first)[0] == 202
        marker.touch()
        with pytest.raises((urllib.error.URLError, ConnectionError, HTTPException)):
            post(url, killed)  # the worker dies in the middle of its write: no answer
        assert not marker.exists(), server.log()
        assert (drops / ".sales.part").stat().st_size % 27 == 5  # half a record at the end
        assert post(url, third)[0] == 202  # the next writer cuts the half record back first
        assert (drops / ".sales.part").stat().st_size == 100 * 27
        marker.touch()
        with pytest.raises((urllib.error.URLError, ConnectionError, HTTPException)):
            post(url, killed_again)
        assert delivered(drops) == []
    assert (drops / ".sales.part").stat().st_size % 27 == 5  # the run ended with a half record
    with start(records=1000) as server:  # the start cuts it back and closes the batch
        assert not (drops / ".sales.part").exists()
        assert [len(f) for f in delivered(drops)] == [100 * 27]
        got = read_back(server.url)
    assert got == first + third
