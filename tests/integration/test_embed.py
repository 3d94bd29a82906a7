"""Master-detail embedding on every ODBC backend: ``?embed=lines`` returns each order with its
lines, read with one extra query per page (never one per row), in the same keyset page; key
lookups and exports embed too; a filter on a line's field selects orders having such a line."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from helpers.backends import make_app
from helpers.embedding import ORDERS, create_embed_tables, embed_config, line_rows, order_record
from legacy_bridge import resources as resources_module
from legacy_bridge.drivers.odbc.driver import OdbcDriver
from legacy_bridge.query.model import Filter, ListQuery


@pytest.fixture(scope="module")
def embed_app(backend):
    create_embed_tables(backend)
    app = make_app(embed_config(backend.connection))
    yield app
    app.extensions["legacy_bridge"].close()


@pytest.fixture
def client(embed_app):
    return embed_app.test_client()


@pytest.fixture
def statements(monkeypatch) -> list[str]:
    """The SQL statements the ODBC driver executes (at its execute boundary), in order."""
    seen: list[str] = []
    execute = OdbcDriver._execute

    def counted(self, cur, sql, params):
        seen.append(sql)
        return execute(self, cur, sql, params)

    monkeypatch.setattr(OdbcDriver, "_execute", counted)
    return seen


def _walk(client, path: str, query: str) -> Iterator[dict]:
    """The pages of ``path?query``, following ``next`` with the same query."""
    url: str | None = f"{path}?{query}"
    while url:
        body = client.get(url).get_json()
        yield body
        url = body["next"] and f"{path}?{query}&cursor={body['next']}"


def test_orders_carry_no_lines_unless_asked(client):
    page = client.get("/v1/orders?limit=3").get_json()
    assert page["data"] == [order_record(n, lines=False) for n in (1, 2, 3)]


def test_every_page_of_a_walk_embeds_each_orders_lines_in_line_order(client):
    records = [r for body in _walk(client, "/v1/orders", "embed=lines&limit=7") for r in body["data"]]
    assert records == [order_record(n) for n in range(1, ORDERS + 1)]
    assert records[5]["lines"] == []  # order 6 has none: an empty list, not a missing field


def test_naming_the_embedded_field_in_fields_embeds_it(client):
    page = client.get("/v1/orders?fields=order_no,lines&limit=2").get_json()
    assert page["data"] == [{"order_no": n, "lines": order_record(n)["lines"]} for n in (1, 2)]


def test_the_join_column_is_read_even_when_fields_leave_it_out(client):
    page = client.get("/v1/orders?fields=customer,lines&order_no[gte]=4&limit=2").get_json()
    assert page["data"] == [
        {"customer": order_record(n)["customer"], "lines": order_record(n)["lines"]} for n in (4, 5)
    ]


def test_a_default_embed_comes_without_asking_and_an_empty_embed_leaves_it_out(client):
    with_notes = client.get("/v1/order-lines?order_no=2&sort=line_no").get_json()["data"]
    assert with_notes == [
        {"order_no": 2, "line_no": 1, "sku": "S002", "notes": [
            {"text": "note 2 of 2/1", "note_no": 2}, {"text": "note 1 of 2/1", "note_no": 1}]},
        {"order_no": 2, "line_no": 2, "sku": "S004", "notes": []},
    ]  # fmt: skip
    without = client.get("/v1/order-lines?order_no=2&embed=").get_json()["data"]
    assert [sorted(r) for r in without] == [["line_no", "order_no", "sku"]] * 2


def test_a_composite_join_keeps_only_each_lines_own_notes(client):
    # ORD_NO IN (...) AND LN_NO IN (...) also selects the notes of (4, 2) for the page of (2, 1)
    # and (4, 1) ... only the exact pairs may be kept
    page = client.get("/v1/order-lines?order_no[in]=2,4&limit=50").get_json()["data"]
    notes = {(r["order_no"], r["line_no"]): [n["note_no"] for n in r["notes"]] for r in page}
    assert notes == {(2, 1): [2, 1], (2, 2): [], (4, 1): [], (4, 2): [2, 1], (4, 3): [], (4, 4): []}


def test_a_key_lookup_embeds_too(client):
    assert client.get("/v1/orders/5?embed=lines").get_json() == order_record(5)
    assert client.get("/v1/orders/5").get_json() == order_record(5, lines=False)
    line = client.get("/v1/order-lines/4/2").get_json()
    assert [n["text"] for n in line["notes"]] == ["note 2 of 4/2", "note 1 of 4/2"]


def test_a_filter_on_a_lines_field_selects_orders_having_such_a_line(backend, embed_app):
    resource = embed_app.extensions["legacy_bridge"].resources["orders"]
    wanted = [n for n in range(1, ORDERS + 1) if any(sku == "S003" for _, _, sku, _ in line_rows(n))]
    sku = Filter("lines.sku", "eq", "S003", "lines.sku", "S003")
    page = resource.page(ListQuery(fields=["order_no", "lines"], filters=[sku], limit=100))
    assert [r["order_no"] for r in page.records] == wanted
    # the orders keep all their lines, not only the matching ones
    assert page.records[0]["lines"] == order_record(wanted[0])["lines"]
    qty = Filter("lines.qty", "gte", 9, "lines.qty[gte]", "9")
    both = resource.page(ListQuery(fields=["order_no"], filters=[sku, qty], limit=100))
    assert [r["order_no"] for r in both.records] == [
        n for n in wanted if any((q or 0) >= 9 for *_, q in line_rows(n))
    ]  # each filter on its own: a line with S003 and a line with qty >= 9, not necessarily one


def test_a_lines_filter_in_the_query_string_selects_orders_having_such_a_line(client, statements):
    wanted = [n for n in range(1, ORDERS + 1) if any(sku == "S003" for _, _, sku, _ in line_rows(n))]
    body = client.get("/v1/orders?lines.sku=S003&embed=lines&limit=4").get_json()
    assert body["data"] == [order_record(n) for n in wanted[:4]]
    assert "EXISTS (SELECT 1 FROM" in statements[0]  # applied by the database, not here
    pages = list(_walk(client, "/v1/orders", "lines.sku[in]=S003,S005&lines.qty[isnull]=true&limit=2"))
    expected = [
        n
        for n in range(1, ORDERS + 1)
        if any(sku in ("S003", "S005") for _, _, sku, _ in line_rows(n)) and any(q is None for *_, q in line_rows(n))
    ]
    assert [r["order_no"] for p in pages for r in p["data"]] == expected and len(pages) > 1


def test_a_csv_export_refuses_embedded_lines_unless_they_are_left_out(client):
    refused = client.get("/v1/orders/export?format=csv&embed=lines")
    assert refused.status_code == 400 and "lines" in refused.get_json()["detail"]
    by_default = client.get("/v1/order-lines/export?format=csv")  # notes are embedded by default
    assert by_default.status_code == 400 and "notes" in by_default.get_json()["detail"]
    for query in ("embed=", "fields=order_no,line_no"):
        rows = client.get(f"/v1/order-lines/export?format=csv&{query}").data.decode().split("\r\n")
        assert rows[0].startswith("order_no,line_no") and len(rows) > 100


def test_the_document_has_the_embed_parameter_and_the_embedded_schema(client):
    document = client.get("/openapi.json").get_json()
    lines = document["components"]["schemas"]["Orders"]["properties"]["lines"]
    assert lines["type"] == "array" and lines.get("items") or lines.get("anyOf"), lines
    for path in ("/v1/orders", "/v1/orders/{order_no}"):
        params = {p["name"]: p for p in document["paths"][path]["get"]["parameters"]}
        assert "embed" in params and "lines" in params["embed"]["description"]
    names = {p["name"] for p in document["paths"]["/v1/orders"]["get"]["parameters"]}
    assert {"lines.sku", "lines.qty[gte]", "embed"} <= names


def test_an_unknown_embed_is_a_400_naming_the_parameter(client):
    response = client.get("/v1/orders?embed=notes")
    assert response.status_code == 400
    problem = response.get_json()
    assert problem["parameter"] == "embed" and "lines" in problem["detail"]
    assert client.get("/v1/orders/1?embed=bogus").status_code == 400


def test_a_page_costs_one_more_statement_with_its_children_never_one_per_row(client, statements):
    client.get("/v1/orders?embed=lines&limit=20")  # warm: the child table's column types
    statements.clear()
    plain = client.get("/v1/orders?limit=20")
    assert plain.status_code == 200 and len(statements) == 1
    statements.clear()
    body = client.get("/v1/orders?embed=lines&limit=20").get_json()
    assert len(body["data"]) == 20 and len(statements) == 2
    # a page in key order: its children by the range of its keys (2 parameters, not 20)
    assert "LB_EMB_LN" in statements[1] and ">= ?" in statements[1] and " IN (" not in statements[1]
    statements.clear()
    sparse = client.get("/v1/orders?customer=C03&embed=lines&limit=5").get_json()["data"]
    assert [r["order_no"] for r in sparse] == [3, 10, 17, 24, 31] and len(statements) == 2
    assert " IN (?, ?, ?, ?, ?)" in statements[1]  # keys 7 apart: by their list
    assert sparse == [order_record(n) for n in (3, 10, 17, 24, 31)]
    statements.clear()
    client.get("/v1/orders/7?embed=lines")
    assert len(statements) == 2


def test_an_export_streams_every_order_with_its_lines_in_batches(client, statements, monkeypatch):
    monkeypatch.setattr(resources_module, "MAX_PARENTS", 7)  # several batches of parents
    client.get("/v1/orders?embed=lines&limit=1")
    statements.clear()
    response = client.get("/v1/orders/export?format=ndjson&embed=lines")
    assert response.status_code == 200
    records = [json.loads(line) for line in response.data.decode().splitlines()]
    assert records == [order_record(n) for n in range(1, ORDERS + 1)]
    batches = -(-ORDERS // 7)  # the last batch is short: no read after it
    assert len(statements) == 2 * batches


def test_a_filtered_export_with_embedded_lines(client, monkeypatch):
    monkeypatch.setattr(resources_module, "MAX_PARENTS", 4)
    response = client.get("/v1/orders/export?format=ndjson&embed=lines&customer=C03")
    records = [json.loads(line) for line in response.data.decode().splitlines()]
    assert records == [order_record(n) for n in range(1, ORDERS + 1) if n % 7 == 3]


def test_a_walk_while_orders_are_inserted_sees_each_order_once_with_all_its_lines(backend, client):
    """Orders (with their lines, in one transaction) are inserted behind and ahead of the walk;
    every order that existed before it is seen exactly once, with its complete lines."""
    base = 10_000
    stop = threading.Event()

    def insert() -> None:
        conn = backend.connect()
        conn.autocommit = False
        try:
            n = 0
            while not stop.is_set() and n < 60:
                n += 1
                key = base + n if n % 2 else -n  # ahead of and behind the walk
                cur = conn.cursor()
                cur.execute(f"INSERT INTO {backend.q('LB_EMB_ORD')} VALUES (?, ?)", key, "NEW")
                for row in [(key, ln, f"N{ln:03d}", ln) for ln in (3, 1, 2)]:
                    cur.execute(f"INSERT INTO {backend.q('LB_EMB_LN')} VALUES (?, ?, ?, ?)", *row)
                conn.commit()
        finally:
            conn.close()

    writer = threading.Thread(target=insert)
    writer.start()
    seen: list[dict[str, Any]] = []
    try:
        for body in _walk(client, "/v1/orders", "embed=lines&limit=3"):
            seen += body["data"]
    finally:
        stop.set()
        writer.join()
    keys = [r["order_no"] for r in seen]
    assert any(r["customer"] == "NEW" for r in seen), "no insert landed ahead of the walk: nothing was proved"
    assert len(keys) == len(set(keys)), "an order came twice"
    assert set(range(1, ORDERS + 1)) <= set(keys), "an order that existed before the walk was missed"
    assert keys == sorted(keys)
    for record in seen:
        if record["customer"] == "NEW":
            assert [ln["line_no"] for ln in record["lines"]] == [1, 2, 3]
        else:
            assert record == order_record(record["order_no"])
    with backend.connect() as conn:  # the next run starts from the fixture's rows again
        for table, column in (("LB_EMB_LN", "ORD_NO"), ("LB_EMB_ORD", "ORDER_NO")):
            conn.cursor().execute(
                f"DELETE FROM {backend.q(table)} WHERE {backend.q(column)} NOT BETWEEN 1 AND ?", ORDERS
            )
