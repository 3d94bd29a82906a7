"""SOAP update and delete operations as PATCH, PUT and DELETE, through a YAML config alone,
against the spyne manifest service (tests/helpers/manifest_service.py) on a free loopback port:
nested bodies (a manifest's lines) converted by the contract's converters, If-Match against the
record the get operation reads, faults mapped by code, the write scope, and the audit record
every write through the API leaves."""

from __future__ import annotations

import copy

import pytest
import yaml
from click.testing import CliRunner
from openapi_spec_validator import validate as validate_openapi
from zeep import Client
from zeep.helpers import serialize_object

from helpers.backends import make_app
from helpers.manifest_service import CONFIG, serve_manifests
from legacy_bridge.cli import main
from legacy_bridge.config import validate
from legacy_bridge.errors import ConfigError
from legacy_bridge.events.journal import audit_records
from legacy_bridge.security.scopes import hash_key, new_key

WRITE_KEY, READ_KEY = new_key(), new_key()
WRITER = {"Authorization": f"Bearer {WRITE_KEY}"}
READER = {"Authorization": f"Bearer {READ_KEY}"}
LINES = """
type: array
column: Lines.ManifestLine
fields:
  line_no: {column: LineNo, converter: int}
  sku: {column: Sku, pattern: "^[A-Z0-9]{3,10}$"}
  qty: {column: Qty, converter: int}
  weight_kg: {column: WeightKg, converter: {decimal: {scale: 2}}}
  hazmat: {column: Hazmat, converter: flag}
"""
WRITES = """
update: {operation: UpdateManifest, params: {Manifest: "{body}"}}
delete: {operation: DeleteManifest, params: {ManifestNo: "{key}"}}
"""


@pytest.fixture()
def service():
    with serve_manifests() as svc:
        yield svc


def _config(service, tmp_path, change=None) -> dict:
    config = yaml.safe_load(CONFIG.replace("URL", service.url))
    manifests = config["resources"]["manifests"]
    manifests["fields"]["lines"] = yaml.safe_load(LINES)
    manifests["fields"]["tags"] = {"type": "array", "column": "Tags.string"}
    manifests.update(yaml.safe_load(WRITES))
    config["service"]["state"] = f"sqlite:///{tmp_path / 'state.db'}"
    config["auth"] = {
        "keys": [
            {"id": "dispatch", "hash": hash_key(WRITE_KEY), "scopes": ["*:*"]},
            {"id": "reader", "hash": hash_key(READ_KEY), "scopes": ["*:read"]},
        ]
    }
    if change:
        change(config["resources"])
    return config


@pytest.fixture()
def app(service, tmp_path):
    app = make_app(_config(service, tmp_path))
    yield app
    app.extensions["legacy_bridge"].close()
    app.extensions["legacy_bridge.state"].close()


@pytest.fixture()
def client(app):
    return app.test_client()


def _calls(service, operation: str) -> list[dict]:
    return [arguments for name, arguments in service.calls if name == operation]


def _zeep(service, number: str) -> dict:
    return serialize_object(Client(f"{service.url}/manifests?wsdl").service.GetManifest(number), target_cls=dict)


def _current(client, number: str) -> tuple[dict, str]:
    response = client.get(f"/v1/manifests/{number}", headers=READER)
    assert response.status_code == 200
    return response.get_json(), response.headers["ETag"]


# -- PATCH, PUT, DELETE -----------------------------------------------------------------------


