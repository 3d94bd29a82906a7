"""Incremental pulls: ``updated_since`` on a watermark (a sequence number, a YYYYMMDD+HHMMSS
pair), exclusive, ordered by watermark then key, with the watermark to resume from."""

from __future__ import annotations

import datetime as dt
import os
import threading

import pytest
import requests

from helpers.backends import make_app
from helpers.servers import serve_app

ROWS = 120
TABLE = f"INC_ITEM_{os.getpid()}"  # several suites may share the test databases


def stamp(seq: int) -> tuple[int, int]:
    """The legacy (YYYYMMDD, HHMMSS) of change ``seq``: 7 s apart, so the pair orders as seq does."""
    moment = dt.datetime(2020, 1, 1) + dt.timedelta(seconds=7 * seq)
    return int(moment.strftime("%Y%m%d")), int(moment.strftime("%H%M%S"))


def stamp_text(seq: int) -> str:
    return (dt.datetime(2020, 1, 1) + dt.timedelta(seconds=7 * seq)).isoformat()


class Items:
    """The legacy table and a writer that changes it as a legacy application would."""

    def __init__(self, backend) -> None:
        self.b = backend
        self.seq = 0
        q = backend.q
        backend.drop("TABLE", TABLE)
        backend.execute(
            f"CREATE TABLE {q(TABLE)} ({q('ITEM_NO')} INTEGER NOT NULL PRIMARY KEY, "
            f"{q('ITEM_NM')} VARCHAR(30) NOT NULL, {q('CHG_DT')} INTEGER NOT NULL, "
            f"{q('CHG_TM')} INTEGER NOT NULL, {q('SEQ_NO')} INTEGER NOT NULL)"
        )
        # rows inserted in shuffled key order, so watermark order is not key order
        for key in sorted(range(1, ROWS + 1), key=lambda k: (k * 37) % ROWS):
            self.insert(key)

    def _next(self) -> tuple:
        self.seq += 1
        return (*stamp(self.seq), self.seq)

    def insert(self, key: int) -> None:
        self.b.execute(f"INSERT INTO {self.b.q(TABLE)} VALUES (?, ?, ?, ?, ?)", key, f"ITEM {key}", *self._next())

    def update(self, key: int) -> None:
        q = self.b.q
        self.b.execute(
            f"UPDATE {q(TABLE)} SET {q('ITEM_NM')} = ?, {q('CHG_DT')} = ?, {q('CHG_TM')} = ?, "
            f"{q('SEQ_NO')} = ? WHERE {q('ITEM_NO')} = ?",
            f"ITEM {key} v{self.seq + 1}",
            *self._next(),
            key,
        )

    def state(self) -> dict[int, tuple[str, int]]:
        q = self.b.q
        return {
            k: (n, s)
            for k, n, s in self.b.execute(f"SELECT {q('ITEM_NO')}, {q('ITEM_NM')}, {q('SEQ_NO')} FROM {q(TABLE)}")
        }


def _config(connection: str) -> dict:
    fields = {
        "id": {"column": "ITEM_NO", "converter": "int"},
        "name": {"column": "ITEM_NM", "converter": "trim", "filter": True},
        "changed_on": {"column": "CHG_DT", "converter": "yyyymmdd"},
        "changed_at": {"column": "CHG_TM", "converter": "hhmmss"},
        "seq": {"column": "SEQ_NO", "converter": "int"},
    }
    return {
        "service": {"secret": "test-secret", "max_limit": 500},
        "sources": {"db": {"kind": "odbc", "connection": connection, "timeout": "5s"}},
        "resources": {
            "items": {"source": "db", "table": TABLE, "key": ["id"], "fields": fields, "watermark": "seq"},
            "items-pair": {
                "source": "db",
                "table": TABLE,
                "key": ["id"],
                "fields": fields,
                "watermark": ["changed_on", "changed_at"],
            },
            "no-mark": {"source": "db", "table": TABLE, "key": ["id"], "fields": fields},
        },
    }


@pytest.fixture(scope="module")
def items(backend):
    table = Items(backend)
    yield table
    backend.drop("TABLE", TABLE)


@pytest.fixture(scope="module")
def inc_app(items, backend):
    app = make_app(_config(backend.connection))
    yield app
    app.extensions["legacy_bridge"].close()


# the watermark each resource shows for change ``seq``, and what updated_since takes
MARK = {"items": str, "items-pair": stamp_text}


def _seqs(page: dict) -> list[int]:
    return [r["seq"] for r in page["data"]]


@pytest.mark.parametrize("name", MARK)
def test_updated_since_is_exclusive_and_ordered_by_the_watermark(inc_app, items, name):
    client = inc_app.test_client()
    page = client.get(f"/v1/{name}?updated_since={MARK[name](40)}&limit=15&fields=id,seq").get_json()
    assert _seqs(page) == list(range(41, 56))  # row 40 itself is not "since 40"
    assert page["watermark"] == MARK[name](55)
    rest = client.get(
        f"/v1/{name}?updated_since={MARK[name](40)}&limit=15&fields=id,seq&cursor={page['next']}"
    ).get_json()
    assert _seqs(rest)[0] == 56 and rest["watermark"] == MARK[name](70)


