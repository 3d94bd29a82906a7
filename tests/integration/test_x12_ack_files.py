"""997/999 acknowledgements of the groups an X12 source receives, through the real app: written
into the ``acknowledge`` folder when a file version is first seen, parsed back with the codec
(AK segments, sender and receiver swapped, control numbers from the state store), once per
received group even when two app instances (hosts with their own index folders) read the same
file, and refused at start-up when the option cannot work."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from helpers.backends import ROOT, make_app, state_store_url
from helpers.servers import HOST, child_pids, free_port, serve_process, wait_until
from helpers.x12 import TENDER204, TENDERS, interchange, tender
from legacy_bridge.drivers.flatfile.x12 import read_interchanges
from legacy_bridge.errors import ConfigError


def settings(root: Path, state: str, index: str | None = None, **acknowledge) -> dict:
    source = {
        "kind": "flatfile",
        "format": "x12",
        "path": str(root / "inbound"),
        "pick": "all",
        "bad_records": "quarantine",
        "x12": TENDER204,
        "acknowledge": {"folder": str(root / "acks"), **acknowledge},
    }
    if index:
        source["index_dir"] = index
    return {
        "service": {"secret": "s", "state": state},
        "sources": {"tenders": source},
        "resources": {"tenders": TENDERS},
    }


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "inbound").mkdir()
    (tmp_path / "acks").mkdir()
    return tmp_path


@pytest.fixture
def app(folder):
    app = make_app(settings(folder, f"sqlite:///{folder / 'state.db'}"))
    yield app
    app.extensions["legacy_bridge"].close()


def drop(folder: Path, name: str, text: str) -> None:
    """A file delivered whole (renamed into the inbound folder)."""
    part = folder / "inbound" / f".{name}.part"
    part.write_text(text)
    os.replace(part, folder / "inbound" / name)


def until(done: Callable[[], bool], apps=(), what: str = "the acknowledgements") -> None:
    """Wait for ``done()``, each app listing its files meanwhile (which starts the pass over a
    new version)."""
    deadline = time.monotonic() + 20
    while not done():
        assert time.monotonic() < deadline, f"{what}: not done in 20 s"
        for app in apps:
            app.test_client().get("/v1/tenders")
        time.sleep(0.05)


def gone_over(*index: Path) -> int:
    """How many file versions the acknowledgement pass finished in these index folders."""
    return sum(len(list(folder.glob("*.acks"))) for folder in index)


def acks(folder: Path, count: int, apps=()) -> list[list[tuple[str, ...]]]:
    """The 997/999 files once there are ``count``, as segment lists, by name."""

    def listed() -> list[Path]:
        return sorted(p for p in (folder / "acks").iterdir() if p.name.startswith("99"))

    until(lambda: len(listed()) >= count, apps)
    found = listed()
    assert len(found) == count, [p.name for p in found]
    parsed = []
    for path in found:
        (ic,) = read_interchanges(path.read_bytes())
        parsed.append([s for g in ic.groups for s in [g.header, *[x for t in g.sets for x in t.segments], g.trailer]])
        parsed[-1].insert(0, ic.header)
    return parsed


def body(segments: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """The segments between ST and SE."""
    ids = [s[0] for s in segments]
    return segments[ids.index("ST") + 1 : ids.index("SE")]


def test_an_accepted_group_gets_a_997_back_to_its_sender_then_the_next_file_the_next_numbers(app, folder):
    drop(
        folder,
        "t1.x12",
        interchange("000000101", "101", [tender("0001", "SH1", "ABCD", 1), tender("0002", "SH2", "ABCD", 2)]),
    )
    (first,) = acks(folder, 1, [app])
    isa, gs = first[0], first[1]
    assert (isa[5], isa[6].strip(), isa[7], isa[8].strip(), isa[13]) == (
        "ZZ",
        "CARRIERCO",
        "ZZ",
        "SHIPPERCO",
        "000000001",
    )
    assert (gs[1], gs[2], gs[3], gs[6], gs[8]) == ("FA", "CARRIERCO", "SHIPPERCO", "1", "004010")
    assert first[2][:2] == ("ST", "997")
    assert body(first) == [
        ("AK1", "SM", "101"),
        ("AK2", "204", "0001"),
        ("AK5", "A"),
        ("AK2", "204", "0002"),
        ("AK5", "A"),
        ("AK9", "A", "2", "2", "2"),
    ]
    drop(folder, "t2.x12", interchange("000000102", "102", [tender("0001", "SH3", "ABCD", 3)]))
    _, second = acks(folder, 2, [app])
    assert (second[0][13], second[1][6]) == ("000000002", "2")
    assert body(second)[0] == ("AK1", "SM", "102")


def test_a_set_with_a_wrong_se01_and_those_the_mapping_refuses_are_rejected_with_their_codes(app, folder):
    not_a_number = [s.replace("S5*2*UL", "S5*X2*UL") for s in tender("0004", "SH4", "ABCD", 4)]
    sets = [
        tender("0001", "SH1", "ABCD", 1),
        tender("0002", "SH2", "ABCD", 2, count=3),
        tender("0003", "", "ABCD", 3),
        not_a_number,
    ]
    drop(folder, "t.x12", interchange("000000201", "201", sets))
    (ack,) = acks(folder, 1, [app])
    assert body(ack) == [
        ("AK1", "SM", "201"),
        ("AK2", "204", "0001"),
        ("AK5", "A"),
        ("AK2", "204", "0002"),
        ("AK5", "R", "4"),  # SE01 wrong
        ("AK2", "204", "0003"),
        ("AK3", "B2", "2", "", "8"),  # B2 (the set's 2nd segment) has data element errors:
        ("AK4", "4", "", "1"),  # B204 (the required shipment id) is missing
        ("AK5", "R", "5"),
        ("AK2", "204", "0004"),
        ("AK3", "S5", "12", "", "8"),  # the second stop's S5
        ("AK4", "1", "", "6", "X2"),  # S501 (the stop's seq, an integer): invalid character
        ("AK5", "R", "5"),
        ("AK9", "P", "4", "4", "1"),
    ]


def test_a_file_a_killed_writer_left_keeps_its_numbers(app, folder):
    """A process killed after renaming its 997 into the folder and before its commit: the next
    acknowledgement skips that interchange number and its group number."""
    left = interchange("000000001", "1", [tender("0001", "SH0", "ABCD", 1)]).replace("GS*SM*", "GS*FA*")
    (folder / "acks" / "997.ZZ-SHIPPERCO.000000001.x12").write_text(left)
    drop(folder, "t.x12", interchange("000000701", "701", [tender("0001", "SH1", "ABCD", 1)]))
    _, ack = acks(folder, 2, [app])
    assert (ack[0][13], ack[1][6]) == ("000000002", "2")


def test_a_group_of_acknowledgements_is_not_acknowledged(app, folder):
    their_997 = interchange("000000801", "801", [tender("0001", "SH1", "ABCD", 1)]).replace("GS*SM*", "GS*FA*")
    drop(folder, "a.x12", their_997)
    drop(folder, "t.x12", interchange("000000802", "802", [tender("0001", "SH2", "ABCD", 2)]))
    index = Path(app.extensions["legacy_bridge"].bare_drivers["tenders"].index_dir)
    until(lambda: gone_over(index) == 2, [app], "both files gone over")
    (ack,) = acks(folder, 1)
    assert body(ack)[0] == ("AK1", "SM", "802")


def test_an_interchange_whose_trailer_is_wrong_gets_a_ta1_beside_its_groups_997(app, folder):
    text = interchange("000000951", "951", [tender("0001", "SH1", "ABCD", 1)]).replace(
        "IEA*1*000000951", "IEA*1*000000952"
    )
    drop(folder, "t.x12", text)
    until(lambda: len(list((folder / "acks").glob("TA1.*"))) == 1, [app], "the TA1")
    (ta1,) = (folder / "acks").glob("TA1.*")
    assert ta1.name == "TA1.ZZ-SHIPPERCO.000000002.x12"
    segments = [s.strip().split("*") for s in ta1.read_text().split("~") if s.strip()]
    assert [s[0] for s in segments] == ["ISA", "TA1", "IEA"]
    assert (segments[0][6].strip(), segments[0][8].strip(), segments[0][13]) == ("CARRIERCO", "SHIPPERCO", "000000002")
    assert segments[1] == ["TA1", "000000951", "240301", "0800", "R", "001"]  # ISA13 and IEA02 differ
    (ack,) = acks(folder, 1)
    assert ack[0][13] == "000000001" and body(ack)[-1] == ("AK9", "A", "1", "1", "1")


def test_a_005010x_group_gets_a_999(app, folder):
    text = interchange("000000301", "301", [tender("0001", "SH1", "ABCD", 1)])
    text = text.replace("*00401*", "*00501*").replace("*X*004010", "*X*005010X999")
    drop(folder, "t.x12", text)
    (ack,) = acks(folder, 1, [app])
    assert ack[0][12] == "00501" and ack[1][8] == "005010X231A1"
    assert ack[2] == ("ST", "999", "0001", "005010X231A1")
    assert body(ack) == [
        ("AK1", "SM", "301", "005010X999"),
        ("AK2", "204", "0001"),
        ("IK5", "A"),
        ("AK9", "A", "1", "1", "1"),
    ]


def test_a_new_version_of_a_file_gets_its_own_ack_and_the_same_interchange_again_none(app, folder):
    drop(folder, "t.x12", interchange("000000401", "401", [tender("0001", "SH1", "ABCD", 1)]))
    acks(folder, 1, [app])
    drop(folder, "t.x12", interchange("000000402", "402", [tender("0001", "SH1", "ABCD", 1)]))
    _, newer = acks(folder, 2, [app])
    assert body(newer)[0] == ("AK1", "SM", "402") and newer[0][13] == "000000002"
    time.sleep(0.01)  # a new mtime: a new version, holding groups acknowledged already
    drop(folder, "t.x12", interchange("000000402", "402", [tender("0001", "SH1", "ABCD", 1)]))
    driver = app.extensions["legacy_bridge"].bare_drivers["tenders"]
    (version,) = driver.files()
    this_version = f"-{version.size}-{version.mtime_ns}.sqlite.acks"
    until(lambda: any(p.name.endswith(this_version) for p in Path(driver.index_dir).iterdir()), [app])
    acks(folder, 2)


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_state(request, folder):
    with state_store_url(request.param, folder, f"edi_acks_{os.getpid()}") as url:
        yield url


def test_two_app_instances_reading_the_same_file_write_one_ack_per_group(folder, shared_state):
    """Hosts with index folders of their own both read the file: the state store's record of the
    received group lets one of them write its 997."""
    two = [make_app(settings(folder, shared_state, str(folder / f"index-{n}"))) for n in (1, 2)]
    try:
        groups = [interchange(f"00000050{n}", f"50{n}", [tender("0001", f"SH{n}", "ABCD", n)]) for n in (1, 2, 3)]
        drop(folder, "t.x12", "".join(groups))
        until(lambda: gone_over(folder / "index-1", folder / "index-2") == 2, two, "both instances gone over the file")
        found = acks(folder, 3)
        assert sorted(body(a)[0][2] for a in found) == ["501", "502", "503"]
        assert sorted(a[0][13] for a in found) == ["000000001", "000000002", "000000003"]
    finally:
        for app in two:
            app.extensions["legacy_bridge"].close()


def test_our_ids_can_be_configured_instead_of_the_received_receiver(folder):
    app = make_app(settings(folder, f"sqlite:///{folder / 'state.db'}", sender={"qualifier": "02", "id": "CARR"}))
    try:
        drop(folder, "t.x12", interchange("000000601", "601", [tender("0001", "SH1", "ABCD", 1)]))
        (ack,) = acks(folder, 1, [app])
        assert (ack[0][5], ack[0][6]) == ("02", "CARR".ljust(15))
    finally:
        app.extensions["legacy_bridge"].close()


def test_start_up_refuses_a_missing_folder_bad_ids_and_a_state_store_in_memory(folder):
    with pytest.raises(ConfigError) as refused:
        make_app(
            settings(
                folder,
                f"sqlite:///{folder / 'state.db'}",
                folder=str(folder / "nowhere"),
                sender={"qualifier": "Z", "id": "A*B"},
            )
        )
    text = str(refused.value)
    assert f"sources.tenders.acknowledge.folder: {folder / 'nowhere'} is not a folder" in text
    assert "sources.tenders.acknowledge.sender.qualifier: expected 2 letters or digits (ISA05), got 'Z'" in text
    assert "sources.tenders.acknowledge.sender.id: expected 1 to 15" in text
    with pytest.raises(ConfigError) as refused:
        make_app(settings(folder, "sqlite://"))
    assert "sources.tenders.acknowledge: needs a lasting state store" in str(refused.value)


def test_gunicorn_with_two_workers_writes_one_ack_per_group(folder):
    """The deployment shape: two worker processes each look at the files when they start; the
    lease and the state store's record leave one 997 per received group, numbered 1 to n."""
    for n in range(1, 5):
        drop(folder, f"t{n}.x12", interchange(f"00000090{n}", f"90{n}", [tender("0001", f"SH{n}", "ABCD", n)]))
    config_path = folder / "config.yaml"
    config_path.write_text(yaml.safe_dump(settings(folder, f"sqlite:///{folder / 'state.db'}")))
    port = free_port()
    argv = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "-w", "2", "-b", f"{HOST}:{port}"]
    env = {"LEGACY_BRIDGE_CONFIG": str(config_path)}
    with serve_process([*argv, "wsgi:app"], port, folder / "gunicorn.log", cwd=ROOT, env=env) as server:
        assert wait_until(lambda: len(child_pids(server.process.pid)) == 2, 20)  # both workers forked
        until(lambda: gone_over(folder / "flatfile-index" / "tenders") == 4, what="the four files gone over")
        found = acks(folder, 4)
    assert sorted(body(a)[0][2] for a in found) == ["901", "902", "903", "904"]
    assert [a[0][13] for a in found] == ["000000001", "000000002", "000000003", "000000004"]
