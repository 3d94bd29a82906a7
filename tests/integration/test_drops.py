"""Drop resources through the app: records POSTed land in batch files of the source's format,
read back by the product's own readers as they were posted; what a layout cannot hold is a
400 naming the field before anything is written; Idempotency-Key and scopes as for writes."""

from __future__ import annotations

import os
from decimal import Decimal

import pytest

from helpers.backends import make_app
from helpers.drops import drop_config
from helpers.dtar020 import expected_rows
from legacy_bridge.drivers.flatfile import outbound
from legacy_bridge.errors import ConfigError
from legacy_bridge.events.journal import audit_records
from legacy_bridge.security.scopes import hash_key

TEXT_ROWS = [{"id": i, "name": f"n{i}" + ("é" if i % 3 else ""), "amount": str(Decimal(i) / 8)} for i in range(1, 41)]


def files(folder) -> list[str]:
    return sorted(f for f in os.listdir(folder) if not f.startswith("."))


def read_back(client) -> list[dict]:
    body = client.get("/v1/sales?limit=1000").get_json()
    assert body["next"] is None
    return body["data"]


@pytest.fixture
def served():
    apps = []

    def serve(config):
        app = make_app(config)
        apps.append(app)
        return app.test_client()

    yield serve
    for app in apps:
        app.extensions["legacy_bridge"].close()


def test_dtar020_records_posted_in_batches_read_back_as_posted(tmp_path, served):
    client = served(drop_config(tmp_path, records=100))
    rows = expected_rows()
    answer = client.post("/v1/sales", json=rows[:250])
    assert answer.status_code == 202 and answer.get_json()["written"] == 250
    assert len(answer.get_json()["closed"]) == 2
    assert client.post("/v1/sales", json=rows[250]).status_code == 202  # one object
    assert client.post("/v1/sales", json=rows[251:]).get_json()["written"] == 128
    assert client.post("/v1/sales/close").get_json()["records"] == 79
    assert len(files(tmp_path)) == 4
    assert sorted(read_back(client), key=str) == sorted(rows, key=str)


def test_a_copybook_record_is_the_hand_written_ebcdic_bytes(tmp_path, served):
    client = served(drop_config(tmp_path))
    record = {"keycode": "69684558", "store": 20, "day": 40118, "dept": 280, "qty": -1, "price": "-19.00"}
    assert client.post("/v1/sales", json=record).status_code == 202
    name = client.post("/v1/sales/close").get_json()["closed"]
    expected = bytes.fromhex(
        "F6F9F6F8F4F5F5F8"  # KEYCODE-NO X(8), cp037
        "020C"  # STORE-NO S9(3) COMP-3: 020 +
        "0040118C"  # DATE S9(7) COMP-3
        "280C"  # DEPT-NO S9(3) COMP-3
        "000000001D"  # QTY-SOLD S9(9) COMP-3: -1
        "00000001900D"  # SALE-PRICE S9(9)V99 COMP-3: -19.00
    )
    assert (tmp_path / name).read_bytes() == expected


def test_v_records_carry_their_rdw_and_read_back_as_posted(tmp_path, served):
    client = served(drop_config(tmp_path, "copybook-v"))
    rows = expected_rows()[:20]
    assert client.post("/v1/sales", json=rows).status_code == 202
    name = client.post("/v1/sales/close").get_json()["closed"]
    assert (tmp_path / name).read_bytes()[:4] == bytes([0, 31, 0, 0])  # 27 bytes + the 4 of the RDW
    assert read_back(client) == rows


@pytest.mark.parametrize("kind", ["csv", "fixed", "fixed-length"])
def test_text_records_read_back_as_posted(tmp_path, served, kind):
    client = served(drop_config(tmp_path, kind, records=15))
    assert client.post("/v1/sales", json=TEXT_ROWS).status_code == 202
    client.post("/v1/sales/close")
    assert len(files(tmp_path)) == 3
    assert sorted(read_back(client), key=lambda r: r["id"]) == TEXT_ROWS


