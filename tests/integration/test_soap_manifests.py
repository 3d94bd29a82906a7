"""A legacy manifest service (spyne, tests/helpers/manifest_service.py) on a free loopback port,
exposed by a YAML config alone: a date range pushed down as the list's from/to parameters
across page tokens, a create that answers only the new key (read back with the get), and faults
mapped by code to 404/400/409/422/503 + Retry-After.  Every value is compared with a direct
zeep call to the same service."""

from __future__ import annotations

import copy
import datetime as dt

import pytest
import yaml
from click.testing import CliRunner
from zeep import Client
from zeep.helpers import serialize_object

from helpers.backends import make_app
from helpers.manifest_service import CONFIG, serve_manifests, walk, zeep_manifests
from legacy_bridge.cli import main
from legacy_bridge.config import validate
from legacy_bridge.demo.tms_config import tms_config
from legacy_bridge.drivers.soap.params import filter_values
from legacy_bridge.errors import ConfigError
from legacy_bridge.query.legacy import Condition


@pytest.fixture(scope="module")
def service():
    with serve_manifests() as svc:
        yield svc


def _config(service, change=None) -> dict:
    config = yaml.safe_load(CONFIG.replace("URL", service.url))
    if change:
        change(config["resources"]["manifests"])
    return config


@pytest.fixture(scope="module")
def client(service):
    app = make_app(_config(service))
    yield app.test_client()
    app.extensions["legacy_bridge"].close()


@pytest.fixture(scope="module")
def zeep_service(service):
    return Client(f"{service.url}/manifests?wsdl").service


def _iso(day: str) -> str | None:
    return None if day == "00000000" else dt.date(int(day[:4]), int(day[4:6]), int(day[6:])).isoformat()


def _header(answer: dict) -> dict:
    """A manifest as zeep reads it, in the resource's terms."""
    return {
        "manifest_no": answer["ManifestNo"],
        "reference": answer["Reference"],
        "carrier": answer["Carrier"],
        "shipped_on": _iso(answer["ShipDate"]),
    }


def _calls(service, operation: str) -> list[dict]:
    return [arguments for name, arguments in service.calls if name == operation]


# -- range filters bound to the operation's from/to parameters ---------------------------


def test_a_date_range_goes_to_the_from_and_to_parameters_across_page_tokens(service, client, zeep_service):
    service.calls.clear()
    got = walk(client, "/v1/manifests?shipped_on[gte]=2024-03-05&shipped_on[lte]=2024-03-29&limit=3")
    expected = [_header(m) for m in zeep_manifests(zeep_service, "20240305", "20240329")]
    assert got == expected and len(got) == 13
    sent = _calls(service, "ListManifests")
    assert sent and all((c["DateFrom"], c["DateTo"]) == ("20240305", "20240329") for c in sent)
    assert any(c["PageToken"] for c in sent)  # pages resumed at the service's token


def test_one_bound_alone_leaves_the_other_parameter_out(service, client, zeep_service):
    service.calls.clear()
    got = walk(client, "/v1/manifests?shipped_on[gte]=2024-04-20&limit=50")
    assert got == [_header(m) for m in zeep_manifests(zeep_service, "20240420", None)]
    assert {(c["DateFrom"], c["DateTo"]) for c in _calls(service, "ListManifests")} == {("20240420", None)}


def test_several_bounds_on_one_parameter_send_the_narrowest_and_contradicting_equals_match_nothing():
    bindings = {("ShipDate", "gte"): "filter.shipped_on.gte", ("ShipDate", "lte"): "filter.shipped_on.lte"}
    where = [Condition("ShipDate", "gte", "20240305"), Condition("ShipDate", "gte", "20240401")]
    where += [Condition("ShipDate", "lte", "20240501"), Condition("ShipDate", "lte", "20240420")]
    assert filter_values(bindings, where) == {"filter.shipped_on.gte": "20240401", "filter.shipped_on.lte": "20240420"}
    eq = {("Carrier", "eq"): "filter.carrier"}
    assert filter_values(eq, [Condition("Carrier", "eq", "UPSN"), Condition("Carrier", "eq", "DHLX")]) is None


