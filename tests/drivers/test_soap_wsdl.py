"""Real-world WSDLs (../shared/testdata/wsdl, see its SOURCES.md) load offline and
introspect; the rpc/encoded one fails naming the schema it needs.  SOAP config checks."""

from __future__ import annotations

import pytest
import requests
import yaml
from click.testing import CliRunner
from requests.adapters import BaseAdapter

from helpers.backends import SHARED_TESTDATA
from legacy_bridge.cli import main
from legacy_bridge.config import validate
from legacy_bridge.demo.tms_config import tms_config
from legacy_bridge.drivers.soap.driver import SoapDriver
from legacy_bridge.drivers.soap.faults import fault_codes
from legacy_bridge.drivers.soap.wsdl import build_transport, describe, forget_documents, load_document
from legacy_bridge.errors import ConfigError, SourceUnavailable
from legacy_bridge.problems import status_of

WSDL = SHARED_TESTDATA / "wsdl"


class NoNetwork(BaseAdapter):
    """Every HTTP request fails, as on a machine without network."""

    def send(self, request, **kwargs):
        raise requests.ConnectionError(f"offline: {request.url}", request=request)

    def close(self):
        pass


def offline_session() -> requests.Session:
    session = requests.Session()
    session.mount("http://", NoNetwork())
    session.mount("https://", NoNetwork())
    return session


@pytest.fixture(autouse=True)
def fresh_cache():
    forget_documents()
    yield
    forget_documents()


def _ports(name: str) -> list[dict]:
    return describe(load_document(str(WSDL / name), build_transport({}, offline_session())))


def test_country_info_loads_offline_with_both_bindings():
    ports = _ports("countryInformation.wsdl")
    assert [(p["port"], p["soap"], len(p["operations"])) for p in ports] == [
        ("CountryInfoServiceSoap", "1.1", 21),
        ("CountryInfoServiceSoap12", "1.2", 21),
    ]
    capital = next(o for o in ports[0]["operations"] if o["name"] == "CapitalCity")
    assert capital["input"] == "sCountryISOCode: xsd:string"
    assert capital["output"] == "CapitalCityResult: xsd:string"


def test_the_dotnet_calculator_has_soap_11_and_12_ports():
    ports = _ports("calculator-soap11and12.wsdl")
    assert {p["soap"] for p in ports} == {"1.1", "1.2"}
    assert {o["name"] for o in ports[1]["operations"]} == {"Add", "Subtract", "Multiply", "Divide"}


def test_the_workday_fragment_lists_its_two_fault_types():
    (port,) = _ports("namespaceIssue.wsdl")
    assert len(port["operations"]) == 3
    assert all(o["faults"] == ["Processing_Fault", "Validation_Fault"] for o in port["operations"])


def test_the_rpc_encoded_wsdl_fails_naming_the_schema_it_needs():
    driver = SoapDriver("cdas", {"kind": "soap", "wsdl": str(WSDL / "cdas.wsdl")}, session=offline_session())
    with pytest.raises(SourceUnavailable) as info:
        driver.proxy()
    assert "http://schemas.xmlsoap.org/soap/encoding/" in info.value.detail
    assert status_of(info.value) == 503 and info.value.legacy_code == "wsdl"


def test_a_soap_12_port_is_chosen_by_version():
    driver = SoapDriver(
        "calc",
        {"kind": "soap", "wsdl": str(WSDL / "calculator-soap11and12.wsdl"), "soap_version": "1.2"},
        session=offline_session(),
    )
    assert driver.proxy()._binding.__class__.__name__ == "Soap12Binding"


def test_introspect_lists_operations_and_drafts_a_config_that_validates():
    runner = CliRunner()
    listing = runner.invoke(main, ["introspect", "--wsdl", str(WSDL / "countryInformation.wsdl")])
    assert listing.exit_code == 0
    assert "CountryInfoServiceSoap12 (SOAP 1.2)" in listing.output
    assert "FullCountryInfo [document](sCountryISOCode: xsd:string)" in listing.output
    draft = runner.invoke(
        main,
        [
            "introspect",
            "--wsdl",
            str(WSDL / "countryInformation.wsdl"),
            "--operation",
            "FullCountryInfo",
            "--name",
            "countries",
        ],
    )
    assert draft.exit_code == 0, draft.output
    config = validate(yaml.safe_load(draft.output))
    spec = config.resources["countries"]
    # zeep answers with FullCountryInfoResult's content (the lone child of the response): no records path
    assert spec.target["get"] == {"operation": "FullCountryInfo", "params": {"sCountryISOCode": "{key}"}}
    assert spec.mapping.fields["s_capital_city"].column == "sCapitalCity"


