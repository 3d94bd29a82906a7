"""The injection corpus against the write routes: SQL in every field of a body (stored as a
plain value, or refused where the field's type takes no such text), oversized values, wrong
types, nesting where none is declared, SQL in the key of a PATCH or DELETE.  Nothing but the
one row asked for is ever written, and every other table keeps its rows."""

from __future__ import annotations

import pytest

from helpers.backends import Backend, Quoter, make_app
from helpers.writes import ORDER, ORDERS_DDL, WRITER, orders_config

SQL = [
    "1' OR '1'='1",
    "1; DROP TABLE LGCY_ORD; --",
    'x\'); DELETE FROM "LGCY_ORD"; --',
    "1 UNION SELECT ORD_NO FROM LGCY_ORD",
    "`; DROP TABLE `LGCY_ORD`",
]


@pytest.fixture()
def client(backend: Backend):
    backend.drop("TABLE", "LGCY_ORD")
    backend.execute(ORDERS_DDL.format(q=Quoter(backend.quote), **backend.types))
    app = make_app(orders_config(backend.connection))
    client = app.test_client()
    assert client.post("/v1/orders", json=ORDER, headers=WRITER).status_code == 201
    yield client, backend
    app.extensions["legacy_bridge"].close()


def _count(b: Backend) -> int:
    return int(b.execute(f"SELECT COUNT(*) FROM {b.q('LGCY_ORD')}")[0][0])


@pytest.mark.parametrize("payload", SQL)
def test_sql_in_a_text_field_is_stored_as_the_text_it_is(client, payload):
    client, backend = client
    answer = client.post("/v1/orders", json=dict(ORDER, note=payload[:20]), headers=WRITER)
    assert answer.status_code == 201
    assert answer.get_json()["note"] == payload[:20]
    assert _count(backend) == 2


@pytest.mark.parametrize("payload", SQL[:3])
@pytest.mark.parametrize("field", ["customer", "ordered_on", "rush", "amount", "number"])
def test_sql_in_a_typed_or_patterned_field_is_a_400(client, field, payload):
    client, backend = client
    body = dict(ORDER, **{field: payload})
    answer = client.post("/v1/orders", json=body, headers=WRITER)
    assert answer.status_code == 400, answer.get_json()
    assert answer.mimetype == "application/problem+json"
    assert _count(backend) == 1


@pytest.mark.parametrize(
    "body",
    [
        dict(ORDER, note="x" * 10_000),
        dict(ORDER, amount="1" * 40),
        dict(ORDER, customer=["A"]),
        dict(ORDER, customer={"nested": "object"}),
        dict(ORDER, rush="maybe"),
        dict(ORDER, unknown="field"),
        [dict(ORDER)] * 2 + ["not an object"],
        "a string",
        [],
    ],
)
def test_oversized_wrong_typed_and_nested_values_are_400s_and_nothing_is_written(client, body):
    client, backend = client
    answer = client.post("/v1/orders", json=body, headers=WRITER)
    assert answer.status_code == 400, answer.get_json()
    assert _count(backend) == 1


@pytest.mark.parametrize("payload", SQL)
def test_sql_in_the_key_of_a_patch_or_delete_is_a_400(client, payload):
    client, backend = client
    assert client.patch(f"/v1/orders/{payload}", json={"note": "x"}, headers=WRITER).status_code in (400, 404)
    assert client.delete(f"/v1/orders/{payload}", headers=WRITER).status_code in (400, 404)
    assert _count(backend) == 1
    assert client.get("/v1/orders/1", headers=WRITER).get_json()["note"] == "first"