def test_an_operator_without_a_parameter_is_applied_after_reading(service, client, zeep_service):
    service.calls.clear()
    got = walk(client, "/v1/manifests?shipped_on[gt]=2024-04-20&limit=50")
    assert got == [_header(m) for m in zeep_manifests(zeep_service, None, None) if m["ShipDate"] > "20240420"]
    assert {(c["DateFrom"], c["DateTo"]) for c in _calls(service, "ListManifests")} == {(None, None)}


def test_openapi_says_the_bounds_reach_the_operation_and_other_operators_do_not(client):
    document = client.get("/openapi.json").get_json()
    params = {p["name"]: p for p in document["paths"]["/v1/manifests"]["get"]["parameters"]}
    assert params["shipped_on[gte]"]["x-pushdown"] is True
    assert params["shipped_on[lte]"]["x-pushdown"] is True
    assert params["shipped_on[gt]"]["x-pushdown"] is False
    assert params["shipped_on"]["x-pushdown"] is False


def _problems(config: dict) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as exc:
        validate(config)
    return exc.value.problems


def test_two_fields_of_one_column_bound_to_two_parameters_are_refused_at_start_up(service):
    """The workaround that silently returned wrong data: one filter value would fill both."""

    def two_fields(resource):
        resource["fields"]["shipped_from"] = {"column": "ShipDate", "converter": "yyyymmdd", "filter": True}
        resource["fields"]["shipped_to"] = {"column": "ShipDate", "converter": "yyyymmdd", "filter": True}
        resource["list"]["params"].update({"DateFrom": "{filter.shipped_from}", "DateTo": "{filter.shipped_to}"})

    [(path, message)] = _problems(_config(service, two_fields))
    assert path == "resources.manifests.list.params.DateTo"
    assert "fields shipped_from and shipped_to (both column ShipDate)" in message and "wrong data" in message


def test_one_filter_and_operator_bound_twice_is_refused_at_start_up(service):
    def twice(resource):
        resource["list"]["params"]["DateTo"] = "{filter.shipped_on.gte}"

    [(path, message)] = _problems(_config(service, twice))
    assert path == "resources.manifests.list.params.DateTo"
    assert "DateFrom and DateTo both take filter shipped_on[gte]" in message


def test_an_operator_a_parameter_cannot_take_is_refused(service):
    def contains(resource):
        resource["list"]["params"]["DateTo"] = "{filter.shipped_on.contains}"

    [(path, message)] = _problems(_config(service, contains))
    assert path.endswith("params.DateTo") and "eq, gt, gte, lt, lte" in message


# -- create answering only the new key ------------------------------------------------------


def test_a_create_answering_only_the_key_is_read_back_with_the_get(service, client, zeep_service):
    body = {"reference": "REF-NEW-1", "carrier": "DHLX", "shipped_on": "2024-06-03"}
    response = client.post("/v1/manifests", json=body)
    assert response.status_code == 201, response.get_json()
    record = response.get_json()
    assert record["manifest_no"] and record == {**body, "manifest_no": record["manifest_no"]}
    assert record == _header(serialize_object(zeep_service.GetManifest(record["manifest_no"]), target_cls=dict))
    assert response.headers["Location"].endswith(f"/v1/manifests/{record['manifest_no']}")


def test_without_a_get_a_create_answers_the_key_and_location(service):
    def no_get(resource):
        del resource["get"]

    app = make_app(_config(service, no_get))
    response = app.test_client().post("/v1/manifests", json={"reference": "REF-NEW-2", "carrier": "UPSN"})
    app.extensions["legacy_bridge"].close()
    assert response.status_code == 201
    record = response.get_json()
    assert record["manifest_no"] in service.manifests
    assert record == {"manifest_no": record["manifest_no"], "reference": None, "carrier": None, "shipped_on": None}
    assert response.headers["Location"].endswith(f"/v1/manifests/{record['manifest_no']}")


# -- faults by code -------------------------------------------------------------------------


def test_a_duplicate_is_a_409_carrying_the_fault(client):
    response = client.post("/v1/manifests", json={"reference": "REF-0001", "carrier": "UPSN"})
    body = response.get_json()
    assert response.status_code == 409 and body["type"].endswith(":conflict")
    assert body["fault_code"] == "Client.DuplicateManifest" and "REF-0001" in body["fault_string"]


def test_an_invalid_document_is_a_400(client):
    body = client.post("/v1/manifests", json={"reference": "REF-NEW-3"}).get_json()
    assert body["status"] == 400 and body["fault_code"] == "Client.InvalidManifest"


