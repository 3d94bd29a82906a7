"""Outbound X12 under real gunicorn with two worker processes: concurrent POSTs each get their
own interchange and group control numbers, 1 to n with no gap and no repeat, every file read
back whole with the numbers its answer gave."""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import yaml

from helpers.backends import ROOT
from helpers.servers import HOST, free_port, serve_process
from helpers.x12_outbound import outbound_config
from legacy_bridge.drivers.flatfile.x12 import read_interchanges


def post(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, json.loads(response.read())


def test_concurrent_posts_from_two_workers_get_distinct_gapless_control_numbers(tmp_path):
    config_path = tmp_path / "config.yaml"
    config_path.write_text(yaml.safe_dump(outbound_config(tmp_path, f"sqlite:///{tmp_path / 'state.db'}")))
    port = free_port()
    argv = [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"{HOST}:{port}", "--graceful-timeout", "5", "wsgi:app"]
    env = {"LEGACY_BRIDGE_CONFIG": str(config_path), "GUNICORN_THREADS": "4"}
    count = 60
    with serve_process(argv, port, tmp_path / "gunicorn.log", cwd=ROOT, env=env) as server:
        url = f"{server.url}/v1/responses"
        records = [{"shipment_id": f"S{n:03d}", "scac": "FSTC", "action": "accepted"} for n in range(count)]
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda r: post(url, r), records))
    assert all(status == 202 for status, _ in answers), answers
    numbers = sorted(int(a["interchange"]) for _, a in answers)
    assert numbers == list(range(1, count + 1))
    assert sorted(a["group"] for _, a in answers) == list(range(1, count + 1))
    folder = tmp_path / "990"
    assert len([f for f in os.listdir(folder) if not f.startswith(".")]) == count
    for _, answer in answers:  # each file holds the numbers its answer gave, and its record
        (ic,) = read_interchanges((folder / answer["file"]).read_bytes())
        assert (ic.control, ic.groups[0].control) == (answer["interchange"], str(answer["group"]))
        assert ic.groups[0].sets[0].segments[1][:2] == ("B1", "FSTC")
