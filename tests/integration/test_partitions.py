"""Partitions of an ODBC resource: N signed tokens whose reads, put together, are the export of
the moment they were planned at, exactly once each, while rows are being inserted; on SQLite,
PostgreSQL and MariaDB, by key ranges the database balances."""

from __future__ import annotations

import json
import os
import threading
import time
from decimal import Decimal

import pytest

from helpers.backends import make_app

TABLE = f"PART_ITEM_{os.getpid()}"  # several suites may share the test databases
ROWS = 300


class Inserter(threading.Thread):
    """A legacy application appending rows (keys and sequence numbers grow) and filling gaps
    inside the key range (odd keys), until stopped."""

    def __init__(self, backend, next_key: int, seq: int) -> None:
        super().__init__(daemon=True)
        self.b, self.key, self.seq, self.gap = backend, next_key, seq, 1
        self.stop, self.inserted = threading.Event(), 0

    def run(self) -> None:
        q = self.b.q
        with self.b.connect() as conn:
            cur = conn.cursor()
            while not self.stop.is_set():
                for key in (self.key, self.gap):  # one beyond the last key, one inside the range
                    self.seq += 1
                    cur.execute(f"INSERT INTO {q(TABLE)} VALUES (?, ?, ?, ?, ?)", *row(key, self.seq))
                self.key, self.gap = self.key + 2, self.gap + 2
                self.inserted += 2
                time.sleep(0.002)


def row(key: int, seq: int) -> tuple:
    return key, f"ITEM {key}", "AB"[key % 2 if key % 7 else 0], Decimal(key * 37) / 4, seq


def config(connection: str) -> dict:
    fields = {
        "id": {"column": "ITEM_NO", "converter": "int"},
        "name": {"column": "ITEM_NM", "converter": "trim"},
        "group": {"column": "GRP", "converter": "trim", "filter": True},
        "amount": {"column": "AMT", "converter": {"decimal": {"scale": 2}}},
        "seq": {"column": "SEQ_NO", "converter": "int"},
    }
    return {
        "service": {"secret": "partition-secret"},
        "sources": {"db": {"kind": "odbc", "connection": connection, "timeout": "10s"}},
        "resources": {
            "items": {"source": "db", "table": TABLE, "key": ["id"], "watermark": "seq", "fields": fields},
            "items-by-key": {"source": "db", "table": TABLE, "key": ["id"], "fields": fields},
        },
    }


@pytest.fixture
def items(backend):
    """The table with even keys 2..2*ROWS (sequence numbers 1..ROWS) and an app over it."""
    q = backend.q
    backend.drop("TABLE", TABLE)
    backend.execute(
        f"CREATE TABLE {q(TABLE)} ({q('ITEM_NO')} INTEGER NOT NULL PRIMARY KEY, {q('ITEM_NM')} VARCHAR(30) "
        f"NOT NULL, {q('GRP')} CHAR(1) NOT NULL, {q('AMT')} DECIMAL(11,2) NOT NULL, {q('SEQ_NO')} INTEGER NOT NULL)"
    )
    if backend.name == "sqlite":  # readers and the writer side by side, as a server database allows
        backend.execute("PRAGMA journal_mode=WAL")
    backend.executemany(f"INSERT INTO {q(TABLE)} VALUES (?, ?, ?, ?, ?)", [row(2 * n, n) for n in range(1, ROWS + 1)])
    app = make_app(config(backend.connection))
    yield backend, app.test_client()
    app.extensions["legacy_bridge"].close()
    backend.drop("TABLE", TABLE)


def export(client, url: str) -> list[dict]:
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)
    return [json.loads(line) for line in response.get_data(as_text=True).splitlines()]


def read_partitions(client, resource: str, filters: str, n: int) -> tuple[list[list[dict]], dict]:
    planned = client.get(f"/v1/{resource}/partitions?n={n}{filters}")
    assert planned.status_code == 200, planned.get_data(as_text=True)
    tokens = [p["partition"] for p in planned.json["data"]]
    return [export(client, f"/v1/{resource}/export?partition={t}{filters}") for t in tokens], planned.json


