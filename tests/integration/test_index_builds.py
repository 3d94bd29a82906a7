"""Flat-file key indexes are built in the background, one builder per index across processes
(a lease in the state store), with progress in /readyz and `legacy-bridge index`; a get by key
during a build answers 503 index-building with Retry-After at once, never after minutes."""

from __future__ import annotations

import shutil
import time

import yaml
from click.testing import CliRunner

from helpers.backends import make_app
from helpers.dtar020 import COPYBOOK, DATA, SIZE, config, corrupt, expected_rows
from legacy_bridge.cli import main
from legacy_bridge.drivers.flatfile.cobol import CopybookFormat
from legacy_bridge.drivers.flatfile.copybook import parse_copybook
from legacy_bridge.events.leases import StoreLeases
from legacy_bridge.events.state import StateStore


def shared_config(tmp_path, policy="reject"):
    data = tmp_path / "DTAR020.bin"
    if not data.exists():
        shutil.copy(DATA, data)
    found = config(data, policy)
    found["service"]["state"] = f"sqlite:///{tmp_path / 'state.db'}"
    found["sources"]["sales"]["index_dir"] = str(tmp_path / "index")
    return found


def driver_of(app):
    return app.extensions["legacy_bridge"].drivers["sales"].driver


def wait_until(check, seconds=10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def test_a_get_by_key_while_another_host_builds_answers_503_with_retry_after_then_the_record(tmp_path):
    cfg = shared_config(tmp_path)
    first = make_app(cfg)
    key = expected_rows()[5]["keycode"]
    try:  # learn the index file's name, then forget the index: "another host" builds it now
        assert first.test_client().get(f"/v1/sales/{key}").status_code == 200
        (survey,) = (tmp_path / "index").glob("*.sqlite")
        lease = driver_of(first).builds.lease_name(str(survey))
    finally:
        first.extensions["legacy_bridge"].close()
    survey.unlink()
    leases = StoreLeases(StateStore(cfg["service"]["state"]))
    assert leases.take(lease, "other-host:1", 60)
    assert leases.renew(lease, "other-host:1", 60, {"state": "building", "percent": 40.0, "eta_s": 12})

    app = make_app(cfg)
    try:
        client = app.test_client()
        started = time.monotonic()
        busy = client.get(f"/v1/sales/{key}")
        assert time.monotonic() - started < 5  # index_wait (2 s), not the build
        assert busy.status_code == 503 and busy.headers["Retry-After"] == "12"
        assert busy.get_json()["type"].endswith("index-building") and busy.get_json()["percent"] == 40.0
        ready = client.get("/readyz")
        assert ready.status_code == 200  # lists and exports still serve
        (building,) = ready.get_json()["sources"]["sales"]["indexes"]
        assert building["owner"] == "other-host:1" and building["percent"] == 40.0
        assert not survey.exists()  # this process waits for the holder instead of building too

        leases.release(lease, "other-host:1")  # the other host gave up (or its lease ran out)
        assert wait_until(survey.exists)
        assert client.get(f"/v1/sales/{key}").get_json()["keycode"] == key
        assert "indexes" not in client.get("/readyz").get_json()["sources"]["sales"]
    finally:
        app.extensions["legacy_bridge"].close()
        leases.store.close()


def test_two_processes_sharing_a_state_store_build_each_index_once(tmp_path, caplog):
    cfg = shared_config(tmp_path)
    apps = [make_app(cfg), make_app(cfg)]  # as two workers (or hosts sharing the index folder)
    try:
        key = expected_rows()[0]["keycode"]
        for app in apps:
            assert app.test_client().get(f"/v1/sales/{key}").status_code == 200
        built = [r for r in caplog.records if r.getMessage().startswith("sales: built ")]
        assert len(built) == 1
    finally:
        for app in apps:
            app.extensions["legacy_bridge"].close()


def test_under_quarantine_the_key_index_decodes_only_the_key(tmp_path):
    layout = parse_copybook(COPYBOOK.read_text())
    full = CopybookFormat(layout, "cp037")
    keys = full.keys_only(["DTAR020_KEYCODE_NO"])
    assert keys is not None and keys.columns == ["DTAR020_KEYCODE_NO"]
    data = tmp_path / "DTAR020.bin"
    shutil.copy(DATA, data)
    corrupt(data, 7, 8, b"\x2a")  # record 7's packed fields are broken, its key (found once) is not
    with open(data, "rb") as f:
        whole = [(o, r) for o, r in full.open(f).scan()]
    with open(data, "rb") as f:
        narrow = list(keys.open(f).scan())
    assert [o for o, _ in narrow] == [o for o, _ in whole] == [i * SIZE for i in range(len(whole))]
    assert type(whole[6][1]).__name__ == "BadRecord" and narrow[6][1] == (expected_rows()[6]["keycode"],)

    app = make_app(shared_config(tmp_path, "quarantine"))
    try:
        client = app.test_client()
        assert client.get(f"/v1/sales/{expected_rows()[9]['keycode']}").status_code == 200
        assert client.get(f"/v1/sales/{expected_rows()[6]['keycode']}").status_code == 404  # skipped: bad
        assert wait_until(lambda: client.get("/v1/sales/quarantine").get_json().get("total") == 1)
    finally:
        app.extensions["legacy_bridge"].close()


def test_the_index_command_builds_with_a_progress_bar_and_exits_0(tmp_path):
    path = tmp_path / "bridge.yaml"
    path.write_text(yaml.safe_dump(shared_config(tmp_path)))
    result = CliRunner().invoke(main, ["index", "sales", "--config", str(path), "--every", "0.1"])
    assert result.exit_code == 0, result.output
    assert "100.0% DTAR020.bin (key DTAR020-KEYCODE-NO): done" in result.output
    assert "indexed 1 survey(s) of sales" in result.output
    assert len(list((tmp_path / "index").glob("*.sqlite"))) == 1


def test_the_chunked_key_reader_finds_the_keys_the_decoder_reads(tmp_path):
    from legacy_bridge.drivers.flatfile.index import key_text
    from legacy_bridge.drivers.flatfile.key_scan import text_key_batches

    data = tmp_path / "DTAR020.bin"
    shutil.copy(DATA, data)
    corrupt(data, 4, 2, b"\x01")  # a control byte in record 4's key: the decoder refuses it
    with open(data, "ab") as f:
        f.write(b"\xf1" * 10)  # and a truncated last record
    fmt = CopybookFormat(parse_copybook(COPYBOOK.read_text()), "cp037")
    with open(data, "rb") as f:
        decoded = [
            (key_text([row[0]]), offset, n)
            for n, (offset, row) in enumerate(fmt.open(f).scan(), 1)
            if isinstance(row, tuple)
        ]
    steps = []
    with open(data, "rb") as f:
        batches = text_key_batches(fmt, f, ["DTAR020_KEYCODE_NO"], lambda n, at: steps.append((n, at)))
        assert batches is not None
        found = [entry for batch in batches for entry in batch]
    assert found == decoded and len(found) == 378  # 379 records, one with a bad key
    assert steps[-1] == (379, 379 * SIZE)
