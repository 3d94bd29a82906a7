"""Stored procedures and functions as actions, on PostgreSQL and MariaDB: IN / INOUT / OUT
parameters of every converter kind, two result sets, a function over GET, what a procedure
raises (its SQLSTATE in the problem), a timeout, an Idempotency-Key replay that runs the
procedure once, and SQLite refused at start-up."""

from __future__ import annotations

import pytest

from helpers.backends import Backend, make_app
from helpers.procedures import calls, create_routines, erp_config, row_functions, tries
from legacy_bridge.errors import ConfigError
from legacy_bridge.events.journal import audit_records
from legacy_bridge.security.scopes import hash_key, new_key

ORDER = {"customer_id": 7, "due_on": "2026-02-28", "rush": True, "note": "urgent", "amount": "12.34", "rate": "1.25"}


@pytest.fixture(scope="module", params=["postgresql", "mariadb"])
def erp(request) -> Backend:
    b = request.getfixturevalue(f"{request.param}_only")
    create_routines(b)
    return b


@pytest.fixture(scope="module")
def client(erp, tmp_path_factory):
    state = tmp_path_factory.mktemp("state") / "state.db"
    app = make_app(erp_config(erp, state=f"sqlite:///{state}"))
    yield app.test_client()
    app.extensions["legacy_bridge"].close()


def test_a_procedure_takes_and_answers_every_converter_kind_and_two_result_sets(client, erp):
    before = calls(erp)
    answer = client.post("/v1/allocate-order", json=ORDER)
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    out = body["out"]
    assert out["order_no"] >= 1 and calls(erp) == before + 1
    assert out["amount"] == "13.34"  # INOUT, implied 2 decimals: 1234 + 100 cents
    assert out["rate"] == "2.50"  # INOUT DECIMAL(9,2)
    assert out["ship_on"] == "2026-03-01"  # yyyymmdd, the day after due_on
    assert out["rushed"] is False  # flag: Y went in, N came back
    assert out["label"] == "ORD7"  # CHAR padding trimmed
    assert set(body) == {"out", "result_sets"}
    assert body["result_sets"]["lines"] == [
        {"line_no": 1, "sku": "SKU-1", "amount": "1.50"},
        {"line_no": 2, "sku": "SKU-2", "amount": "3.00"},
    ]
    # the note went in padded to its CHAR(10) width and comes back trimmed (MariaDB's CHAR
    # drops trailing blanks when it is read, so there the procedure sees 6 characters)
    padded = 10 if erp.name == "postgresql" else 6
    assert body["result_sets"]["notes"] == [{"text": "urgent", "stored_length": padded}]


def test_the_other_converter_kinds_go_in_and_come_back_through_inout_parameters(client):
    sent = {
        "status": "open",
        "at": "09:30:00",
        "stamp": "2026-01-02T03:04:05",
        "day": "2026-02-28",
        "ratio": 1.5,
        "memo": "abc",
        "qty": 7,
        "raw": "AAE=",
    }
    answer = client.post("/v1/kinds", json=sent)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["out"] == {
        "status": "shipped",  # code table: O in, S back
        "at": "10:30:00",  # hhmmss: 093000 + 1 hour
        "stamp": "2026-01-03T03:04:05",
        "day": "2026-03-01",
        "ratio": 3.0,
        "memo": "ABC",
        "qty": None,  # 0, the legacy "no value", is null
        "raw": "AAEB",  # bytes 00 01 in, 00 01 01 back (base64)
    }
    assert client.post("/v1/kinds", json={**sent, "status": "lost"}).get_json()["parameter"] == "status"


def test_a_read_only_function_is_a_get_with_its_return_value(client):
    answer = client.get("/v1/tax?amount=12.50")
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json() == {"return": "2.50"}
    assert client.post("/v1/tax", json={"amount": "1.00"}).status_code == 405


def test_a_bad_or_missing_parameter_is_a_400_naming_it(client, erp):
    before = calls(erp)
    wrong = client.post("/v1/allocate-order", json={**ORDER, "due_on": "not a date"})
    assert wrong.status_code == 400 and wrong.get_json()["parameter"] == "due_on"
    missing = client.post("/v1/allocate-order", json={k: v for k, v in ORDER.items() if k != "rush"})
    assert missing.status_code == 400 and missing.get_json()["parameter"] == "rush"
    unknown = client.post("/v1/allocate-order", json={**ORDER, "order_no": 5})  # an OUT parameter
    assert unknown.status_code == 400 and unknown.get_json()["parameter"] == "order_no"
    places = client.post("/v1/allocate-order", json={**ORDER, "amount": "1.234"})  # past the implied scale
    assert places.status_code == 400 and places.get_json()["parameter"] == "amount"
    huge = client.post("/v1/allocate-order", json={**ORDER, "customer_id": 10**30})  # past what ODBC binds
    assert huge.status_code == 400, huge.get_json()
    assert calls(erp) == before