@pytest.mark.parametrize("filters", ["", "&group=A"])
def test_the_partitions_union_is_the_export_at_the_high_watermark_while_rows_are_inserted(items, filters):
    backend, client = items
    before = export(client, f"/v1/items/export?format=ndjson{filters}")
    writer = Inserter(backend, 2 * ROWS + 2, ROWS)
    writer.start()
    try:
        while writer.inserted < 20:  # rows arrive before, during and after the planning
            time.sleep(0.01)
        parts, planned = read_partitions(client, "items", filters, 4)
        while writer.inserted < 60:
            time.sleep(0.01)
    finally:
        writer.stop.set()
        writer.join()
    after = export(client, f"/v1/items/export?format=ndjson{filters}")
    moment = int(planned["watermark"])
    union = [r for part in parts for r in part]
    # exactly the rows of the moment, in key order, each once: the export filtered to the watermark
    assert union == [r for r in after if r["seq"] <= moment]
    assert {r["id"] for r in before} <= {r["id"] for r in union}
    assert len(union) < len(after)  # rows written since are in the table, not in any partition
    assert [len(p) for p in parts] == [p["records"] for p in planned["data"]]
    assert max(map(len, parts)) - min(map(len, parts)) <= 1  # balanced by the database's quantiles
    if filters:
        assert {r["group"] for r in union} == {"A"}
    # the next pull starts where the partitions stopped
    newer = export(client, f"/v1/items/export?updated_since={moment}{filters}")
    assert sorted(r["id"] for r in union + newer) == sorted(r["id"] for r in after)


def test_without_a_watermark_the_partitions_end_at_the_last_key_of_the_moment(items):
    backend, client = items
    before = export(client, "/v1/items-by-key/export")
    writer = Inserter(backend, 2 * ROWS + 2, ROWS)
    writer.start()
    try:
        while writer.inserted < 20:
            time.sleep(0.01)
        planned = client.get("/v1/items-by-key/partitions?n=3").json
        last_key = max(r[0] for r in backend.execute(f"SELECT {backend.q('ITEM_NO')} FROM {backend.q(TABLE)}"))
        while writer.inserted < 80:  # keys beyond the moment's last one are in the table now
            time.sleep(0.01)
        tokens = [p["partition"] for p in planned["data"]]
        parts = [export(client, f"/v1/items-by-key/export?partition={t}&fields=id,amount") for t in tokens]
    finally:
        writer.stop.set()
        writer.join()
    after = {r["id"]: r for r in export(client, "/v1/items-by-key/export?fields=id,amount")}
    union = [r for part in parts for r in part]
    ids = [r["id"] for r in union]
    assert len(ids) == len(set(ids))  # no row twice, though rows were inserted inside the ranges
    assert {r["id"] for r in before} <= set(ids)
    assert max(ids) <= last_key < max(after)  # appended rows are in no partition
    assert all(after[r["id"]] == r for r in union) and set(union[0]) == {"id", "amount"}
    assert ids == sorted(ids)  # the partitions follow one another in key order


def test_pages_of_a_partition_walk_its_records_only(items):
    _, client = items
    planned = client.get("/v1/items/partitions?n=3").json["data"]
    walked = []
    for p in planned:
        url, seen = f"/v1/items?partition={p['partition']}&limit=17", []
        while url:
            page = client.get(url).json
            seen += page["data"]
            url = page["next"] and f"/v1/items?partition={p['partition']}&limit=17&cursor={page['next']}"
        assert len(seen) == p["records"]
        walked += seen
    assert walked == export(client, "/v1/items/export")


def test_a_token_of_another_resource_other_filters_or_tampered_is_a_400(items):
    _, client = items
    token = client.get("/v1/items/partitions?n=2&group=A").json["data"][1]["partition"]
    assert client.get(f"/v1/items?partition={token}&group=A").status_code == 200
    for url in (
        f"/v1/items?partition={token}",  # other filters
        f"/v1/items?partition={token}&group=B",
        f"/v1/items-by-key/export?partition={token}&group=A",  # another resource
        f"/v1/items?partition={token[:-2]}xy&group=A",  # tampered
        f"/v1/items?partition={token}&group=A&updated_since=3",
    ):
        response = client.get(url)
        assert response.status_code == 400, url
        assert response.json["parameter"] == "partition", url
    assert client.get("/v1/items/partitions").status_code == 400  # n is required
    assert client.get("/v1/items/partitions?n=0").status_code == 400
    assert client.get("/v1/items/partitions?n=2&limit=5").json["parameter"] == "limit"