def test_an_unknown_key_is_a_404(client):
    body = client.get("/v1/manifests/M99999").get_json()
    assert body["status"] == 404 and body["fault_code"] == "Client.ManifestNotFound"


def test_a_back_end_down_fault_is_a_503_with_the_configured_retry_after(service, client):
    service.down = True
    try:
        for url in ("/v1/manifests/M00001", "/v1/manifests?limit=2"):
            response = client.get(url)
            body = response.get_json()
            assert response.status_code == 503, body
            assert response.headers["Retry-After"] == "30"
            assert body["type"].endswith(":source-unavailable") and body["fault_code"] == "Server.BackendUnavailable"
    finally:
        service.down = False
    assert client.get("/v1/manifests/M00001").status_code == 200


def test_an_unlisted_fault_stays_a_502(service):
    def unlisted(resource):
        del resource["faults"]["unavailable"]

    service.down = True
    app = make_app(_config(service, unlisted))
    try:
        response = app.test_client().get("/v1/manifests/M00001")
    finally:
        service.down = False
        app.extensions["legacy_bridge"].close()
    assert response.status_code == 502 and "Retry-After" not in response.headers
    assert response.get_json()["type"].endswith(":source-fault")


def test_a_fault_code_listed_under_two_kinds_is_refused(service):
    def twice(resource):
        resource["faults"]["bad_gateway"] = ["Client.DuplicateManifest"]

    [(path, message)] = _problems(_config(service, twice))
    assert path == "resources.manifests.faults.bad_gateway" and "listed under conflict too" in message


def test_retry_after_is_only_for_unavailable(service):
    def misplaced(resource):
        resource["faults"]["conflict"] = {"codes": ["Client.DuplicateManifest"], "retry_after": 5}

    [(path, _)] = _problems(_config(service, misplaced))
    assert path == "resources.manifests.faults.conflict.retry_after"


def test_the_default_retry_after_of_an_unavailable_fault_is_30_seconds(service):
    def plain(resource):
        resource["faults"]["unavailable"] = ["Server.BackendUnavailable"]

    config = copy.deepcopy(_config(service, plain))
    service.down = True
    app = make_app(config)
    try:
        response = app.test_client().get("/v1/manifests/M00001")
    finally:
        service.down = False
        app.extensions["legacy_bridge"].close()
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"


# -- legacy-bridge check ---------------------------------------------------------------------


def test_check_accepts_get_only_resources_and_lists_that_need_a_filter_in_a_readable_summary(service, tmp_path):
    config = _config(service)
    resource = config["resources"]["manifests"]
    config["resources"]["manifest-lookup"] = {k: v for k, v in resource.items() if k not in ("list", "create")}
    config["resources"]["manifests-by-date"] = {
        **resource,
        "list": {**resource["list"], "required": ["shipped_on[gte]"]},
    }
    config["resources"]["misnamed"] = {**resource, "get": {"operation": "FetchManifest", "params": {"X": "{key}"}}}
    raw_lines = {**resource["fields"], "lines": "Lines"}  # a complex element read as a scalar
    config["resources"]["raw-lines"] = {**resource, "fields": raw_lines}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    result = CliRunner().invoke(main, ["check", "--config", str(path)])
    lines = {line.split()[0]: line for line in result.output.splitlines() if line.startswith("  ")}
    assert lines["manifests"].split()[1] == "ok"
    assert "operations get GetManifest, list ListManifests, create CreateManifest on wms" in lines["manifests"]
    assert "{" not in result.output  # no raw Python dict
    assert (
        lines["manifest-lookup"].split()[1] == "ok"
        and "(no record read: a get needs a key)" in (lines["manifest-lookup"])
    )
    assert lines["manifests-by-date"].split()[1] == "ok"
    assert "(no record read: the list needs the filter(s) shipped_on[gte])" in lines["manifests-by-date"]
    assert lines["misnamed"].split()[1] == "FAILING"
    assert "get: the service has no operation 'FetchManifest'" in lines["misnamed"]
    assert lines["raw-lines"].split()[1] == "FAILING"
    assert (
        "column Lines holds a complex element" in lines["raw-lines"]
        and "type: array or type: object" in lines["raw-lines"]
    )
    assert result.exit_code == 1 and "2 problem(s) found" in result.output


