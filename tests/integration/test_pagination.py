"""Keyset pagination: whole-table walks, concurrent inserts, cursors bound to their query."""

from __future__ import annotations

import os
import re
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest

from helpers.backends import CUST_DDL, ROWS, Quoter, crm_config, customer_row, make_app

LINK = re.compile(r'^<([^>]+)>; rel="next"$')
LEGACY_POS = {"id": 0, "name": 1, "state": 2, "opened_on": 3, "credit_limit": 7}


def walk(client, url: str, pages: list | None = None) -> list[dict]:
    """Every record of a list, following ``Link: rel="next"`` page by page.

    Each body's ``next`` must be the cursor the Link carries; ``pages`` collects page sizes.
    """
    seen: list[dict] = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.get_data(as_text=True)
        body = response.get_json()
        seen += body["data"]
        if pages is not None:
            pages.append(len(body["data"]))
        header = response.headers.get("Link")
        assert (header is None) == (body["next"] is None)
        if header is None:
            break
        link = urlsplit(LINK.match(header).group(1))
        assert f"cursor={body['next']}" in link.query
        url = f"{link.path}?{link.query}"
    return seen


def ordered(ns, sort: str) -> list[int]:
    """``ns`` in ``sort`` order (legacy values), the key ascending as tie-breaker."""
    ns = sorted(ns)
    for part in reversed(sort.split(",")):
        pos = LEGACY_POS[part.lstrip("-")]
        ns.sort(key=lambda n: customer_row(n)[pos], reverse=part.startswith("-"))
    return ns


def _tx_since_2000(n: int) -> bool:
    row = customer_row(n)
    return row[2] in ("MA", "TX") and row[3] >= 20000101


WALKS = [
    ("", "id", lambda n: True),
    ("&sort=-opened_on", "-opened_on", lambda n: True),
    ("&sort=opened_on", "opened_on", lambda n: True),
    ("&sort=credit_limit", "credit_limit", lambda n: True),
    ("&sort=name", "name", lambda n: True),
    ("&sort=-state", "-state", lambda n: True),
    ("&sort=state,-opened_on", "state,-opened_on", lambda n: True),
    ("&state[in]=MA,TX&opened_on[gte]=2000-01-01", "id", _tx_since_2000),
    ("&state[in]=MA,TX&opened_on[gte]=2000-01-01&sort=-opened_on", "-opened_on", _tx_since_2000),
    ("&active=true&sort=-state", "-state", lambda n: customer_row(n)[5] == "Y"),
    ("&opened_on[isnull]=true&sort=-credit_limit", "-credit_limit", lambda n: customer_row(n)[3] == 0),
]


@pytest.mark.parametrize("query, sort, pred", WALKS, ids=[w[0] or "key order" for w in WALKS])
def test_walk_with_limit_7_gives_every_row_once_in_order(client, query, sort, pred):
    pages: list[int] = []
    ids = [r["id"] for r in walk(client, f"/v1/customers?limit=7&fields=id{query}", pages)]
    expected = ordered([n for n in range(1, ROWS + 1) if pred(n)], sort)
    assert len(expected) > 14, "the walk must span several pages"
    assert ids == expected
    assert len(set(ids)) == len(ids)
    assert all(size == 7 for size in pages[:-1]) and 1 <= pages[-1] <= 7


def test_walk_of_a_composite_key_resource(client):
    rows = walk(client, "/v1/order-lines?limit=7")
    expected = [(o, ln) for o in range(1, 41) for ln in range(1, 6)]
    assert [(r["order_no"], r["line_no"]) for r in rows] == expected


def test_walk_of_a_composite_key_resource_under_a_sort(client):
    rows = walk(client, "/v1/order-lines?limit=7&sort=-quantity")
    assert [(r["order_no"], r["line_no"]) for r in rows] == [(o, ln) for ln in range(5, 0, -1) for o in range(1, 41)]


def test_walk_of_a_view(client):
    rows = walk(client, "/v1/active-customers?limit=7&fields=id")
    assert [r["id"] for r in rows] == [n for n in range(1, ROWS + 1) if customer_row(n)[5] == "Y"]


def test_a_cursor_may_continue_with_another_limit_or_fields(client):
    first = client.get("/v1/customers?limit=7&sort=-opened_on").get_json()
    rest = client.get(f"/v1/customers?limit=3&fields=id&sort=-opened_on&cursor={first['next']}").get_json()
    assert [r["id"] for r in rest["data"]] == ordered(range(1, ROWS + 1), "-opened_on")[7:10]


# -- concurrent inserts ----------------------------------------------------------------


