"""An injection corpus against an app with auth on and a full-scope key: SQL in every
parameter, CRLF in headers and values, path traversal on a flat-file resource and the docs
assets, oversized and malformed JSON bodies on the POST route, non-UTF-8 query strings.
Each is refused as a 4xx problem (a SQL string compared as a plain value may instead match
nothing), nothing runs: the legacy tables keep their row counts and the SOAP service its
records, no file outside the resource is read, no header is injected."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from helpers.auth import FULL, walk_config
from helpers.backends import make_app
from legacy_bridge.demo.tms_simulator import TmsSimulator, serve

KEY = {"X-API-Key": FULL}
SQL = [
    "1' OR '1'='1",
    "1; DROP TABLE LGCY_CUST; --",
    'x\'); DELETE FROM "LGCY_CUST"; --',
    "1 UNION SELECT CUST_NO FROM LGCY_CUST",
    "' OR 1=1 --",
    "`; DROP TABLE `LGCY_ORD_LN`",
]
# parameters where SQL is not a legal value at all: each must be a 400
STRICT = [
    "id={}",
    "id[in]=1,{}",
    "credit_limit[gt]={}",
    "opened_on={}",
    "active={}",
    "sort={}",
    "fields=id,{}",
    "limit={}",
    "cursor={}",
    "{}=1",
    "name[{}]=x",
]
# free-text filters: the value is bound as a parameter and simply matches nothing
LOOSE = ["name={}", "state={}", "name[contains]={}", "state[in]=ZZ,{}"]


@pytest.fixture(scope="module")
def tms():
    simulator = TmsSimulator()
    with serve(simulator) as url:
        yield simulator, url


@pytest.fixture(scope="module")
def client(backend, tms, tmp_path_factory):
    folder = tmp_path_factory.mktemp("drop")
    (folder / "receipts.csv").write_text("NO,MEMO\r\n1,first\r\n2,second\r\n")
    (folder.parent / "secret.txt").write_text("TOP SECRET")
    app = make_app(walk_config(backend.connection, tms[1], str(folder / "receipts.csv")))
    yield app.test_client()
    app.extensions["legacy_bridge"].close()


@pytest.fixture
def unchanged(backend, tms):
    """Asserts after the test that no table lost or gained a row and no shipment was created."""

    def counts():
        return [backend.execute(f"SELECT COUNT(*) FROM {backend.q(t)}")[0][0] for t in ("LGCY_CUST", "LGCY_ORD_LN")]

    before, shipments = counts(), len(tms[0].shipments)
    yield
    assert counts() == before
    assert len(tms[0].shipments) == shipments


def assert_problem(response, *statuses: int) -> None:
    assert response.status_code in statuses, response.data[:300]
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == response.status_code


@pytest.mark.parametrize("template", STRICT)
@pytest.mark.parametrize("payload", SQL)
def test_sql_in_typed_parameters_is_a_400(client, unchanged, template, payload):
    query = template.format(quote(payload, safe=""))
    assert_problem(client.get(f"/v1/customers?{query}", headers=KEY), 400)


@pytest.mark.parametrize("template", LOOSE)
@pytest.mark.parametrize("payload", SQL)
def test_sql_in_text_filters_is_a_plain_value_that_matches_nothing(client, unchanged, template, payload):
    response = client.get(f"/v1/customers?{template.format(quote(payload, safe=''))}", headers=KEY)
    assert response.status_code == 200
    assert response.get_json()["data"] == []


@pytest.mark.parametrize("payload", SQL)
def test_sql_in_keys_is_a_400(client, unchanged, payload):
    assert_problem(client.get(f"/v1/customers/{quote(payload, safe='')}", headers=KEY), 400, 404)
    assert_problem(client.get(f"/v1/order-lines/1/{quote(payload, safe='')}", headers=KEY), 400, 404)


@pytest.mark.parametrize(
    "path",
    [
        "/v1/receipts/..%2f..%2fsecret.txt",
        "/v1/receipts/../../secret.txt",
        "/v1/receipts/%2e%2e/%2e%2e/secret.txt",
        "/v1/receipts/..%5c..%5csecret.txt",
        "/v1/receipts/%00",
        "/docs/assets/..%2f..%2fsetup.cfg",
        "/docs/assets/%2e%2e%2fdocs.html",
    ],
)
def test_path_traversal_reads_no_other_file(client, unchanged, path):
    response = client.get(path, headers=KEY)
    assert 400 <= response.status_code < 500
    assert b"TOP SECRET" not in response.data and b"[metadata]" not in response.data


@pytest.mark.parametrize(
    "body, content_type, status",
    [
        (b'{"shipment_no": "X1"', "application/json", 400),  # truncated
        (b"[1, 2]", "application/json", 400),  # not an object
        (b'{"shipment_no": NaN}', "application/json", 400),
        (b"\xff\xfe{}", "application/json", 400),  # not UTF-8
        (b"[" * 100_000 + b"]" * 100_000, "application/json", 400),  # nested past the recursion limit
        (b'{"carrier": "UPSN"}', "text/plain", 400),  # not declared JSON
        (b'{"carrier": "' + b"x" * (2 << 20) + b'"}', "application/json", 413),  # oversized
        (b'{"carrier": "UPS\\u0000\\u001b"}', "application/json", 400),  # XML cannot carry it
    ],
)
def test_malformed_and_oversized_bodies_are_4xx_problems(client, unchanged, body, content_type, status):
    assert_problem(client.post("/v1/shipments", data=body, content_type=content_type, headers=KEY), status)


@pytest.mark.parametrize("raw", [b"state=\xff\xfe", b"\xff=1", b"name=\xc3\x28", b"limit=1&sort=\xe9"])
def test_non_utf8_query_strings_are_a_400(client, unchanged, raw):
    response = client.get("/v1/customers", headers=KEY, environ_overrides={"QUERY_STRING": raw.decode("latin-1")})
    assert_problem(response, 400)
    assert response.get_json()["type"] == "urn:legacy-bridge:problem:invalid-query-encoding"


def test_crlf_in_a_request_header_injects_no_response_header(client, unchanged):
    response = client.get(
        "/v1/customers?limit=1",
        environ_base={"HTTP_X_API_KEY": FULL, "HTTP_X_REQUEST_ID": "abc\r\nSet-Cookie: pwned=1"},
    )
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert all("\r" not in v and "\n" not in v for _, v in response.headers.items())


def test_crlf_in_an_api_key_is_a_401(client):
    response = client.get("/v1/customers", environ_base={"HTTP_X_API_KEY": FULL + "\r\nX-Admin: 1"})
    assert_problem(response, 401)


def test_crlf_in_a_query_value_stays_inside_the_link_header(client, unchanged):
    response = client.get("/v1/customers?limit=1&name[gte]=A%0d%0aSet-Cookie:%20pwned=1", headers=KEY)
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert all("\r" not in v and "\n" not in v for _, v in response.headers.items())
