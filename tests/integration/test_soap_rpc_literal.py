"""rpc/literal SOAP end to end: zeep must send the operation-named wrapper with
unqualified parts, and read the part back, for get, list (with a pushed-down filter and
without it), create and a mapped fault; and ``introspect --wsdl`` drafts that serve as printed.

spyne speaks document/literal only, and the one rpc WSDL in ../shared/testdata is
rpc/encoded, so the service here is a small WSGI responder of our own over a real
loopback HTTP server: it refuses any envelope that is not rpc/literal.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
import yaml
from click.testing import CliRunner
from lxml import etree

from helpers.backends import make_app
from helpers.servers import serve_app
from legacy_bridge.cli import main

NS = "urn:legacy:rates"
SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
WSDL = """\
<?xml version="1.0" encoding="utf-8"?>
<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
             xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:tns="urn:legacy:rates"
             targetNamespace="urn:legacy:rates" name="Rates">
  <types>
    <xsd:schema targetNamespace="urn:legacy:rates">
      <xsd:complexType name="Rate">
        <xsd:sequence>
          <xsd:element name="Lane" type="xsd:string"/>
          <xsd:element name="Carrier" type="xsd:string"/>
          <xsd:element name="Amount" type="xsd:decimal"/>
        </xsd:sequence>
      </xsd:complexType>
      <xsd:complexType name="RateList">
        <xsd:sequence>
          <xsd:element name="Rate" type="tns:Rate" minOccurs="0" maxOccurs="unbounded"/>
        </xsd:sequence>
      </xsd:complexType>
    </xsd:schema>
  </types>
  <message name="GetRateRequest"><part name="Lane" type="xsd:string"/></message>
  <message name="GetRateResponse"><part name="rate" type="tns:Rate"/></message>
  <message name="ListRatesRequest"><part name="Carrier" type="xsd:string"/></message>
  <message name="ListRatesResponse"><part name="rates" type="tns:RateList"/></message>
  <message name="CreateRateRequest"><part name="rate" type="tns:Rate"/></message>
  <message name="CreateRateResponse"><part name="rate" type="tns:Rate"/></message>
  <portType name="RatesPortType">
    <operation name="GetRate"><input message="tns:GetRateRequest"/><output message="tns:GetRateResponse"/></operation>
    <operation name="ListRates"><input message="tns:ListRatesRequest"/><output message="tns:ListRatesResponse"/></operation>
    <operation name="CreateRate"><input message="tns:CreateRateRequest"/><output message="tns:CreateRateResponse"/></operation>
  </portType>
  <binding name="RatesBinding" type="tns:RatesPortType">
    <soap:binding style="rpc" transport="http://schemas.xmlsoap.org/soap/http"/>
    <operation name="GetRate">
      <soap:operation soapAction="urn:legacy:rates#GetRate"/>
      <input><soap:body use="literal" namespace="urn:legacy:rates"/></input>
      <output><soap:body use="literal" namespace="urn:legacy:rates"/></output>
    </operation>
    <operation name="ListRates">
      <soap:operation soapAction="urn:legacy:rates#ListRates"/>
      <input><soap:body use="literal" namespace="urn:legacy:rates"/></input>
      <output><soap:body use="literal" namespace="urn:legacy:rates"/></output>
    </operation>
    <operation name="CreateRate">
      <soap:operation soapAction="urn:legacy:rates#CreateRate"/>
      <input><soap:body use="literal" namespace="urn:legacy:rates"/></input>
      <output><soap:body use="literal" namespace="urn:legacy:rates"/></output>
    </operation>
  </binding>
  <service name="Rates">
    <port name="RatesPort" binding="tns:RatesBinding"><soap:address location="{address}"/></port>
  </service>
