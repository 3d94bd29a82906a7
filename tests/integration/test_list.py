"""GET /v1/<resource>: limits, every filter operator, sort, field selection, next links.

Every expectation is derived from the deterministic legacy data (``customer_row``), so a
filter or sort that is pushed down wrongly into any of the three backends shows up as a
different list of records.
"""

from __future__ import annotations

import re
from decimal import Decimal
from urllib.parse import urlsplit

import pytest

from helpers.backends import ROWS, customer_record, customer_row

ALL = range(1, ROWS + 1)
LEGACY_POS = {"id": 0, "name": 1, "state": 2, "opened_on": 3, "credit_limit": 7, "updated_at": 8}
LINK = re.compile(r'^<([^>]+)>; rel="next"$')


def records(ns) -> list[dict]:
    return [customer_record(n) for n in ns]


def matching(pred) -> list[dict]:
    return [r for r in records(ALL) if pred(r)]


def expected_order(sort: str) -> list[int]:
    """Customer numbers in ``sort`` order, the key (ascending) breaking ties, in legacy values."""
    ns = list(ALL)
    for part in reversed(sort.split(",")):
        pos = LEGACY_POS[part.lstrip("-")]
        ns.sort(key=lambda n: customer_row(n)[pos], reverse=part.startswith("-"))
    return ns


def next_url(response) -> str | None:
    """The path and query of the ``Link: <...>; rel="next"`` header, or None."""
    header = response.headers.get("Link")
    if header is None:
        return None
    url = urlsplit(LINK.match(header).group(1))
    return f"{url.path}?{url.query}"


def _dec(r: dict) -> Decimal:
    return Decimal(r["credit_limit"])


def _dated(r: dict) -> bool:
    return r["opened_on"] is not None


FILTERS = [
    ("state=TX", lambda r: r["state"] == "TX"),
    ("state[eq]=MA", lambda r: r["state"] == "MA"),
    ("state[ne]=MA", lambda r: r["state"] != "MA"),
    ("state[in]=MA,NY", lambda r: r["state"] in ("MA", "NY")),
    ("status=closed", lambda r: r["status"] == "closed"),
    ("status[ne]=active", lambda r: r["status"] != "active"),
    ("status[in]=active,on_hold", lambda r: r["status"] in ("active", "on_hold")),
    ("active=true", lambda r: r["active"] is True),
    ("active=false", lambda r: r["active"] is False),
    ("credit_limit=312.50", lambda r: _dec(r) == Decimal("312.50")),
    ("credit_limit[lt]=100.00", lambda r: _dec(r) < 100),
    ("credit_limit[lte]=93.75", lambda r: _dec(r) <= Decimal("93.75")),
    ("credit_limit[gt]=7700", lambda r: _dec(r) > 7700),
    ("credit_limit[gte]=7750.00", lambda r: _dec(r) >= 7750),
    ("credit_limit[in]=31.25,62.5,99999", lambda r: _dec(r) in (Decimal("31.25"), Decimal("62.5"))),
    ("opened_on=1991-02-02", lambda r: r["opened_on"] == "1991-02-02"),
    ("opened_on[ne]=1991-02-02", lambda r: _dated(r) and r["opened_on"] != "1991-02-02"),
    ("opened_on[lt]=1995-01-01", lambda r: _dated(r) and r["opened_on"] < "1995-01-01"),
    ("opened_on[lte]=1995-06-07", lambda r: _dated(r) and r["opened_on"] <= "1995-06-07"),
    ("opened_on[gt]=2018-06-30", lambda r: _dated(r) and r["opened_on"] > "2018-06-30"),
    ("opened_on[gte]=2005-01-01", lambda r: _dated(r) and r["opened_on"] >= "2005-01-01"),
    ("opened_on[in]=1991-02-02,1992-03-03", lambda r: r["opened_on"] in ("1991-02-02", "1992-03-03")),
    ("opened_on[isnull]=true", lambda r: r["opened_on"] is None),
    ("opened_on[isnull]=false", lambda r: r["opened_on"] is not None),
    ("name=CUSTOMER 0042", lambda r: r["name"] == "CUSTOMER 0042"),
    ("name[in]=CUSTOMER 0001,CUSTOMER 0250", lambda r: r["name"] in ("CUSTOMER 0001", "CUSTOMER 0250")),
    ("name[startswith]=CUSTOMER 02", lambda r: r["name"].startswith("CUSTOMER 02")),
    ("name[contains]=12", lambda r: "12" in r["name"]),
    # LIKE wildcards in a value are data: no name holds a literal '_' or '%'
    ("name[contains]=_", lambda r: False),
    ("name[contains]=%", lambda r: False),
    ("name[startswith]=CUSTOMER 00_", lambda r: False),
    ("id[gt]=240", lambda r: r["id"] > 240),
    (
        "state=TX&active=true&opened_on[gte]=2000-01-01",
        lambda r: r["state"] == "TX" and r["active"] and _dated(r) and r["opened_on"] >= "2000-01-01",
    ),
    (
        "opened_on[gte]=2000-01-01&opened_on[lt]=2010-01-01",
        lambda r: _dated(r) and "2000-01-01" <= r["opened_on"] < "2010-01-01",
    ),
]


