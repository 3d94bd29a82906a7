"""Bad input is a 400 ``application/problem+json`` naming the parameter, never a 500.

SQL fragments in values are data (bound parameters: they match nothing); in names they
are refused before any SQL is written.  After each, the legacy table still holds every
row.  No response carries a stack trace, SQL or the connection string.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from helpers.backends import ROWS, crm_config, make_app

PROBLEM = "urn:legacy-bridge:problem:"

CASES = [
    # (query pairs, offending parameter, problem slug, a word the detail must hold)
    ([("nope", "1")], "nope", "unknown-field", "nope"),
    ([("nope[gt]", "1")], "nope[gt]", "unknown-field", "nope"),
    ([("fields", "id,nope")], "fields", "unknown-field", "nope"),
    ([("fields", "CUST_NO")], "fields", "unknown-field", "CUST_NO"),
    ([("sort", "nope")], "sort", "unknown-field", "nope"),
    ([("fields", "")], "fields", "invalid-parameter", "field"),
    ([("updated_at", "2020-01-01T00:00:00")], "updated_at", "field-not-filterable", "updated_at"),
    ([("opened_at[gt]", "10:00:00")], "opened_at[gt]", "field-not-filterable", "opened_at"),
    ([("sort", "opened_at")], "sort", "field-not-sortable", "opened_at"),
    ([("id", str(1 << 63))], "id", "invalid-parameter", "out of range"),
    ([("id[lt]", "-" + "9" * 30)], "id[lt]", "invalid-parameter", "out of range"),
    ([("id[in]", f"1,{1 << 64}")], "id[in]", "invalid-parameter", "out of range"),
    ([("id[in]", "")], "id[in]", "invalid-parameter", "an empty list"),
    ([("state[in]", "")], "state[in]", "invalid-parameter", "an empty list"),
    ([("opened_on[in]", "")], "opened_on[in]", "invalid-parameter", "an empty list"),
    ([("status[in]", "")], "status[in]", "invalid-parameter", "an empty list"),
    ([("name[like]", "x")], "name[like]", "unknown-operator", "like"),
    ([("state[between]", "A,B")], "state[between]", "unknown-operator", "between"),
    ([("credit_limit[startswith]", "1")], "credit_limit[startswith]", "unknown-operator", "text"),
    ([("opened_on[contains]", "2020")], "opened_on[contains]", "unknown-operator", "text"),
    ([("opened_on", "2020-13-45")], "opened_on", "invalid-parameter", "2020-13-45"),
    ([("opened_on[gte]", "2020-13-45")], "opened_on[gte]", "invalid-parameter", "2020-13-45"),
    ([("opened_on[in]", "2020-01-01,yesterday")], "opened_on[in]", "invalid-parameter", "yesterday"),
    ([("credit_limit", "abc")], "credit_limit", "invalid-parameter", "abc"),
    ([("credit_limit[lt]", "12abc")], "credit_limit[lt]", "invalid-parameter", "12abc"),
    ([("status", "bogus")], "status", "invalid-parameter", "bogus"),
    ([("status[in]", "active,bogus")], "status[in]", "invalid-parameter", "bogus"),
    ([("active", "maybe")], "active", "invalid-parameter", "maybe"),
    ([("opened_on[isnull]", "maybe")], "opened_on[isnull]", "invalid-parameter", "maybe"),
    ([("name[contains]", "")], "name[contains]", "invalid-parameter", "empty"),
    ([("limit", "0")], "limit", "limit-out-of-range", "500"),
    ([("limit", "501")], "limit", "limit-out-of-range", "501"),
    ([("limit", "abc")], "limit", "limit-out-of-range", "abc"),
    ([("limit", "-1")], "limit", "limit-out-of-range", "-1"),
    ([("limit", "1.5")], "limit", "limit-out-of-range", "1.5"),
    ([("limit", "")], "limit", "limit-out-of-range", "limit"),
    ([("state", "MA"), ("state", "NY")], "state", "invalid-parameter", "2 times"),
    ([("limit", "1"), ("limit", "2")], "limit", "invalid-parameter", "2 times"),
    ([("sort", "id"), ("sort", "-name")], "sort", "invalid-parameter", "2 times"),
    ([("cursor", "abc")], "cursor", "invalid-cursor", "cursor"),
]

SQL_IN_NAMES = [
    ([("id;DROP TABLE x", "1")], "id;DROP TABLE x"),
    ([("name[eq];DROP TABLE LGCY_CUST;--", "x")], "name[eq];DROP TABLE LGCY_CUST;--"),
    ([('name" OR 1=1 --', "x")], 'name" OR 1=1 --'),
    ([("name[eq) OR (1=1]", "x")], "name[eq) OR (1=1]"),
    ([("sort", "id;DROP")], "sort"),
    ([("sort", "-id;DELETE FROM LGCY_CUST")], "sort"),
    ([("sort", "id desc")], "sort"),
    ([("sort", "(select 1)")], "sort"),
    ([("fields", "id,(select 1)")], "fields"),
    ([("fields", "*")], "fields"),
    ([("fields", "id,name FROM LGCY_CUST;--")], "fields"),
]

SQL_IN_VALUES = [
    ("name", "x' OR '1'='1"),
    ("name", "CUSTOMER 0001' --"),
    ("state", "TX'; DROP TABLE LGCY_CUST; --"),
    ("name[contains]", "' OR 1=1 --"),
    ("name[startswith]", "%' OR '1'='1"),
    ("name[in]", "x') OR ('1'='1,y"),
    ("state[ne]", "'' OR 1=1"),
]


def assert_no_leak(response, backend) -> None:
    """No stack trace, SQL, driver name or connection string in a response."""
    text = response.get_data(as_text=True)
    for secret in ("Traceback", 'File "', "pyodbc", "SQLExecDirect", "SELECT ", "Driver=", backend.connection):
        assert secret not in text


def assert_problem(response, backend, parameter: str, slug: str) -> dict:
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["type"] == PROBLEM + slug
    assert body["title"] == "Invalid parameter"
    assert body["status"] == 400
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["parameter"] == parameter
    assert_no_leak(response, backend)
    return body


def row_count(backend) -> int:
    # int(): the SQLite ODBC driver returns COUNT(*) as text
    return int(backend.execute(f"SELECT COUNT(*) FROM {backend.q('LGCY_CUST')}")[0][0])


def get(client, pairs):
    return client.get("/v1/customers", query_string=urlencode(pairs))


@pytest.mark.parametrize("pairs, parameter, slug, word", CASES, ids=[urlencode(c[0]) for c in CASES])
def test_bad_input_is_a_400_problem_naming_the_parameter(client, backend, pairs, parameter, slug, word):
    body = assert_problem(get(client, pairs), backend, parameter, slug)
    assert word in body["detail"]


def _cursor(client) -> str:
    cursor = client.get("/v1/customers?limit=5").get_json()["next"]
    assert cursor and "." in cursor
    return cursor


def _flip(text: str, index: int) -> str:
    return text[:index] + ("A" if text[index] != "A" else "B") + text[index + 1 :]


@pytest.mark.parametrize("part", ["payload", "signature"])
def test_a_tampered_cursor_is_a_400(client, backend, part):
    cursor = _cursor(client)
    dot = cursor.rindex(".")
    # a middle character: base64's last character may carry ignored padding bits
    index = dot // 2 if part == "payload" else dot + (len(cursor) - dot) // 2
    tampered = _flip(cursor, index)
    assert tampered != cursor
    assert_problem(get(client, [("limit", "5"), ("cursor", tampered)]), backend, "cursor", "invalid-cursor")


@pytest.mark.parametrize("cut", [1, 5, 0.5])
def test_a_truncated_cursor_is_a_400(client, backend, cut):
    cursor = _cursor(client)
    truncated = cursor[:-cut] if isinstance(cut, int) else cursor[: int(len(cursor) * cut)]
    assert_problem(get(client, [("limit", "5"), ("cursor", truncated)]), backend, "cursor", "invalid-cursor")


def test_a_cursor_signed_with_another_secret_is_a_400(client, backend):
    config = crm_config(backend.connection)
    config["service"]["secret"] = "another-deployment-secret"
    other = make_app(config)
    try:
        foreign = other.test_client().get("/v1/customers?limit=5").get_json()["next"]
    finally:
        other.extensions["legacy_bridge"].close()
    assert foreign and foreign != _cursor(client)
    assert_problem(get(client, [("limit", "5"), ("cursor", foreign)]), backend, "cursor", "invalid-cursor")


@pytest.mark.parametrize("pairs, parameter", SQL_IN_NAMES, ids=[urlencode(c[0]) for c in SQL_IN_NAMES])
def test_sql_in_a_name_is_refused_and_never_executed(client, backend, pairs, parameter):
    response = get(client, pairs)
    assert_problem(response, backend, parameter, "unknown-field")
    assert row_count(backend) == ROWS


@pytest.mark.parametrize("name, value", SQL_IN_VALUES, ids=[f"{n}={v}" for n, v in SQL_IN_VALUES])
def test_sql_in_a_value_is_data_that_matches_nothing(client, backend, name, value):
    response = get(client, [(name, value)])
    assert response.status_code == 200
    data = response.get_json()["data"]
    if name == "state[ne]":  # a bound value no state equals: every row, none dropped
        assert len(data) == 100 and response.get_json()["next"]
    else:
        assert data == []
    assert row_count(backend) == ROWS


@pytest.mark.parametrize(
    "path, parameter",
    [
        ("/v1/order-lines/3/2 OR 1=1", "line_no"),
        ("/v1/order-lines/3;DROP TABLE x/1", "order_no"),
        ("/v1/customers/abc", "id"),
    ],
)
def test_a_key_that_does_not_parse_is_a_400_and_sql_in_it_is_never_run(client, backend, path, parameter):
    assert_problem(client.get(path), backend, parameter, "invalid-parameter")
    assert row_count(backend) == ROWS


def test_a_key_filter_that_does_not_parse_is_a_400(client, backend):
    response = client.get("/v1/customers", query_string=urlencode([("id[gt]", "1 OR 1=1")]))
    assert_problem(response, backend, "id[gt]", "invalid-parameter")


def test_unknown_route_and_method_are_problems_too(client, backend):
    missing = client.get("/v1/no-such-resource")
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"
    assert missing.get_json()["type"] == PROBLEM + "not-found"
    post = client.post("/v1/customers", json={"id": 1})
    assert post.status_code == 405 and post.mimetype == "application/problem+json"
    assert post.get_json()["status"] == 405
    for response in (missing, post):
        assert_no_leak(response, backend)