</definitions>
"""
RATES = {"HAM-MUC": ("NORDFRACHT", "412.50"), "HAM-BER": ("NORDFRACHT", "298.00"), "MUC-VIE": ("ALPENLOG", "377.25")}


def _envelope(body: str) -> bytes:
    return f'<s:Envelope xmlns:s="{SOAP}"><s:Body>{body}</s:Body></s:Envelope>'.encode()


def _rate(tag: str, lane: str) -> str:
    carrier, amount = RATES[lane]
    return f"<{tag}><Lane>{lane}</Lane><Carrier>{carrier}</Carrier><Amount>{amount}</Amount></{tag}>"


def _fault(code: str, text: str) -> bytes:
    return _envelope(f"<s:Fault><faultcode>s:{code}</faultcode><faultstring>{text}</faultstring></s:Fault>")


def rates_service(received: list):
    """A legacy rpc/literal rate service: the WSDL at ``?wsdl``, the calls by POST."""

    def app(environ, start_response):
        if environ["REQUEST_METHOD"] == "GET":
            address = f"http://{environ['HTTP_HOST']}/rates"
            start_response("200 OK", [("Content-Type", "text/xml")])
            return [WSDL.replace("{address}", address).encode()]
        body = etree.fromstring(environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"])))
        call = body.find(f"{{{SOAP}}}Body")[0]
        received.append(
            (
                environ.get("HTTP_SOAPACTION"),
                etree.QName(call).namespace,
                etree.QName(call).localname,
                {child.tag: child.text for child in call},
            )
        )
        answer, status = _answer(call)
        start_response(status, [("Content-Type", "text/xml; charset=utf-8")])
        return [answer]

    return app


def _answer(call) -> tuple[bytes, str]:
    name = etree.QName(call)
    parts = {child.tag: child for child in call}
    if name.namespace != NS or any("}" in tag for tag in parts):  # rpc/literal: unqualified parts
        return _fault("Client.NotRpcLiteral", "expected an rpc/literal call"), "500 Internal Server Error"
    wrap = f'ns:{name.localname}Response xmlns:ns="{NS}"'
    if name.localname == "GetRate":
        lane = parts["Lane"].text
        if lane not in RATES:
            return _fault("Client.RateNotFound", f"no rate for lane {lane}"), "500 Internal Server Error"
        return _envelope(f"<{wrap}>{_rate('rate', lane)}</ns:GetRateResponse>"), "200 OK"
    if name.localname == "ListRates":
        carrier = parts["Carrier"].text if "Carrier" in parts else None
        rates = "".join(_rate("Rate", lane) for lane, (c, _) in RATES.items() if carrier in (None, c))
        return _envelope(f"<{wrap}><rates>{rates}</rates></ns:ListRatesResponse>"), "200 OK"
    if name.localname == "CreateRate":
        rate = {child.tag: child.text for child in parts["rate"]}
        RATES[rate["Lane"]] = (rate["Carrier"], rate["Amount"])
        return _envelope(f"<{wrap}>{_rate('rate', rate['Lane'])}</ns:CreateRateResponse>"), "200 OK"
    return _fault("Client.UnknownOperation", name.localname), "500 Internal Server Error"


@pytest.fixture(scope="module")
def service():
    received: list = []
    with serve_app(rates_service(received), ready_path="/rates?wsdl") as server:
        server.received = received
        yield server


@pytest.fixture(scope="module")
def client(service):
    app = make_app(
        {
            "service": {"secret": "s"},
            "sources": {"rates": {"kind": "soap", "wsdl": f"{service.url}/rates?wsdl", "timeout": "5s"}},
            "resources": {
                "rates": {
                    "source": "rates",
                    "key": ["lane"],
                    "description": "Freight rates (rpc/literal)",
                    "get": {"operation": "GetRate", "params": {"Lane": "{key}"}},
                    "list": {"operation": "ListRates", "params": {"Carrier": "{filter.carrier}"}},
                    "create": {"operation": "CreateRate", "params": {"rate": "{body}"}},
                    "faults": {"not_found": ["Client.RateNotFound"]},
                    "fields": {
                        "lane": {"column": "Lane"},
                        "carrier": {"column": "Carrier", "filter": True},
                        "amount": {"column": "Amount", "converter": {"decimal": {"scale": 2}}},
                    },
                }
            },
        }
    )
    yield app.test_client()
    app.extensions["legacy_bridge"].close()


def test_get_sends_an_rpc_literal_call_and_maps_the_part(client, service):
    service.received.clear()
    response = client.get("/v1/rates/HAM-MUC")
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"lane": "HAM-MUC", "carrier": "NORDFRACHT", "amount": "412.50"}
    assert service.received == [(f'"{NS}#GetRate"', NS, "GetRate", {"Lane": "HAM-MUC"})]


def test_list_passes_the_filter_as_a_part(client, service):
    service.received.clear()
    body = client.get("/v1/rates?carrier=NORDFRACHT").get_json()
    assert sorted(item["lane"] for item in body["data"]) == ["HAM-BER", "HAM-MUC"]
    assert [call[3] for call in service.received] == [{"Carrier": "NORDFRACHT"}]


def test_a_list_without_the_filter_leaves_the_required_part_out(client, service):
    service.received.clear()
    body = client.get("/v1/rates").get_json()
    assert sorted(item["lane"] for item in body["data"]) == sorted(RATES)
    assert [call[3] for call in service.received] == [{}]


def test_an_unknown_key_is_the_mapped_fault_a_404(client):
    body = client.get("/v1/rates/OSL-LIS").get_json()
    assert body["status"] == 404 and body["fault_code"] == "Client.RateNotFound"


def test_create_sends_the_record_as_one_part(client, service):
    service.received.clear()
    response = client.post("/v1/rates", json={"lane": "BER-PRG", "carrier": "ELBELINE", "amount": "199.90"})
    assert response.status_code == 201, response.get_json()
    assert response.get_json() == {"lane": "BER-PRG", "carrier": "ELBELINE", "amount": "199.90"}
    assert RATES["BER-PRG"] == ("ELBELINE", "199.90")
    assert client.get("/v1/rates/BER-PRG").get_json()["amount"] == "199.90"
    assert Decimal(RATES.pop("BER-PRG")[1]) == Decimal("199.90")


@pytest.mark.parametrize(
    "operation, path, expected",
    [
        ("GetRate", "/v1/rates/MUC-VIE", {"lane": "MUC-VIE", "carrier": "ALPENLOG", "amount": "377.25"}),
        (
            "ListRates",
            "/v1/rates?carrier=ALPENLOG",
            {"data": [{"lane": "MUC-VIE", "carrier": "ALPENLOG", "amount": "377.25"}], "next": None},
        ),
    ],
)
def test_introspect_drafts_of_rpc_operations_serve_as_printed(service, operation, path, expected):
    result = CliRunner().invoke(
        main, ["introspect", "--wsdl", f"{service.url}/rates?wsdl", "--operation", operation, "--name", "rates"]
    )
    assert result.exit_code == 0, result.output
    app = make_app({"service": {"secret": "s"}, **yaml.safe_load(result.stdout)})
    assert app.test_client().get(path).get_json() == expected