def test_a_patch_of_the_lines_array_sends_the_whole_nested_record_and_answers_it_read_back(service, client):
    before, _ = _current(client, "M00003")
    lines = [
        {"line_no": 1, "sku": "SKU100", "qty": 7, "weight_kg": "2.50", "hazmat": True},
        {"line_no": 2, "sku": "SKU200", "qty": 1, "weight_kg": "0.75", "hazmat": False},
    ]
    response = client.patch("/v1/manifests/M00003", json={"lines": lines}, headers=WRITER)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {**before, "lines": lines}
    assert response.headers["ETag"] == _current(client, "M00003")[1]
    sent = _calls(service, "UpdateManifest")[-1]["Manifest"]
    # the fields not in the PATCH go back as the service gave them, in their legacy form
    assert (sent.ManifestNo, sent.Reference, sent.Carrier, sent.ShipDate) == ("M00003", "REF-0003", "UPSN", "20240305")
    assert [(line.Sku, line.Qty, str(line.WeightKg), line.Hazmat) for line in sent.Lines] == [
        ("SKU100", 7, "2.50", "Y"),
        ("SKU200", 1, "0.75", "N"),
    ]
    stored = _zeep(service, "M00003")
    assert [line["Sku"] for line in stored["Lines"]["ManifestLine"]] == ["SKU100", "SKU200"]
    assert stored["Tags"] == {"string": ["FRAGILE"]}  # untouched by the PATCH


def test_a_put_replaces_the_record_and_absent_fields_are_left_out(service, client):
    body = {"reference": "REF-NEW", "carrier": "DHLX", "shipped_on": "2025-01-31", "lines": []}
    response = client.put("/v1/manifests/M00006", json=body, headers=WRITER)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"manifest_no": "M00006", **body, "tags": []}
    stored = _zeep(service, "M00006")
    assert (stored["Reference"], stored["Carrier"], stored["ShipDate"]) == ("REF-NEW", "DHLX", "20250131")
    assert stored["Lines"] is None and stored["Tags"] is None


def test_a_delete_answers_204_and_the_record_is_then_a_404(service, client):
    assert client.delete("/v1/manifests/M00007", headers=WRITER).status_code == 204
    assert _calls(service, "DeleteManifest") == [{"ManifestNo": "M00007"}]
    gone = client.get("/v1/manifests/M00007", headers=READER)
    assert gone.status_code == 404 and gone.get_json()["legacy_code"] == "Client.ManifestNotFound"
    again = client.delete("/v1/manifests/M00007", headers=WRITER)
    assert again.status_code == 404 and len(_calls(service, "DeleteManifest")) == 1


def test_a_patch_of_a_missing_record_is_a_404_without_an_update_call(service, client):
    response = client.patch("/v1/manifests/M99999", json={"carrier": "FDEG"}, headers=WRITER)
    assert response.status_code == 404
    assert _calls(service, "UpdateManifest") == []


def test_the_key_of_a_record_does_not_change(client):
    response = client.patch("/v1/manifests/M00003", json={"manifest_no": "M00004"}, headers=WRITER)
    assert response.status_code == 400 and response.get_json()["parameter"] == "manifest_no"


# -- If-Match -----------------------------------------------------------------------------------


def test_if_match_with_the_current_etag_writes(client):
    _, etag = _current(client, "M00005")
    response = client.patch("/v1/manifests/M00005", json={"carrier": "FDEG"}, headers={**WRITER, "If-Match": etag})
    assert response.status_code == 200 and response.get_json()["carrier"] == "FDEG"
    assert response.headers["ETag"] != etag


def test_if_match_with_a_stale_etag_is_a_412_with_the_current_etag_and_nothing_is_sent(service, client):
    _, stale = _current(client, "M00005")
    client.patch("/v1/manifests/M00005", json={"reference": "REF-A"}, headers=WRITER)
    _, now = _current(client, "M00005")
    service.calls.clear()
    for method in (client.patch, client.put):
        response = method(
            "/v1/manifests/M00005",
            json={"reference": "REF-B", "carrier": "UPSN"},
            headers={**WRITER, "If-Match": stale},
        )
        assert response.status_code == 412 and response.headers["ETag"] == now
    response = client.delete("/v1/manifests/M00005", headers={**WRITER, "If-Match": stale})
    assert response.status_code == 412
    assert [name for name, _ in service.calls] == ["GetManifest"] * 3  # read to compare, never written
    assert _zeep(service, "M00005")["Reference"] == "REF-A"