# -- child records carrying their parent's fields -----------------------------------------

CHILDREN = """
manifest-lines:
  source: wms
  key: [manifest_no, line_no]
  description: every line of every manifest, each with its manifest's number and date
  list:
    operation: ListManifests
    records: Manifests.Manifest.Lines.ManifestLine
    next: NextPageToken
    params: {DateFrom: "{filter.shipped_on.gte}", DateTo: "{filter.shipped_on.lte}", PageToken: "{page}"}
    parent_fields: {manifest_no: ManifestNo, shipped_on: ShipDate}
  fields:
    manifest_no: ManifestNo
    shipped_on: {column: ShipDate, converter: {yyyymmdd: {as: str}}, filter: true}
    line_no: {column: LineNo, converter: int}
    sku: {column: Sku, filter: true}
    qty: {column: Qty, converter: int}
lines-of-manifest:
  source: wms
  key: [manifest_no, line_no]
  list:
    operation: GetManifest
    params: {ManifestNo: "{filter.manifest_no}"}
    records: Lines.ManifestLine
    parent_fields: {manifest_no: ManifestNo}
    required: [manifest_no]
  faults: {not_found: [Client.ManifestNotFound]}
  fields:
    manifest_no: ManifestNo
    line_no: {column: LineNo, converter: int}
    sku: Sku
    qty: {column: Qty, converter: int}
"""


@pytest.fixture(scope="module")
def children(service):
    config = _config(service)
    config["resources"] = yaml.safe_load(CHILDREN)
    app = make_app(config)
    yield app.test_client()
    app.extensions["legacy_bridge"].close()


def _line(manifest: dict, line: dict, shipped=True) -> dict:
    out = {"manifest_no": manifest["ManifestNo"], "line_no": line["LineNo"], "sku": line["Sku"], "qty": line["Qty"]}
    return {**out, "shipped_on": _iso(manifest["ShipDate"])} if shipped else out


def test_child_records_across_pages_carry_their_parents_key(children, zeep_service):
    got = walk(children, "/v1/manifest-lines?shipped_on[gte]=2024-03-03&shipped_on[lte]=2024-04-10&limit=3")
    expected = [
        _line(m, line)
        for m in zeep_manifests(zeep_service, "20240303", "20240410")
        for line in (m["Lines"] or {}).get("ManifestLine") or []
    ]
    assert got == expected and len(got) > 10
    assert {r["manifest_no"] for r in got} >= {"M00002", "M00003", "M00010"}


def test_a_child_resource_of_a_get_reads_one_parents_lines_and_gets_by_composite_key(children, zeep_service):
    answer = serialize_object(zeep_service.GetManifest("M00007"), target_cls=dict)
    lines = answer["Lines"]["ManifestLine"]
    body = children.get("/v1/lines-of-manifest?manifest_no=M00007").get_json()
    assert body["data"] == [_line(answer, line, shipped=False) for line in lines] and len(lines) == 3
    one = children.get("/v1/lines-of-manifest/M00007/2").get_json()
    assert one == _line(answer, lines[1], shipped=False)
    assert children.get("/v1/lines-of-manifest?manifest_no=M99999").get_json()["data"] == []


def test_parent_fields_name_fields_of_the_resource(service):
    def unknown(resource):
        resource["list"]["parent_fields"] = {"parent_no": "ManifestNo"}

    [(path, message)] = _problems(_config(service, unknown))
    assert path == "resources.manifests.list.parent_fields.parent_no" and "no field 'parent_no'" in message


def test_openapi_documents_the_statuses_the_fault_kinds_add(client):
    paths = client.get("/openapi.json").get_json()["paths"]
    create, listing, get = (
        paths["/v1/manifests"]["post"],
        paths["/v1/manifests"]["get"],
        paths["/v1/manifests/{manifest_no}"]["get"],
    )
    for operation in (create, listing, get):
        assert {"409", "422", "503"} <= set(operation["responses"])
    shipments = make_app({"service": {"secret": "s"}, **tms_config("http://127.0.0.1:9")}).test_client()
    # without conflict faults a read has no 409 (a POST has one for its Idempotency-Key anyway)
    assert "409" not in shipments.get("/openapi.json").get_json()["paths"]["/v1/shipments"]["get"]["responses"]