@pytest.fixture
def walk_app(backend):
    """A client of an app whose ``walk-customers`` reads a private copy of LGCY_CUST (even
    customers only), and ``insert(n)`` to copy customer ``n`` into it mid-walk."""
    table = f"LB_WALK_{os.getpid()}"
    quoter = Quoter(backend.quote)
    quoter["LGCY_CUST"] = backend.q(table)
    backend.drop("TABLE", table)
    backend.execute(CUST_DDL.format(q=quoter, **backend.types))
    q = backend.q
    backend.execute(f"INSERT INTO {q(table)} SELECT * FROM {q('LGCY_CUST')} WHERE {q('CUST_NO')} % 2 = 0")
    config = crm_config(backend.connection)
    config["resources"]["walk-customers"] = {**config["resources"]["customers"], "table": table}
    app = make_app(config)

    def insert(n: int) -> None:
        backend.execute(f"INSERT INTO {q(table)} SELECT * FROM {q('LGCY_CUST')} WHERE {q('CUST_NO')} = ?", n)

    yield SimpleNamespace(client=app.test_client(), insert=insert)
    app.extensions["legacy_bridge"].close()
    backend.drop("TABLE", table)


@pytest.mark.parametrize("sort", ["id", "-opened_on", "credit_limit"])
def test_rows_inserted_during_a_walk_are_seen_once_if_ahead_and_never_if_behind(walk_app, sort):
    client = walk_app.client
    position = {n: i for i, n in enumerate(ordered(range(1, ROWS + 1), sort))}
    url = "/v1/walk-customers?limit=7&fields=id" + ("" if sort == "id" else f"&sort={sort}")
    odd = [n for n in range(1, ROWS + 1) if n % 2]
    seen: list[int] = []
    ahead, behind = set(), set()
    while url:
        response = client.get(url)
        body = response.get_json()
        seen += [r["id"] for r in body["data"]]
        if not body["next"]:
            break
        # between page fetches: one new row behind the cursor, one far ahead, one just ahead
        last = position[seen[-1]]
        for pick in (
            lambda n, last=last: position[n] < last,
            lambda n, last=last: position[n] > last + 20,
            lambda n, last=last: last < position[n] <= last + 20,
        ):
            candidates = [n for n in odd if pick(n)]
            if candidates:
                n = candidates[len(candidates) // 2]
                odd.remove(n)
                walk_app.insert(n)
                (behind if position[n] < last else ahead).add(n)
        link = urlsplit(LINK.match(response.headers["Link"]).group(1))
        url = f"{link.path}?{link.query}"
    assert behind and ahead, "the walk must have inserted rows on both sides of the cursor"
    assert len(seen) == len(set(seen)), "no row is returned twice"
    evens = {n for n in range(2, ROWS + 1, 2)}
    assert set(seen) == evens | ahead  # no gap; inserted-ahead rows seen, behind rows not
    assert not set(seen) & behind
    assert seen == sorted(seen, key=position.__getitem__)


# -- cursors belong to one query -------------------------------------------------------


def _cursor(client, url: str) -> str:
    cursor = client.get(url).get_json()["next"]
    assert cursor
    return cursor


def _assert_cursor_refused(response) -> None:
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["type"] == "urn:legacy-bridge:problem:invalid-cursor"
    assert body["parameter"] == "cursor" and body["status"] == 400


@pytest.mark.parametrize(
    "first, reuse",
    [
        ("state=TX", "state=NY"),
        ("state=TX", ""),
        ("", "state=TX"),
        ("opened_on[gte]=2000-01-01", "opened_on[gt]=2000-01-01"),
        ("sort=-opened_on", "sort=opened_on"),
        ("sort=-opened_on", ""),
        ("", "sort=name"),
        ("sort=state,-opened_on", "sort=state"),
    ],
)
def test_a_cursor_reused_with_other_filters_or_sort_is_refused(client, first, reuse):
    cursor = _cursor(client, f"/v1/customers?limit=5&{first}")
    _assert_cursor_refused(client.get(f"/v1/customers?limit=5&{reuse}&cursor={cursor}"))


def test_a_cursor_from_another_resource_is_refused(client):
    # both resources are keyed on an integer id, so only the cursor's binding tells them apart
    cursor = _cursor(client, "/v1/active-customers?limit=5")
    _assert_cursor_refused(client.get(f"/v1/customers?limit=5&cursor={cursor}"))
    lines = _cursor(client, "/v1/order-lines?limit=5")
    _assert_cursor_refused(client.get(f"/v1/customers?limit=5&cursor={lines}"))