# -- faults and values ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"carrier": ""}, 400, "Client.InvalidManifest"),
        ({"reference": "REF-0002"}, 409, "Client.DuplicateManifest"),
        ({"lines": [{"sku": "SKU001", "qty": 5000}]}, 422, "Client.RuleViolation"),
    ],
)
def test_a_fault_of_the_update_operation_is_mapped_by_its_code(client, change, status, code):
    response = client.patch("/v1/manifests/M00009", json=change, headers=WRITER)
    assert response.status_code == status
    assert response.get_json()["legacy_code"] == code


def test_a_service_that_is_down_is_a_503_with_retry_after(service, client):
    service.down = True
    try:
        for response in (
            client.patch("/v1/manifests/M00009", json={"carrier": "FDEG"}, headers=WRITER),
            client.delete("/v1/manifests/M00009", headers=WRITER),
        ):
            assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    finally:
        service.down = False


def test_a_not_found_fault_of_the_delete_itself_is_a_404(service, client, monkeypatch):
    find = service._find

    def removed_meanwhile(operation, number):  # another client removes it between the get and the delete
        if operation == "DeleteManifest":
            service.manifests.pop(number, None)
        return find(operation, number)

    monkeypatch.setattr(service, "_find", removed_meanwhile)
    response = client.delete("/v1/manifests/M00010", headers=WRITER)
    assert response.status_code == 404 and response.get_json()["legacy_code"] == "Client.ManifestNotFound"
    assert _calls(service, "DeleteManifest") == [{"ManifestNo": "M00010"}]


def test_a_value_the_converter_cannot_hold_is_a_400_naming_the_field_before_any_call(service, tmp_path):
    def tenths(resources):  # the service keeps quantities in tenths of a unit
        resources["manifests"]["fields"]["lines"]["fields"]["qty"]["converter"] = {"decimal": {"implied": 1}}

    app = make_app(_config(service, tmp_path, tenths))
    try:
        service.calls.clear()
        body = {"lines": [{"sku": "SKU001", "qty": "1.25"}]}
        response = app.test_client().patch("/v1/manifests/M00003", json=body, headers=WRITER)
    finally:
        app.extensions["legacy_bridge"].close()
        app.extensions["legacy_bridge.state"].close()
    assert response.status_code == 400
    problem = response.get_json()
    assert problem["parameter"] == "lines[0].qty" and "at most 1 decimal places" in problem["detail"]
    assert service.calls == []


def test_writes_need_the_write_scope(service, client):
    assert client.patch("/v1/manifests/M00003", json={"carrier": "FDEG"}, headers=READER).status_code == 403
    assert client.delete("/v1/manifests/M00003", headers=READER).status_code == 403
    assert client.delete("/v1/manifests/M00003").status_code == 401
    assert _calls(service, "UpdateManifest") == [] and _calls(service, "DeleteManifest") == []


# -- audit record (no change event: a SOAP resource has no change feed, which reads in key order)


def test_each_write_leaves_an_audit_record_with_who_before_and_after(app, client):
    created = client.post("/v1/manifests", json={"reference": "REF-9001", "carrier": "UPSN"}, headers=WRITER)
    assert created.status_code == 201
    number = created.get_json()["manifest_no"]
    before, _ = _current(client, number)
    client.patch(f"/v1/manifests/{number}", json={"carrier": "DHLX"}, headers=WRITER)
    client.delete(f"/v1/manifests/{number}", headers=WRITER)
    records = audit_records(app.extensions["legacy_bridge.state"], "manifests")
    assert [(r.kind, r.caller, r.key) for r in records] == [
        ("delete", "dispatch", {"manifest_no": number}),
        ("update", "dispatch", {"manifest_no": number}),
        ("create", "dispatch", {"manifest_no": number}),
    ]
    assert records[2].before is None and records[2].after == before == created.get_json()
    assert records[1].before == before and records[1].after == {**before, "carrier": "DHLX"}
    assert records[0].before == records[1].after and records[0].after is None