BAD = {
    "too long": ({"keycode": "123456789"}, "keycode", "9 characters, the field holds 8"),
    "not in the code page": ({"keycode": "AB€"}, "keycode", "character '€' is not in code page cp037"),
    "past its PIC": ({"qty": 10**9}, "qty", "1000000000 has more than 9 digits"),
    "more decimals than its PIC": ({"price": "1.005"}, "price", "has more decimals"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_record_the_layout_cannot_hold_is_a_400_naming_it_and_nothing_is_written(tmp_path, served, case):
    change, field, reason = BAD[case]
    client = served(drop_config(tmp_path))
    rows = expected_rows()
    assert client.post("/v1/sales", json=rows[:3]).status_code == 202
    before = (tmp_path / ".sales.part").read_bytes()
    one = client.post("/v1/sales", json={**rows[3], **change})
    assert one.status_code == 400 and one.get_json()["parameter"] == field and reason in one.get_json()["detail"]
    many = client.post("/v1/sales", json=[rows[4], rows[5], {**rows[6], **change}])
    assert many.status_code == 400 and many.get_json()["parameter"] == f"[2].{field}"
    assert (tmp_path / ".sales.part").read_bytes() == before and files(tmp_path) == []


def test_a_csv_value_outside_the_encoding_is_a_400(tmp_path, served):
    config = drop_config(tmp_path, "csv")
    config["sources"]["out"]["encoding"] = "ascii"
    client = served(config)
    answer = client.post("/v1/sales", json=[TEXT_ROWS[2], {**TEXT_ROWS[5], "name": "zoë"}])
    assert answer.status_code == 400 and answer.get_json()["parameter"] == "[1].name"
    assert not (tmp_path / ".sales.part").exists()


def test_header_and_trailer_count_and_total_each_batch(tmp_path, served):
    drop = {"records": 3, "header": "HDR{seq:05d}", "trailer": "TRL{count:07d}{total:+017.2f}", "total": "price"}
    client = served(drop_config(tmp_path, **drop))
    rows = expected_rows()[:5]
    closed = client.post("/v1/sales", json=rows).get_json()["closed"] + [
        client.post("/v1/sales/close").get_json()["closed"]
    ]
    for seq, (name, batch) in enumerate(zip(closed, (rows[:3], rows[3:])), 1):
        data = (tmp_path / name).read_bytes()
        assert len(data) == 27 * (len(batch) + 2)
        total = sum(Decimal(r["price"]) for r in batch)
        assert data[:27].decode("cp037") == f"HDR{seq:05d}".ljust(27)
        assert data[-27:].decode("cp037") == f"TRL{len(batch):07d}{total:+017.2f}"


def test_a_csv_batch_has_its_header_and_trailer_lines_around_the_records(tmp_path, served):
    drop = {"records": 4, "header": "HDR,{seq:05d}", "trailer": "TRL,{count},{total:.3f}", "total": "amount"}
    client = served(drop_config(tmp_path, "csv", **drop))
    (name,) = client.post("/v1/sales", json=TEXT_ROWS[:4]).get_json()["closed"]
    lines = (tmp_path / name).read_text(encoding="utf-8").splitlines()
    total = sum(Decimal(r["amount"]) for r in TEXT_ROWS[:4])
    # the CSV's own header row of column names first, then the header record
    assert lines[:2] == ["ID,NAME,AMOUNT", "HDR,00001"] and lines[-1] == f"TRL,4,{total:.3f}"
    assert [line.split(",")[0] for line in lines[2:-1]] == ["1", "2", "3", "4"]


def test_a_csv_header_line_that_would_change_length_keeps_the_batch_open_and_close_says_why(tmp_path, served):
    client = served(drop_config(tmp_path, "csv", records=10, header="HDR,{total}", total="amount"))
    assert client.post("/v1/sales", json=TEXT_ROWS[:4]).status_code == 202
    before = (tmp_path / ".sales.part").read_bytes()
    answer = client.post("/v1/sales/close")
    assert answer.status_code == 409 and "fixed widths" in answer.get_json()["detail"]
    assert (tmp_path / ".sales.part").read_bytes() == before and files(tmp_path) == []


def test_a_trailer_too_narrow_for_the_total_keeps_the_batch_open_and_close_says_why(tmp_path, served):
    trailer = "TRL{count:07d}{total:+012.2f}-----"  # 27 characters while the total holds 8 digits
    client = served(drop_config(tmp_path, records=2, trailer=trailer, total="price"))
    huge = {**expected_rows()[0], "price": "999999999.99"}
    many = [{**huge, "keycode": f"{n:08d}"} for n in range(1000, 1002)]
    assert client.post("/v1/sales", json=many).get_json() == {"written": 2, "closed": []}  # acknowledged
    answer = client.post("/v1/sales/close")
    assert answer.status_code == 409 and answer.get_json()["type"].endswith("batch-not-closed")
    assert "29 characters do not fit a record of 27" in answer.get_json()["detail"]
    assert files(tmp_path) == [] and (tmp_path / ".sales.part").stat().st_size == 2 * 27
    more = [{**expected_rows()[1], "keycode": f"{n:08d}"} for n in range(2000, 2003)]
    assert client.post("/v1/sales", json=more).get_json()["written"] == 3  # the open batch takes them all
    assert (tmp_path / ".sales.part").stat().st_size == 5 * 27


def test_an_idempotency_key_replays_the_first_answer_and_writes_once(tmp_path, served):
    client = served(drop_config(tmp_path))
    rows = expected_rows()[:4]
    first = client.post("/v1/sales", json=rows, headers={"Idempotency-Key": "batch-1"})
    again = client.post("/v1/sales", json=rows, headers={"Idempotency-Key": "batch-1"})
    assert again.status_code == 202 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert client.post("/v1/sales/close").get_json()["records"] == 4


def test_posting_and_closing_take_the_write_scope(tmp_path, served):
    config = drop_config(tmp_path)
    config["auth"] = {
        "keys": [
            {"id": "reader", "hash": hash_key("lb_reader_key_0123456789abcdef"), "scopes": ["sales:read"]},
            {"id": "writer", "hash": hash_key("lb_writer_key_0123456789abcdef"), "scopes": ["sales:write"]},
        ]
    }
    client = served(config)
    record = expected_rows()[0]
    for key, status in (("lb_reader_key_0123456789abcdef", 403), ("lb_writer_key_0123456789abcdef", 202)):
        assert client.post("/v1/sales", json=record, headers={"X-API-Key": key}).status_code == status
    assert client.post("/v1/sales/close", headers={"X-API-Key": "lb_reader_key_0123456789abcdef"}).status_code == 403
    assert client.post("/v1/sales/close", headers={"X-API-Key": "lb_writer_key_0123456789abcdef"}).status_code == 200
    # the call left its audit record, made by the writer's key, with the record it dropped
    (audit,) = audit_records(client.application.extensions["legacy_bridge.state"], "sales")
    assert (audit.kind, audit.caller, audit.before) == ("drop", "writer", None)
    assert [r["keycode"] for r in audit.after["records"]] == [record["keycode"]]


@pytest.mark.parametrize(
    "kind, change, where, message",
    [
        ("copybook", {"folder": "/nonexistent/outbox"}, "drop.folder", "is not an existing folder"),
        ("csv", {"header": "H\nX"}, "drop.header", "cannot hold a line break"),
        ("csv", {"header": "HDR,{count}"}, "drop.header", "give {count} a fixed width"),
        ("copybook", {"trailer": "T{count:030d}"}, "drop.trailer", "do not fit a record of 27"),
        ("copybook", {"name": "OUT.{timestamp:%H}"}, "drop.name", "holds no {seq}"),
        ("copybook", {"total": "keycode"}, "drop.total", "expected a numeric field"),
        ("copybook", {"records": 0}, "drop.records", "expected an integer >= 1"),
    ],
)
def test_a_drop_the_service_cannot_write_stops_the_start_naming_the_key(tmp_path, kind, change, where, message):
    config = drop_config(tmp_path, kind)
    config["resources"]["sales"]["drop"].update(change)
    with pytest.raises(ConfigError) as caught:
        make_app(config)
    assert any(path == f"resources.sales.{where}" and message in text for path, text in caught.value.problems)


def test_a_read_only_folder_stops_the_start(tmp_path, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        if os.access(folder, os.W_OK):  # root writes anywhere: the refusal is injected where it is asked
            real = outbound.os.access
            monkeypatch.setattr(outbound.os, "access", lambda p, mode: p != str(folder) and real(p, mode))
        with pytest.raises(ConfigError, match="is not writable"):
            make_app(drop_config(folder))
    finally:
        folder.chmod(0o755)


def test_the_openapi_document_has_the_drop_post_with_its_body_and_the_close_route(tmp_path, served):
    client = served(drop_config(tmp_path, records=10, seconds=60))
    paths = client.get("/openapi.json").get_json()["paths"]
    post = paths["/v1/sales"]["post"]
    body = post["requestBody"]["content"]["application/json"]["schema"]["oneOf"]
    assert set(body[0]["properties"]) == {"keycode", "store", "day", "dept", "qty", "price"}
    assert body[1]["items"] == body[0] and "Idempotency-Key" in [p["name"] for p in post["parameters"]]
    assert "202" in post["responses"] and "10 records" in post["description"]
    assert paths["/v1/sales/close"]["post"]["operationId"] == "close_sales"