def test_default_page_is_100_records_in_key_order(client):
    response = client.get("/v1/customers")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"data", "next"}
    assert body["data"] == records(range(1, 101))
    assert isinstance(body["next"], str) and body["next"]


def test_limit_up_to_the_configured_maximum_returns_the_whole_table(client):
    body = client.get("/v1/customers?limit=500").get_json()
    assert body == {"data": records(ALL), "next": None}


@pytest.mark.parametrize("query, pred", FILTERS, ids=[q for q, _ in FILTERS])
def test_filter_returns_exactly_the_matching_records(client, query, pred):
    response = client.get(f"/v1/customers?{query}&limit=500")
    assert response.status_code == 200, response.get_data(as_text=True)
    expected = matching(pred)
    assert response.get_json() == {"data": expected, "next": None}
    if query.startswith(("state=", "opened_on[gte]", "credit_limit[gt]")):
        assert expected, "the data must hold matches, or the test proves nothing"


def _legacy_ids(backend, where: str, *params) -> list[int]:
    q = backend.q
    rows = backend.execute(
        f"SELECT {q('CUST_NO')} FROM {q('LGCY_CUST')} WHERE {where} ORDER BY {q('CUST_NO')}", *params
    )
    return [int(r[0]) for r in rows]


def _api_ids(client, query: str) -> list[int]:
    return [r["id"] for r in client.get(f"/v1/customers?{query}&fields=id&limit=500").get_json()["data"]]


def test_date_filter_is_pushed_down_as_the_yyyymmdd_integer_without_sentinels(client, backend):
    col = backend.q("OPEN_DT")
    assert _api_ids(client, "opened_on[gte]=2005-01-01") == _legacy_ids(backend, f"{col} >= ?", 20050101)
    below = _legacy_ids(backend, f"{col} < ?", 20050101)
    sentinels = _legacy_ids(backend, f"{col} = 0")
    assert sentinels and set(sentinels) <= set(below)  # 0 compares below any real date ...
    assert _api_ids(client, "opened_on[lt]=2005-01-01") == [n for n in below if n not in sentinels]


def test_isnull_true_returns_the_rows_holding_the_zero_sentinel(client, backend):
    sentinels = _legacy_ids(backend, f"{backend.q('OPEN_DT')} = 0")
    assert len(sentinels) == ROWS // 10
    assert _api_ids(client, "opened_on[isnull]=true") == sentinels
    assert set(_api_ids(client, "opened_on[isnull]=false")) == set(ALL) - set(sentinels)


SORTS = [
    "state",
    "-state",
    "opened_on",
    "-opened_on",
    "-credit_limit",
    "name",
    "-name",
    "-updated_at",
    "state,-id",
    "state,-opened_on",
]