def test_what_a_procedure_raises_is_a_422_with_its_sqlstate_and_nothing_is_kept(client, erp):
    rows = int(erp.execute("SELECT COUNT(*) FROM lb_pr_calls")[0][0])
    answer = client.post("/v1/reserve", json={"item": 42})
    problem = answer.get_json()
    assert answer.status_code == 422, problem
    assert problem["type"].endswith(":action-refused")
    assert problem["legacy_code"] == ("P0001" if erp.name == "postgresql" else "45000")
    assert problem["detail"] == "no stock for item 42"
    assert int(erp.execute("SELECT COUNT(*) FROM lb_pr_calls")[0][0]) == rows  # its insert rolled back


def test_a_broken_constraint_in_a_procedure_is_a_409_with_its_sqlstate(client):
    answer = client.post("/v1/claim", json={"key": 1})
    problem = answer.get_json()
    assert answer.status_code == 409, problem
    assert problem["legacy_code"].startswith("23")


def test_a_procedure_past_the_source_timeout_is_a_504(client):
    answer = client.post("/v1/wait", json={"seconds": 5})
    assert answer.status_code == 504, answer.get_json()
    assert answer.get_json()["type"].endswith(":source-timeout")


def test_a_connection_lost_in_a_procedure_is_a_503_and_the_call_is_not_retried(client, erp):
    before = tries(erp)
    answer = client.post("/v1/cut", json={"key": 1})
    assert answer.status_code == 503, answer.get_json()
    assert answer.get_json()["type"].endswith(":source-unavailable")
    assert tries(erp) == before + 2  # the one call, and this read: never run a second time
    assert client.get("/v1/tax?amount=1.00").status_code == 200  # the next call gets a fresh connection