# -- config, OpenAPI, check ---------------------------------------------------------------------


def _refused(config: dict) -> str:
    with pytest.raises(ConfigError) as raised:
        validate(copy.deepcopy(config))
    return str(raised.value)


def test_update_or_delete_without_a_get_is_refused_at_start_up(service, tmp_path):
    def no_get(resources):
        del resources["manifests"]["get"]

    message = _refused(_config(service, tmp_path, no_get))
    assert "resources.manifests.update: update needs a get operation" in message
    assert "resources.manifests.delete: delete needs a get operation" in message


def test_a_delete_that_names_no_record_and_a_wrong_placeholder_are_refused(service, tmp_path):
    def wrong(resources):
        resources["manifests"]["delete"]["params"] = {"ManifestNo": "REF"}
        resources["manifests"]["update"]["params"] = {"Manifest": "{filter.carrier}"}
        resources["manifests"]["update"]["returns"] = "key"

    message = _refused(_config(service, tmp_path, wrong))
    assert "resources.manifests.delete.params: names no record" in message
    assert "update cannot use {filter.carrier}; it takes {key}, {body}" in message
    assert "resources.manifests.update.returns: expected one of record, nothing" in message


def test_an_operation_the_service_lacks_stops_the_start_naming_it(service, tmp_path):
    def misnamed(resources):
        resources["manifests"]["update"]["operation"] = "ChangeManifest"

    with pytest.raises(ConfigError) as raised:
        make_app(_config(service, tmp_path, misnamed))
    assert "resources.manifests: update: the service has no operation 'ChangeManifest'" in str(raised.value)
    assert "UpdateManifest" in str(raised.value)  # the operations it has are listed


def test_openapi_documents_patch_put_and_delete_with_if_match_and_the_faults(client):
    document = client.get("/openapi.json").get_json()
    validate_openapi(document)  # raises on any schema violation
    paths = document["paths"]
    record = paths["/v1/manifests/{manifest_no}"]
    assert set(record) >= {"get", "patch", "put", "delete"}
    for method in ("patch", "put", "delete"):
        operation = record[method]
        assert "If-Match" in [p["name"] for p in operation["parameters"]]
        assert {"412", "404", "409", "422", "503"} <= set(operation["responses"])
        assert "check-then-act" in operation["description"]
    lines = record["patch"]["requestBody"]["content"]["application/json"]["schema"]["properties"]["lines"]
    assert lines["type"] == "array" and lines["items"]["properties"]["qty"] == {"type": "integer", "nullable": True}


def test_check_lists_and_checks_the_update_and_delete_operations(service, tmp_path):
    config = _config(service, tmp_path)
    config["resources"]["misnamed"] = {
        **config["resources"]["manifests"],
        "delete": {"operation": "RemoveManifest", "params": {"ManifestNo": "{key}"}},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    result = CliRunner().invoke(main, ["check", "--config", str(path)])
    lines = {line.split()[0]: line for line in result.output.splitlines() if line.startswith("  ")}
    assert "update UpdateManifest, delete DeleteManifest on wms" in lines["manifests"]
    assert lines["manifests"].split()[1] == "ok"
    assert lines["misnamed"].split()[1] == "FAILING"
    assert "delete: the service has no operation 'RemoveManifest'" in lines["misnamed"]


def test_an_update_that_returns_the_record_is_answered_without_reading_it_back(service, tmp_path):
    def returns_record(resources):
        resources["manifests"]["update"]["returns"] = "record"

    app = make_app(_config(service, tmp_path, returns_record))
    try:
        service.calls.clear()
        response = app.test_client().patch("/v1/manifests/M00012", json={"carrier": "UPSN"}, headers=WRITER)
    finally:
        app.extensions["legacy_bridge"].close()
        app.extensions["legacy_bridge.state"].close()
    assert response.status_code == 200 and response.get_json()["carrier"] == "UPSN"
    assert [name for name, _ in service.calls] == ["GetManifest", "UpdateManifest"]