@pytest.mark.parametrize("name", MARK)
def test_an_empty_updated_since_starts_from_the_first_change(inc_app, items, name):
    page = inc_app.test_client().get(f"/v1/{name}?updated_since=&limit=5&fields=seq").get_json()
    assert _seqs(page) == [1, 2, 3, 4, 5] and page["watermark"] == MARK[name](5)


def test_a_page_past_the_last_change_echoes_the_watermark_it_was_given(inc_app, items):
    response = inc_app.test_client().get(f"/v1/items?updated_since={items.seq}")
    assert response.get_json() == {"data": [], "next": None, "watermark": str(items.seq)}
    assert response.headers["X-Watermark"] == str(items.seq)


def test_rows_with_the_same_watermark_are_ordered_by_key(inc_app, items, backend):
    q = backend.q
    backend.execute(f"UPDATE {q(TABLE)} SET {q('SEQ_NO')} = 0 WHERE {q('ITEM_NO')} IN (5, 3, 9)")
    try:
        page = inc_app.test_client().get("/v1/items?updated_since=-1&limit=3&fields=id").get_json()
        assert [r["id"] for r in page["data"]] == [3, 5, 9] and page["watermark"] == "0"
    finally:
        for key in (3, 5, 9):
            items.update(key)


@pytest.mark.parametrize(
    "query, parameter",
    [
        ("/v1/no-mark?updated_since=1", "updated_since"),
        ("/v1/items?updated_since=abc", "updated_since"),
        ("/v1/items-pair?updated_since=2020-01-01", "updated_since"),
        ("/v1/items?updated_since=1&sort=name", "sort"),
    ],
)
def test_bad_incremental_requests_are_400s_naming_the_parameter(inc_app, query, parameter):
    response = inc_app.test_client().get(query)
    assert response.status_code == 400
    assert response.get_json()["parameter"] == parameter


@pytest.mark.parametrize("name", MARK)
def test_an_incremental_export_announces_the_watermark_it_ends_at(inc_app, items, name):
    client = inc_app.test_client()
    since = items.seq - 3
    response = client.get(f"/v1/{name}/export?format=ndjson&fields=seq&updated_since={MARK[name](since)}")
    assert [int(line[7:-1]) for line in response.data.decode().splitlines()] == list(range(since + 1, items.seq + 1))
    assert response.headers["X-Watermark"] == MARK[name](items.seq)
    nothing = client.get(f"/v1/{name}/export?format=csv&updated_since={response.headers['X-Watermark']}")
    assert nothing.data == b"id,name,changed_on,changed_at,seq\r\n"
    assert nothing.headers["X-Watermark"] == MARK[name](items.seq)


class Writer(threading.Thread):
    """Inserts and updates rows between the client's page fetches (``step`` each time)."""

    def __init__(self, items: Items) -> None:
        super().__init__(daemon=True)
        self.items, self.go, self.done, self.stop = items, threading.Event(), threading.Event(), False
        self.next_key = max(items.state()) + 1

    def step(self) -> None:
        self.done.clear()
        self.go.set()
        assert self.done.wait(30), "the writer did not finish its step"

    def run(self) -> None:
        while self.go.wait() and not self.stop:
            self.go.clear()
            for _ in range(2):
                self.items.insert(self.next_key)
                self.next_key += 1
            for key in (self.next_key * 7 % ROWS + 1, self.next_key * 13 % ROWS + 1):
                self.items.update(key)  # old rows jump ahead of the walk
            self.done.set()


@pytest.mark.parametrize("name", MARK)
def test_a_client_walking_pages_incrementally_gets_every_change_exactly_once(inc_app, items, name):
    """The plain-HTTP protocol: follow Link rel=next to the end, keep the last page's
    watermark, come back with updated_since=<it>. Rows change between every fetch."""
    writer = Writer(items)
    writer.start()
    seen: dict[int, tuple[str, int]] = {}
    versions: list[tuple[int, int]] = []
    watermark, runs = "", 0
    with serve_app(inc_app) as server:
        for runs in range(1, 40):
            url = f"{server.url}/v1/{name}?limit=25&updated_since={watermark}"
            got = 0
            while url:
                response = requests.get(url, timeout=10)
                assert response.status_code == 200, response.text
                page = response.json()
                for r in page["data"]:
                    versions.append((r["id"], r["seq"]))
                    seen[r["id"]] = (r["name"], r["seq"])
                got += len(page["data"])
                watermark = page["watermark"] or watermark
                url = response.links.get("next", {}).get("url")
                if runs <= 3:
                    writer.step()  # changes land between page fetches
            if runs > 3 and got == 0:
                break
    writer.stop = True
    writer.go.set()
    assert runs < 39, "the pulls never caught up"
    assert len(versions) == len(set(versions)), "a row version came twice"
    assert seen == items.state()  # every row, in its latest version