def test_an_idempotency_key_replays_the_answer_and_runs_the_procedure_once(client, erp):
    before = calls(erp)
    headers = {"Idempotency-Key": f"alloc-{erp.name}"}
    first = client.post("/v1/allocate-order", json=ORDER, headers=headers)
    again = client.post("/v1/allocate-order", json=ORDER, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json() == first.get_json()
    assert calls(erp) == before + 1
    other = client.post("/v1/allocate-order", json={**ORDER, "customer_id": 8}, headers=headers)
    assert other.status_code == 422  # the same key for another call


def test_an_action_on_sqlite_is_a_config_error_at_start_up(sqlite_only):
    config = {
        "sources": {"db": {"kind": "odbc", "connection": sqlite_only.connection, "read_only": False}},
        "actions": {"allocate-order": {"source": "db", "procedure": "ALLOC_ORD"}},
    }
    with pytest.raises(ConfigError) as raised:
        make_app(config)
    assert any(
        path == "actions.allocate-order.source" and "no stored procedures" in message
        for path, message in raised.value.problems
    )


def test_the_openapi_document_describes_each_action(client, erp):
    document = client.get("/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    post = document["paths"]["/v1/allocate-order"]["post"]
    assert post["summary"] == "Allocates an order number"
    assert "Idempotency-Key" in [p["name"] for p in post["parameters"]]
    params = schemas[post["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]]
    assert set(params["properties"]) == set(ORDER)  # IN and INOUT; never OUT nor a cursor
    assert set(params["required"]) == set(ORDER)
    assert params["properties"]["due_on"]["format"] == "date"
    answer = schemas[post["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]]
    assert set(answer["properties"]) == {"out", "result_sets"}
    sets = schemas[answer["properties"]["result_sets"]["$ref"].rsplit("/", 1)[-1]]
    assert set(sets["properties"]) == {"lines", "notes"}
    assert {"409", "422", "504"} <= set(post["responses"])
    tax = document["paths"]["/v1/tax"]
    assert set(tax) == {"get"}
    assert [p["name"] for p in tax["get"]["parameters"] if p["in"] == "query"] == ["amount"]


def test_each_call_leaves_an_audit_record_of_its_parameters_and_answer(client):
    answer = client.post("/v1/allocate-order", json=ORDER).get_json()
    record = audit_records(client.application.extensions["legacy_bridge.state"], "allocate-order", limit=1)[0]
    assert record.kind == "call" and record.caller is None
    assert record.before == ORDER and record.after == answer
    client.get("/v1/tax?amount=1.00")  # a read-only action leaves none (audit: false, its default)
    assert audit_records(client.application.extensions["legacy_bridge.state"], "tax") == []


def test_a_call_takes_the_write_scope_of_the_action_and_a_read_only_one_the_read_scope(erp, tmp_path):
    caller, reader = new_key(), new_key()
    config = erp_config(erp, state=f"sqlite:///{tmp_path / 'state.db'}")
    config["auth"] = {
        "keys": [
            {"id": "caller", "hash": hash_key(caller), "scopes": ["allocate-order:write"]},
            {"id": "reader", "hash": hash_key(reader), "scopes": ["*:read"]},
        ]
    }
    app = make_app(config)
    try:
        client = app.test_client()
        denied = client.post("/v1/allocate-order", json=ORDER, headers={"X-API-Key": reader})
        assert denied.status_code == 403 and denied.get_json()["required_scope"] == "allocate-order:write"
        allowed = client.post("/v1/allocate-order", json=ORDER, headers={"X-API-Key": caller})
        assert allowed.status_code == 200
        record = audit_records(app.extensions["legacy_bridge.state"], "allocate-order", limit=1)[0]
        assert record.caller == "caller"
        assert client.get("/v1/tax?amount=1.00", headers={"X-API-Key": reader}).status_code == 200
        assert client.get("/v1/tax?amount=1.00", headers={"X-API-Key": caller}).status_code == 403
    finally:
        app.extensions["legacy_bridge"].close()


def test_a_postgresql_function_answers_its_rows_or_its_out_values_and_mariadb_refuses_them(client, erp):
    if erp.name == "mariadb":  # its functions answer only a return value: refused at start-up
        config = erp_config(erp)
        config["actions"].update(row_functions({"sku": {"column": "SKU"}}))
        with pytest.raises(ConfigError) as raised:
            make_app(config)
        found = dict(raised.value.problems)
        assert "answers only its return value" in found["actions.line-list.source"]
        assert "answers only its return value" in found["actions.split.source"]
        return
    rows = client.get("/v1/line-list?count=3")
    assert rows.status_code == 200, rows.get_json()
    assert rows.get_json() == {"result_sets": {"lines": [{"line_no": n, "sku": f"SKU-{n}"} for n in (1, 2, 3)]}}
    split = client.get("/v1/split?amount=1234")
    assert split.status_code == 200, split.get_json()
    assert split.get_json() == {"out": {"whole": 12, "cents": 34}}


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda a: a.update(procedure="lb_pr_none"), "no procedure or function"),
        (lambda a: a.update(procedure="lb_pr_tax"), "is a function in the database"),
        (lambda a: a["params"].pop("note"), "argument(s)"),
        (
            lambda a: a.update(params={"rush": a["params"].pop("rush"), **a["params"]}),
            "argument 1 of lb_pr_alloc is p_cust IN, the action declares p_rush IN",
        ),
        (lambda a: a["params"]["amount"].update(mode="in"), "argument 5 of lb_pr_alloc is p_amt INOUT"),
    ],
)
def test_params_that_differ_from_the_catalog_are_refused_at_start_up(erp, change, words):
    config = erp_config(erp)
    change(config["actions"]["allocate-order"])
    with pytest.raises(ConfigError) as raised:
        make_app(config)
    found = [message for path, message in raised.value.problems if path == "actions.allocate-order.source"]
    assert any(words in message for message in found), raised.value.problems


def test_a_parameter_held_to_its_rules_and_its_type_is_a_400_naming_it(client, erp):
    null = client.post("/v1/reserve", json={"item": None})  # nullable: false
    assert null.status_code == 400 and null.get_json()["parameter"] == "item"
    beyond = client.post("/v1/allocate-order", json={**ORDER, "customer_id": 1 << 40})  # past INTEGER
    assert beyond.status_code == 400, beyond.get_json()
    assert beyond.get_json()["parameter"] == "customer_id" and "out of range" in beyond.get_json()["detail"]
    if erp.name == "postgresql":  # a rule (maximum) of a parameter, and the document says it
        many = client.get("/v1/line-list?count=10001")
        assert many.status_code == 400 and many.get_json()["parameter"] == "count"
        document = client.get("/openapi.json").get_json()
        (count,) = [p for p in document["paths"]["/v1/line-list"]["get"]["parameters"] if p["name"] == "count"]
        assert count["schema"]["maximum"] == 10000
