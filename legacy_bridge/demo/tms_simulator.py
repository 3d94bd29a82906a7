"""A legacy TMS (transport management system) as a real SOAP server, built with spyne.

It is what integrators meet in the field: PascalCase names, codes instead of words,
YYYYMMDD strings for dates, weights as decimals, page tokens, faults with codes of its
own (``Client.ShipmentNotFound``), and, when asked for, WS-Security or HTTP basic auth.
The same service answers SOAP 1.1 under ``/soap11`` and SOAP 1.2 under ``/soap12``
(WSDL at ``?wsdl``).  Used by the demo, the tests and the benchmark; the config that serves it
is tms_config.py.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from spyne import Application, ComplexModel, Fault, Integer, ServiceBase, Unicode, rpc
from spyne import Decimal as SDecimal
from spyne.model.complex import Array
from spyne.protocol.soap import Soap11, Soap12
from spyne.server.wsgi import WsgiApplication
from werkzeug.serving import make_server

__all__ = ["NAMESPACE", "TmsSimulator", "serve", "sample_shipments"]

NAMESPACE = "urn:legacy-tms:freight"
WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
PAGE_SIZE = 25
STATUSES = ("BK", "IT", "DL", "EX")  # booked, in transit, delivered, exception
CARRIERS = ("UPSN", "FDEG", "DHLX", "ODFL")
CITIES = (
    ("Boston", "US"),
    ("Köln", "DE"),
    ("Montréal", "CA"),
    ("Málaga", "ES"),
    ("Zürich", "CH"),
    ("Austin", "US"),
    ("Denver", "US"),
)
log = logging.getLogger(__name__)
# a client fault is an answer, not a server error: spyne would log each with a traceback
logging.getLogger("spyne.application.client").setLevel(logging.CRITICAL)


class Party(ComplexModel):
    __namespace__ = NAMESPACE
    Name = Unicode
    City = Unicode
    Country = Unicode


class Shipment(ComplexModel):
    __namespace__ = NAMESPACE
    ShipmentNo = Unicode
    Carrier = Unicode
    Status = Unicode
    ShipDate = Unicode  # YYYYMMDD, '00000000' when not yet shipped
    WeightKg = SDecimal
    Pieces = Integer
    Shipper = Party
    Consignee = Party


class ShipmentPage(ComplexModel):
    __namespace__ = NAMESPACE
    Shipments = Array(Shipment)
    NextPageToken = Unicode


class TrackingEvent(ComplexModel):
    __namespace__ = NAMESPACE
    ShipmentNo = Unicode
    Seq = Integer
    EventCode = Unicode
    EventDate = Unicode  # YYYYMMDD
    EventTime = Unicode  # HHMMSS
    Location = Unicode


class RateQuote(ComplexModel):
    __namespace__ = NAMESPACE
    Origin = Unicode
    Destination = Unicode
    WeightKg = SDecimal
    Carrier = Unicode
    AmountCents = Integer
    Currency = Unicode


def sample_shipments(count: int = 120) -> dict[str, dict[str, Any]]:
    """Deterministic shipments ``TMS000001``...; every 9th not yet shipped."""
    out = {}
    for n in range(1, count + 1):
        shipped = dt.date(2024, 1, 1) + dt.timedelta(days=n * 3 % 365)
        origin, dest = CITIES[n % len(CITIES)], CITIES[(n * 5 + 1) % len(CITIES)]
        out[f"TMS{n:06d}"] = {
            "ShipmentNo": f"TMS{n:06d}",
            "Carrier": CARRIERS[n % 4],
            "Status": STATUSES[n % 4],
            "ShipDate": "00000000" if n % 9 == 0 else shipped.strftime("%Y%m%d"),
            "WeightKg": Decimal(n * 37 % 2000) / 4,
            "Pieces": n % 12 + 1,
            "Shipper": {"Name": f"SHIPPER {n % 17:02d}", "City": origin[0], "Country": origin[1]},
            "Consignee": {"Name": f"CONSIGNEE {n:04d}", "City": dest[0], "Country": dest[1]},
        }
    return out


def _shipment(data: dict[str, Any]) -> Shipment:
    return Shipment(**{k: Party(**v) if isinstance(v, dict) else v for k, v in data.items()})


def _events(no: str, data: dict[str, Any]) -> list[TrackingEvent]:
    n = int(no[3:])
    codes = ("BK", "PU", "AR", "DL")[: 1 + STATUSES.index(data["Status"]) % 4]
    return [
        TrackingEvent(
            ShipmentNo=no,
            Seq=i + 1,
            EventCode=code,
            EventDate=(dt.date(2024, 1, 1) + dt.timedelta(days=n * 3 % 365 + i)).strftime("%Y%m%d"),
            EventTime=f"{(8 + i * 3) % 24:02d}{n % 60:02d}00",
            Location=CITIES[(n + i) % len(CITIES)][0],
        )
        for i, code in enumerate(codes)
    ]


@dataclass
class TmsSimulator:
    """The simulator's state and policy; :meth:`wsgi` is the app to serve.

    ``username``/``password`` demand a WS-Security UsernameToken (PasswordText);
    ``basic`` demands HTTP basic auth (``(user, password)``).  ``received`` keeps the
    WS-Security headers of the last calls (what a test can assert on).
    """

    shipments: dict[str, dict[str, Any]] = field(default_factory=sample_shipments)
    username: str | None = None
    password: str | None = None
    basic: tuple[str, str] | None = None
    received: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- WS-Security -----------------------------------------------------------------

    def _security(self, ctx: Any) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for element in ctx.in_header_doc or ():
            if element.tag != f"{{{WSSE_NS}}}Security":
                continue
            found["username"] = element.findtext(f".//{{{WSSE_NS}}}Username")
            found["password"] = element.findtext(f".//{{{WSSE_NS}}}Password")
            found["nonce"] = element.findtext(f".//{{{WSSE_NS}}}Nonce")
            found["created"] = element.findtext(f".//{{{WSU_NS}}}Timestamp/{{{WSU_NS}}}Created")
            found["expires"] = element.findtext(f".//{{{WSU_NS}}}Timestamp/{{{WSU_NS}}}Expires")
        return found

    def _on_call(self, ctx: Any) -> None:
        security = self._security(ctx)
        with self._lock:
            self.received = (self.received + [security])[-50:]
        if self.username is not None and (security.get("username"), security.get("password")) != (
            self.username,
            self.password,
        ):
            raise Fault("Client.Authentication", "a valid WS-Security UsernameToken is required")

    # -- the service ------------------------------------------------------------------

    def _service(self) -> type[ServiceBase]:
        sim = self

        class FreightService(ServiceBase):
            @rpc(Unicode, _returns=Shipment)
            def GetShipment(ctx, ShipmentNo):
                data = sim.shipments.get((ShipmentNo or "").strip().upper())
                if data is None:
                    raise Fault("Client.ShipmentNotFound", f"shipment {ShipmentNo} not on file")
                return _shipment(data)

            @rpc(Unicode, Unicode, Unicode, Integer, _returns=ShipmentPage)
            def ListShipments(ctx, Carrier, Status, PageToken, PageSize):
                if Status is not None and Status not in STATUSES:
                    raise Fault("Client.InvalidStatus", f"status code {Status} unknown")
                size = min(PageSize or PAGE_SIZE, 100)
                rows = [
                    d
                    for no, d in sorted(sim.shipments.items())
                    if (PageToken is None or no > PageToken)
                    and Carrier in (None, d["Carrier"])
                    and Status in (None, d["Status"])
                ]
                page = rows[:size]
                return ShipmentPage(
                    Shipments=[_shipment(d) for d in page],
                    NextPageToken=page[-1]["ShipmentNo"] if len(rows) > size else None,
                )

            @rpc(Shipment, _returns=Shipment)
            def CreateShipment(ctx, Shipment):
                if Shipment is None or not Shipment.Carrier or Shipment.Carrier not in CARRIERS:
                    raise Fault("Client.InvalidShipment", f"carrier must be one of {', '.join(CARRIERS)}")
                if Shipment.WeightKg is None or Shipment.WeightKg <= 0:
                    raise Fault("Client.InvalidShipment", "weight must be positive")
                with sim._lock:
                    no = f"TMS{len(sim.shipments) + 1:06d}"
                    data = {
                        "ShipmentNo": no,
                        "Carrier": Shipment.Carrier,
                        "Status": "BK",
                        "ShipDate": Shipment.ShipDate or "00000000",
                        "WeightKg": Shipment.WeightKg,
                        "Pieces": Shipment.Pieces or 1,
                        "Shipper": _party(Shipment.Shipper),
                        "Consignee": _party(Shipment.Consignee),
                    }
                    sim.shipments[no] = data
                return _shipment(data)

            @rpc(Unicode, _returns=Array(TrackingEvent))
            def GetTrackingEvents(ctx, ShipmentNo):
                data = sim.shipments.get((ShipmentNo or "").strip().upper())
                if data is None:
                    raise Fault("Client.ShipmentNotFound", f"shipment {ShipmentNo} not on file")
                return _events(data["ShipmentNo"], data)

            @rpc(Unicode, Unicode, SDecimal, _returns=Array(RateQuote))
            def QuoteRates(ctx, Origin, Destination, WeightKg):
                if not Origin or not Destination or WeightKg is None:
                    raise Fault("Client.MissingParameter", "Origin, Destination and WeightKg are required")
                base = 900 + (len(Origin) * 131 + len(Destination) * 71) % 1500
                return [
                    RateQuote(
                        Origin=Origin,
                        Destination=Destination,
                        WeightKg=WeightKg,
                        Carrier=c,
                        AmountCents=int(base + i * 250 + WeightKg * (40 + 5 * i)),
                        Currency="USD",
                    )
                    for i, c in enumerate(CARRIERS)
                ]

        FreightService.event_manager.add_listener("method_call", self._on_call)
        return FreightService

    def wsgi(self) -> Any:
        """The WSGI app: ``/soap11`` and ``/soap12`` (``?wsdl`` for each WSDL)."""
        service = self._service()
        apps = {
            f"/{name}": WsgiApplication(
                Application(
                    [service],
                    tns=NAMESPACE,
                    name="FreightService",
                    in_protocol=proto(validator="lxml"),
                    out_protocol=proto(),
                )
            )
            for name, proto in (("soap11", Soap11), ("soap12", Soap12))
        }

        def dispatch(environ: dict, start_response: Any) -> Any:
            if self.basic and environ.get("HTTP_AUTHORIZATION") != _basic_header(*self.basic):
                start_response(
                    "401 Unauthorized", [("WWW-Authenticate", 'Basic realm="tms"'), ("Content-Type", "text/plain")]
                )
                return [b"authentication required"]
            # the last path segment picks the protocol: /soap11, or /any/prefix/soap11 (several
            # "services" on one simulator, as the benchmark's sources are)
            app = apps.get("/" + environ.get("PATH_INFO", "").rstrip("/").rsplit("/", 1)[-1])
            if app is None:
                start_response("404 Not Found", [("Content-Type", "text/plain")])
                return [b"try /soap11?wsdl or /soap12?wsdl"]
            return app(environ, start_response)

        return dispatch


def _party(party: Any) -> dict[str, Any]:
    return {k: getattr(party, k, None) for k in ("Name", "City", "Country")}


def _basic_header(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@contextmanager
def serve(simulator: TmsSimulator | None = None, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve a simulator in a thread; yields its base URL, stops it on exit."""
    httpd = make_server(host, port, (simulator or TmsSimulator()).wsgi(), threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, name="tms-simulator", daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{httpd.server_port}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)