def test_a_list_draft_leaves_out_a_parameter_no_field_can_fill_and_still_validates():
    draft = CliRunner().invoke(
        main,
        [
            "introspect",
            "--wsdl",
            str(WSDL / "countryInformation.wsdl"),
            "--operation",
            "CountriesUsingCurrency",
            "--name",
            "countries",
        ],
    )
    assert draft.exit_code == 0, draft.output
    assert "# left out (no field of that name to filter on): sISOCurrencyCode" in draft.stdout
    config = validate(yaml.safe_load(draft.stdout))
    assert "sISOCurrencyCode" not in str(config.resources["countries"].target["list"])


def test_introspect_names_an_unknown_operation():
    result = CliRunner().invoke(
        main, ["introspect", "--wsdl", str(WSDL / "calculator-soap11and12.wsdl"), "--operation", "Power"]
    )
    assert result.exit_code == 1 and "Add" in result.output


def _config(**shipments) -> dict:
    config = {"service": {"secret": "s"}, **tms_config("http://127.0.0.1:1")}
    config["resources"] = {"shipments": {**config["resources"]["shipments"], **shipments}}
    return config


@pytest.mark.parametrize(
    "change, where",
    [
        ({"table": "SHIPMENTS"}, "resources.shipments.table"),
        ({"get": {"params": {"ShipmentNo": "{key}"}}}, "resources.shipments.get.operation"),
        (
            {"get": {"operation": "GetShipment", "params": {"ShipmentNo": "{filter.carrier}"}}},
            "resources.shipments.get.params.ShipmentNo",
        ),
        (
            {"list": {"operation": "ListShipments", "params": {"Carrier": "{filter.pieces}"}}},
            "resources.shipments.list.params.Carrier",
        ),
        (
            {"list": {"operation": "ListShipments", "params": {"Carrier": "{filter.nope}"}}},
            "resources.shipments.list.params.Carrier",
        ),
        ({"list": {"operation": "ListShipments", "next": "NextPageToken"}}, "resources.shipments.list"),
        ({"faults": {"not_found": "Client.X"}}, "resources.shipments.faults.not_found"),
        ({"faults": {"gone": ["Client.X"]}}, "resources.shipments.faults.gone"),
    ],
)
def test_operation_config_errors_name_their_key_path(change, where):
    with pytest.raises(ConfigError) as info:
        validate(_config(**change))
    assert where in [path for path, _ in info.value.problems]


def test_soap_source_options_are_checked():
    config = _config()
    config["sources"]["tms"].update(soap_version="2.0", wsse={"password": "x"}, colour="red")
    with pytest.raises(ConfigError) as info:
        validate(config)
    paths = {path for path, _ in info.value.problems}
    assert {"sources.tms.soap_version", "sources.tms.wsse", "sources.tms.colour"} <= paths


def test_a_table_resource_cannot_name_operations():
    config = {
        "sources": {"crm": {"kind": "odbc", "connection": "DSN=x"}},
        "resources": {
            "c": {"source": "crm", "table": "T", "key": ["id"], "fields": {"id": "ID"}, "get": {"operation": "X"}}
        },
    }
    with pytest.raises(ConfigError) as info:
        validate(config)
    assert "resources.c.get" in [path for path, _ in info.value.problems]


class _Fault:
    def __init__(self, code, subcodes=None):
        self.code, self.subcodes = code, subcodes


def test_soap_11_and_12_fault_codes_match_the_same_config():
    assert fault_codes(_Fault("soap11env:Client.ShipmentNotFound"))[-1] == "Client.ShipmentNotFound"
    codes = fault_codes(_Fault("soap12env:Sender", ["ShipmentNotFound"]))
    assert codes[-1] == "Client.ShipmentNotFound" and "Sender.ShipmentNotFound" in codes
