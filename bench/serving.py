"""What the benchmarks that measure legacy-bridge under gunicorn share: a free port, the server
started on a config (the production settings of gunicorn.conf.py) and stopped, medians.

Imported as ``serving`` by the scripts in bench/*/ (each puts bench/ on its path)."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import platform
import socket
import statistics as st
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def p50_ms(samples: list[float]) -> float:
    return st.median(samples) * 1000


@contextmanager
def serving(config: dict, workers: int = 2) -> Iterator[tuple[int, subprocess.Popen]]:
    """``gunicorn wsgi:app`` with ``workers`` workers on ``config`` (written as YAML in its own
    order: an action's params keep the routine's), up and answering /healthz: (port, process)."""
    path = Path(tempfile.mkdtemp(prefix="lb-bench-")) / "legacy-bridge.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    port = free_port()
    env = {**os.environ, "LEGACY_BRIDGE_CONFIG": str(path), "LEGACY_BRIDGE_LOG_LEVEL": "WARNING"}
    command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "-w", str(workers)]
    server = subprocess.Popen(
        [*command, "-b", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(150):
            try:
                http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/healthz")
                break
            except OSError:
                if server.poll() is not None:
                    raise RuntimeError(f"gunicorn stopped at start-up (exit {server.returncode}): see {path}") from None
                time.sleep(0.2)
        yield port, server
    finally:
        server.terminate()
        server.wait(30)


def medians(rounds: list[dict[str, float]]) -> dict[str, float]:
    """Each measure's median over the rounds."""
    return {k: st.median(r[k] for r in rounds) for k in rounds[0]}


def write_results(bench: str, args: Any, rounds: list[dict], summary: dict) -> None:
    """Every round and the summary as bench/<bench>/results/<date>.json, and say where."""
    out = ROOT / "bench" / bench / "results" / f"{dt.date.today().isoformat()}.json"
    out.parent.mkdir(exist_ok=True)
    record = {"machine": platform.platform(), "args": vars(args), "rounds": rounds, "summary": summary}
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"written: {out.relative_to(ROOT)}")