@pytest.mark.parametrize("sort", SORTS)
def test_sort_orders_by_the_field_with_the_key_breaking_ties(client, sort):
    body = client.get(f"/v1/customers?sort={sort}&limit=500&fields=id").get_json()
    assert [r["id"] for r in body["data"]] == expected_order(sort)


def test_sort_and_filter_combine(client):
    body = client.get("/v1/customers?state=NY&sort=-opened_on&limit=500").get_json()
    ny = [n for n in expected_order("-opened_on") if customer_row(n)[2] == "NY"]
    assert body["data"] == records(ny)


@pytest.mark.parametrize("fields", ["id,name", "name", "opened_on,id", "credit_limit,status,active"])
def test_fields_selects_exactly_those_keys_in_each_record(client, fields):
    names = fields.split(",")
    body = client.get(f"/v1/customers?fields={fields}&sort=-credit_limit&limit=5").get_json()
    expected = [{k: customer_record(n)[k] for k in names} for n in expected_order("-credit_limit")[:5]]
    assert body["data"] == expected
    assert all(list(r) == names for r in body["data"])


def test_link_header_and_body_next_lead_to_the_following_page(client):
    first = client.get("/v1/customers?limit=3")
    cursor = first.get_json()["next"]
    url = next_url(first)
    assert url.startswith("/v1/customers?") and f"cursor={cursor}" in url and "limit=3" in url
    second = client.get(url)
    assert second.get_json()["data"] == records([4, 5, 6])
    by_body = client.get(f"/v1/customers?limit=3&cursor={cursor}").get_json()
    assert by_body == second.get_json()


def test_link_keeps_filters_sort_and_fields(client):
    first = client.get("/v1/customers?state=TX&sort=-credit_limit&fields=id,credit_limit&limit=4")
    second = client.get(next_url(first)).get_json()
    tx = [n for n in expected_order("-credit_limit") if customer_row(n)[2] == "TX"]
    assert [r["id"] for r in first.get_json()["data"] + second["data"]] == tx[:8]
    assert all(set(r) == {"id", "credit_limit"} for r in second["data"])


def test_last_page_has_no_next_and_no_link(client):
    response = client.get("/v1/customers?id[gt]=245&limit=5")
    assert response.get_json() == {"data": records(range(246, 251)), "next": None}
    assert "Link" not in response.headers
    empty = client.get("/v1/customers?id[gt]=250")
    assert empty.get_json() == {"data": [], "next": None} and "Link" not in empty.headers


def test_view_resource_lists_the_active_customers_only(client):
    body = client.get("/v1/active-customers?limit=500").get_json()
    expected = [
        {"id": n, "name": customer_record(n)["name"], "state": customer_record(n)["state"]}
        for n in ALL
        if customer_row(n)[5] == "Y"
    ]
    assert body == {"data": expected, "next": None}
    tx = client.get("/v1/active-customers?state=TX&limit=500").get_json()["data"]
    assert tx == [r for r in expected if r["state"] == "TX"]


def _line(order_no: int, line_no: int) -> dict:
    return {
        "order_no": order_no,
        "line_no": line_no,
        "item": f"ITEM-{(order_no * line_no) % 97:03d}",
        "quantity": line_no * 2,
    }


def test_composite_key_resource_lists_in_key_order(client):
    body = client.get("/v1/order-lines?limit=500").get_json()
    assert body == {"data": [_line(o, ln) for o in range(1, 41) for ln in range(1, 6)], "next": None}


def test_composite_key_resource_filters_and_sorts(client):
    body = client.get("/v1/order-lines?quantity[gte]=8&sort=-quantity&limit=500").get_json()
    expected = [_line(o, ln) for ln in (5, 4) for o in range(1, 41)]
    assert body["data"] == expected
    items = client.get("/v1/order-lines?item[startswith]=ITEM-00&limit=500").get_json()["data"]
    assert items == [_line(o, ln) for o in range(1, 41) for ln in range(1, 6) if (o * ln) % 97 < 10]
