"""Table writes on every ODBC backend: POST (one record, or an array all or none), PATCH, PUT,
DELETE; values through the converters and held to what the column can take; the legacy
columns the contract hides filled from the config; new keys by max + 1 (under concurrency too);
If-Match preconditions on the record's ETag."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest

from helpers.backends import Backend, Quoter, make_app
from helpers.writes import ORDER, ORDERS_DDL, READER, WRITER, orders_config


@pytest.fixture()
def orders(backend: Backend):
    backend.drop("TABLE", "LGCY_ORD")
    backend.execute(ORDERS_DDL.format(q=Quoter(backend.quote), **backend.types))
    return backend


@pytest.fixture()
def client(orders):
    app = make_app(orders_config(orders.connection))
    yield app.test_client()
    app.extensions["legacy_bridge"].close()


def _row(b: Backend, number: int) -> tuple | None:
    rows = b.execute(f"SELECT * FROM {b.q('LGCY_ORD')} WHERE {b.q('ORD_NO')} = ?", number)
    return rows[0] if rows else None


def test_a_post_inserts_the_legacy_row_and_answers_it_as_read_back(client, orders):
    created = client.post("/v1/orders", json=ORDER, headers=WRITER)
    assert created.status_code == 201, created.get_json()
    record = created.get_json()
    assert record == {**ORDER, "number": 1, "amount": "1234.50"}
    assert created.headers["Location"].endswith("/v1/orders/1")
    assert created.headers["ETag"] == client.get("/v1/orders/1", headers=READER).headers["ETag"]
    row = _row(orders, 1)
    assert (row[0], row[1].rstrip(), row[2], row[3]) == (1, "ACME01", 20240305, "Y")
    assert Decimal(str(row[4])) == Decimal("1234.50")
    assert row[6].rstrip() == "order-app" and row[8].rstrip() == "API"
    assert 20240101 < row[7] < 21000101  # today, as YYYYMMDD


def test_keys_follow_max_plus_one_and_an_array_is_written_all_or_none(client, orders):
    client.post("/v1/orders", json=ORDER, headers=WRITER)
    batch = [dict(ORDER, note=f"n{i}") for i in range(3)]
    many = client.post("/v1/orders", json=batch, headers=WRITER)
    assert many.status_code == 201
    assert [r["number"] for r in many.get_json()["data"]] == [2, 3, 4]
    bad = [dict(ORDER), dict(ORDER, customer="x y")]
    refused = client.post("/v1/orders", json=bad, headers=WRITER)
    assert refused.status_code == 400
    assert refused.get_json()["parameter"].startswith("[1].customer")
    assert int(orders.execute(f"SELECT COUNT(*) FROM {orders.q('LGCY_ORD')}")[0][0]) == 4


def test_a_value_that_does_not_fit_its_column_is_a_400_naming_the_field(client, orders):
    too_long = client.post("/v1/orders", json=dict(ORDER, note="x" * 21), headers=WRITER)
    assert too_long.status_code == 400
    assert too_long.get_json()["parameter"] == "note"
    assert "20 at most" in too_long.get_json()["detail"]
    too_wide = client.post("/v1/orders", json=dict(ORDER, customer="ABCDEFGHI"), headers=WRITER)
    assert too_wide.status_code == 400 and too_wide.get_json()["parameter"] == "customer"
    missing = client.post("/v1/orders", json={"note": "no customer"}, headers=WRITER)
    assert missing.status_code == 400 and "required" in missing.get_json()["detail"]
    given_key = client.post("/v1/orders", json=dict(ORDER, number=7), headers=WRITER)
    assert given_key.status_code == 400 and given_key.get_json()["parameter"] == "number"
    assert int(orders.execute(f"SELECT COUNT(*) FROM {orders.q('LGCY_ORD')}")[0][0]) == 0


def test_a_reader_key_cannot_write(client):
    assert client.post("/v1/orders", json=ORDER, headers=READER).status_code == 403


def test_patch_changes_the_fields_given_and_put_replaces_the_record(client, orders):
    client.post("/v1/orders", json=ORDER, headers=WRITER)
    patched = client.patch("/v1/orders/1", json={"note": "second", "rush": False}, headers=WRITER)
    assert patched.status_code == 200
    assert patched.get_json() == {**ORDER, "number": 1, "note": "second", "rush": False}
    assert _row(orders, 1)[3] == "N"
    replaced = client.put(
        "/v1/orders/1", json={"customer": "B2", "ordered_on": "2024-04-01", "rush": True}, headers=WRITER
    )
    assert replaced.status_code == 200
    assert replaced.get_json() == {
        "number": 1,
        "customer": "B2",
        "ordered_on": "2024-04-01",
        "rush": True,
        "amount": None,
        "note": None,
    }
    assert _row(orders, 1)[8].rstrip() == "API"  # on: create only
    rekey = client.patch("/v1/orders/1", json={"number": 2}, headers=WRITER)
    assert rekey.status_code == 400 and rekey.get_json()["parameter"] == "number"
    assert client.patch("/v1/orders/99", json={"note": "x"}, headers=WRITER).status_code == 404


def test_if_match_is_a_precondition_on_the_records_etag(client, orders):
    client.post("/v1/orders", json=ORDER, headers=WRITER)
    etag = client.get("/v1/orders/1", headers=READER).headers["ETag"]
    ok = client.patch("/v1/orders/1", json={"note": "a"}, headers={**WRITER, "If-Match": etag})
    assert ok.status_code == 200
    stale = client.patch("/v1/orders/1", json={"note": "b"}, headers={**WRITER, "If-Match": etag})
    assert stale.status_code == 412
    assert stale.headers["ETag"] == ok.headers["ETag"]
    assert _row(orders, 1)[5] == "a"
    gone = client.delete("/v1/orders/1", headers={**WRITER, "If-Match": etag})
    assert gone.status_code == 412
    deleted = client.delete("/v1/orders/1", headers={**WRITER, "If-Match": ok.headers["ETag"]})
    assert deleted.status_code == 204
    assert _row(orders, 1) is None
    assert client.delete("/v1/orders/1", headers=WRITER).status_code == 404


def test_a_resource_can_require_if_match(orders):
    app = make_app(orders_config(orders.connection, require_if_match=True))
    try:
        client = app.test_client()
        client.post("/v1/orders", json=ORDER, headers=WRITER)
        refused = client.patch("/v1/orders/1", json={"note": "x"}, headers=WRITER)
        assert refused.status_code == 428
        assert client.delete("/v1/orders/1", headers=WRITER).status_code == 428
    finally:
        app.extensions["legacy_bridge"].close()


def test_two_concurrent_patches_with_one_etag_give_one_200_and_one_412(client, orders):
    client.post("/v1/orders", json=ORDER, headers=WRITER)
    etag = client.get("/v1/orders/1", headers=READER).headers["ETag"]
    statuses: list[int] = []
    barrier = threading.Barrier(2)

    def patch(note: str) -> None:
        barrier.wait()
        answer = client.patch("/v1/orders/1", json={"note": note}, headers={**WRITER, "If-Match": etag})
        statuses.append(answer.status_code)

    threads = [threading.Thread(target=patch, args=(n,)) for n in ("left", "right")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(statuses) == [200, 412]
    assert _row(orders, 1)[5] in ("left", "right")


def test_concurrent_posts_get_distinct_max_plus_one_keys(client, orders):
    numbers: list[int] = []
    barrier = threading.Barrier(3)  # the source's bulkhead takes 3 calls at once

    def post(i: int) -> None:
        barrier.wait()
        for _ in range(4):
            answer = client.post("/v1/orders", json=dict(ORDER, note=f"t{i}"), headers=WRITER)
            assert answer.status_code == 201, answer.get_json()
            numbers.append(answer.get_json()["number"])

    threads = [threading.Thread(target=post, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(numbers) == list(range(1, 13))


def test_the_document_describes_each_write_with_its_preconditions(client):
    document = client.get("/openapi.json").get_json()
    record = document["paths"]["/v1/orders/{number}"]
    assert set(record) >= {"get", "patch", "put", "delete"}
    if_match = next(p for p in record["patch"]["parameters"] if p["name"] == "If-Match")
    assert if_match["required"] is False
    assert {"200", "404", "409", "412", "428"} <= set(record["patch"]["responses"])
    post = document["paths"]["/v1/orders"]["post"]
    assert "max_plus_one" in post["description"]
    assert post["responses"]["201"]["headers"]["Location"]


def test_the_config_refuses_writes_that_cannot_work(orders):
    from legacy_bridge.config import validate
    from legacy_bridge.errors import ConfigError

    config = orders_config(orders.connection, key={"sequence": ""}, defaults={"CUST_CD": "X", "SRC": {"now": "int"}})
    config["sources"]["erp"]["read_only"] = True
    config["resources"]["lines"] = {
        "source": "erp",
        "view": "V_LINES",
        "key": ["order", "line"],
        "fields": {"order": "ORD_NO", "line": "LN_NO"},
        "writes": {"create": True, "key": "identity"},
    }
    with pytest.raises(ConfigError) as refused:
        validate(config)
    text = str(refused.value)
    for expected in (
        "resources.orders.writes: its source is read-only: set read_only: false",
        "resources.orders.writes.key: expected client, identity, max_plus_one, {sequence: NAME} or {procedure: NAME}",
        "resources.orders.writes.defaults.CUST_CD: is a field's column",
        "resources.orders.writes.defaults.SRC.now: converter int (integer) cannot write the time",
        "resources.lines.writes.key: identity makes one key column",
        "resources.lines.writes: writes go to a table",
    ):
        assert expected in text


IDENTITY_DDL = {
    "sqlite": "CREATE TABLE {t} ({k} INTEGER PRIMARY KEY AUTOINCREMENT, {v} VARCHAR(10))",
    "postgresql": "CREATE TABLE {t} ({k} INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, {v} VARCHAR(10))",
    "mariadb": "CREATE TABLE {t} ({k} INTEGER AUTO_INCREMENT PRIMARY KEY, {v} VARCHAR(10))",
}


def _tickets(connection: str, key) -> dict:
    return {
        "service": {"secret": "s"},
        "sources": {"erp": {"kind": "odbc", "connection": connection, "read_only": False}},
        "resources": {
            "tickets": {
                "source": "erp",
                "table": "LGCY_TKT",
                "key": "id",
                "fields": {
                    "id": {"column": "TKT_NO", "converter": "int"},
                    "text": {"column": "TKT_TX", "converter": "text"},
                },
                "writes": {"create": True, "key": key},
            }
        },
    }


def test_identity_sequence_and_procedure_keys_are_read_back(backend: Backend):
    q = Quoter(backend.quote)
    backend.drop("TABLE", "LGCY_TKT")
    backend.execute(IDENTITY_DDL[backend.name].format(t=q["LGCY_TKT"], k=q["TKT_NO"], v=q["TKT_TX"]))
    backend.execute(f"INSERT INTO {q['LGCY_TKT']} ({q['TKT_NO']}, {q['TKT_TX']}) VALUES (40, 'legacy')")
    strategies = ["identity"]
    if backend.name != "sqlite":  # SQLite has no sequences
        backend.execute("DROP SEQUENCE IF EXISTS TKT_SEQ")
        backend.execute("CREATE SEQUENCE TKT_SEQ START WITH 500")
        strategies.append({"sequence": "TKT_SEQ" if backend.name == "mariadb" else "tkt_seq"})
    if backend.name == "postgresql":
        backend.execute('DROP TABLE IF EXISTS "LGCY_CTR"')
        backend.execute('CREATE TABLE "LGCY_CTR" ("NXT" INTEGER NOT NULL)')
        backend.execute('INSERT INTO "LGCY_CTR" VALUES (899)')
        backend.execute(
            'CREATE OR REPLACE PROCEDURE "NEXT_TKT"(INOUT n INTEGER) LANGUAGE plpgsql AS '
            '$$ BEGIN UPDATE "LGCY_CTR" SET "NXT" = "NXT" + 1 RETURNING "NXT" INTO n; END $$'
        )
        strategies.append({"procedure": "NEXT_TKT"})
    if backend.name == "mariadb":
        backend.execute("DROP TABLE IF EXISTS `LGCY_CTR`")
        backend.execute("CREATE TABLE `LGCY_CTR` (`NXT` INTEGER NOT NULL)")
        backend.execute("INSERT INTO `LGCY_CTR` VALUES (899)")
        backend.execute("DROP PROCEDURE IF EXISTS `NEXT_TKT`")
        backend.execute(
            "CREATE PROCEDURE `NEXT_TKT`(OUT n INT) BEGIN UPDATE `LGCY_CTR` SET `NXT` = `NXT` + 1; "
            "SELECT `NXT` INTO n FROM `LGCY_CTR`; END"
        )
        strategies.append({"procedure": "NEXT_TKT"})
    for key in strategies:
        app = make_app(_tickets(backend.connection, key))
        try:
            answer = app.test_client().post("/v1/tickets", json={"text": str(key)[:10]})
            assert answer.status_code == 201, answer.get_json()
            number = answer.get_json()["id"]
            expected = {"sequence": 500, "procedure": 900}.get(next(iter(key)) if isinstance(key, dict) else "", None)
            assert number == (expected or (41 if backend.name != "postgresql" else number))
            assert answer.headers["Location"].endswith(f"/v1/tickets/{number}")
            stored = backend.execute(f"SELECT {q['TKT_TX']} FROM {q['LGCY_TKT']} WHERE {q['TKT_NO']} = ?", number)
            assert stored == [(str(key)[:10],)]
        finally:
            app.extensions["legacy_bridge"].close()


KINDS_DDL = """CREATE TABLE {q[LGCY_ALL]} (
  {q[ID]} INTEGER NOT NULL PRIMARY KEY, {q[DT]} INTEGER, {q[TM]} INTEGER, {q[DTS]} CHAR(8), {q[FLG]} CHAR(1),
  {q[CD]} CHAR(1), {q[AMT]} INTEGER, {q[PRC]} {dec}, {q[RATE]} FLOAT, {q[NM]} CHAR(12), {q[TS]} {ts})"""


def test_every_converter_round_trips_on_write_and_read_back(backend: Backend):
    backend.drop("TABLE", "LGCY_ALL")
    backend.execute(KINDS_DDL.format(q=Quoter(backend.quote), **backend.types))
    fields = {
        "id": {"column": "ID", "converter": "int"},
        "day": {"column": "DT", "converter": "yyyymmdd"},
        "clock": {"column": "TM", "converter": "hhmmss"},
        "day_text": {"column": "DTS", "converter": {"yyyymmdd": {"as": "str"}}},
        "flag": {"column": "FLG", "converter": "flag"},
        "status": {"column": "CD", "converter": {"code": {"codes": {"A": "active", "C": "closed"}}}},
        "cents": {"column": "AMT", "converter": {"decimal": {"implied": 2}}},
        "price": {"column": "PRC", "converter": {"decimal": {"scale": 2}}},
        "rate": {"column": "RATE", "converter": "float"},
        "name": {"column": "NM", "converter": {"trim": {"width": 12}}},
        "stamp": {
            "column": "TS",
            "converter": "timestamp" if backend.name != "sqlite" else {"timestamp": {"format": "%Y-%m-%d %H:%M:%S"}},
        },
    }
    config = {
        "service": {"secret": "s"},
        "sources": {"erp": {"kind": "odbc", "connection": backend.connection, "read_only": False}},
        "resources": {
            "all": {
                "source": "erp",
                "table": "LGCY_ALL",
                "key": "id",
                "fields": fields,
                "writes": {"create": True, "update": True},
            }
        },
    }
    record = {
        "id": 1,
        "day": "2024-02-29",
        "clock": "23:59:58",
        "day_text": "1999-12-31",
        "flag": False,
        "status": "closed",
        "cents": "123.45",
        "price": "99.90",
        "rate": 0.5,
        "name": "Zoë",
        "stamp": "2024-01-02T03:04:05",
    }
    app = make_app(config)
    try:
        client = app.test_client()
        created = client.post("/v1/all", json=record)
        assert created.status_code == 201, created.get_json()
        assert created.get_json() == record
        assert client.get("/v1/all/1").get_json() == record
        nulls = {k: None for k in record if k != "id"}
        assert client.patch("/v1/all/1", json=nulls).get_json() == {"id": 1, **nulls}
    finally:
        app.extensions["legacy_bridge"].close()


def test_a_write_runs_its_statements_on_the_connections_kept_cursors_and_a_failed_one_drops_them(orders):
    """psqlODBC spends 6 round trips on a one-row INSERT on a fresh cursor and 3 on the cursor
    that ran it before: writes keep their cursors with the connection as reads do (not on
    SQLite, where a live statement holds a read lock), and forget them after a failure."""
    config = orders_config(orders.connection, key="client")
    config["sources"]["erp"]["pool"] = {"size": 1, "overflow": 0}  # every write on one connection
    app = make_app(config)
    client = app.test_client()
    pool = app.extensions["legacy_bridge"].resources["orders"].driver.driver.pool

    def kept() -> dict:
        with pool.connection() as proxy:
            return dict(proxy.info.get("statements", {}))

    def prepared() -> dict:  # the connection's server-side statements: text -> when prepared
        with pool.connection() as proxy:
            cur = proxy.dbapi_connection.cursor()
            rows = cur.execute("SELECT statement, prepare_time FROM pg_prepared_statements").fetchall()
            cur.close()
        return {text: at for text, at in rows}

    try:
        assert client.post("/v1/orders", json={**ORDER, "number": 1}, headers=WRITER).status_code == 201
        first = kept()
        assert client.post("/v1/orders", json={**ORDER, "number": 2}, headers=WRITER).status_code == 201
        if not pool.reuse_statements:
            assert first == {} and kept() == {}
            return
        inserts = [sql for sql in first if sql.lstrip().upper().startswith("INSERT")]
        assert len(inserts) == 1 and kept()[inserts[0]] is first[inserts[0]]  # the same cursor, prepared once
        if orders.name == "postgresql":  # and the server kept its plans: pyodbc did not prepare them again
            page = "/v1/orders?limit=2&number[gt]=0"  # a bound value: psqlODBC prepares it server-side
            client.get(page, headers=READER)
            plans = prepared()
            assert client.post("/v1/orders", json={**ORDER, "number": 9}, headers=WRITER).status_code == 201
            client.get(page, headers=READER)
            assert prepared() == plans
            assert any(t.startswith("INSERT") for t in plans) and any(t.startswith("SELECT") for t in plans)
        duplicate = client.post("/v1/orders", json={**ORDER, "number": 1}, headers=WRITER)
        assert duplicate.status_code == 409
        assert kept() == {}
        assert client.post("/v1/orders", json={**ORDER, "number": 3}, headers=WRITER).status_code == 201
        assert _row(orders, 3) is not None
    finally:
        app.extensions["legacy_bridge"].close()
