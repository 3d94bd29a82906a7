"""A legacy warehouse service of shipping manifests, built with spyne, for the SOAP tests of
nested answers, date ranges, key-only creates and fault mapping.

- ``GetManifest(ManifestNo)``: a manifest's own elements and its wrapped lines (``Lines/ManifestLine``).
- ``GetManifestDocument(ManifestNo)``: the same as a ``Header`` element beside the ``Lines``.
- ``ListManifests(DateFrom, DateTo, PageToken)``: manifests shipped in a YYYYMMDD range, both
  ends inclusive and each optional, in pages of ``PAGE_SIZE`` with a page token.
- ``CreateManifest(Manifest)``: a document with several lines; answers only the new number.
  Refuses a duplicate reference (``Client.DuplicateManifest``), a line whose quantity is not
  from 1 to ``MAX_QTY`` (``Client.RuleViolation``) and a missing carrier (``Client.InvalidManifest``).
- ``UpdateManifest(Manifest)``: replaces the manifest of that number with the one sent (its
  lines included); answers it as filed.  Refuses an unknown number (``Client.ManifestNotFound``),
  a reference another manifest holds (``Client.DuplicateManifest``) and the create's rules.
- ``DeleteManifest(ManifestNo)``: removes it (``Client.ManifestNotFound`` when there is none).
- While ``down`` is set, every call is the fault ``Server.BackendUnavailable``.

``calls`` keeps (operation, arguments) of every call, for tests to see what was pushed down.
:func:`serve_manifests` serves one on a free loopback port; :data:`CONFIG` exposes it (YAML alone).
"""

from __future__ import annotations

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
from spyne.protocol.soap import Soap11
from spyne.server.wsgi import WsgiApplication
from zeep.helpers import serialize_object

from helpers.servers import serve_app

NAMESPACE = "urn:legacy-wms:manifests"
PAGE_SIZE = 4
MAX_QTY = 999  # a business rule of the service's own: more on one line is refused
CARRIERS = ("UPSN", "FDEG", "DHLX")
CONFIG = """
service: {secret: s, max_limit: 100}
sources:
  wms: {kind: soap, wsdl: "URL/manifests?wsdl", timeout: 5s}
resources:
  manifests:
    source: wms
    key: [manifest_no]
    get: {operation: GetManifest, params: {ManifestNo: "{key}"}}
    list:
      operation: ListManifests
      records: Manifests.Manifest
      next: NextPageToken
      params: {DateFrom: "{filter.shipped_on.gte}", DateTo: "{filter.shipped_on.lte}", PageToken: "{page}"}
    create: {operation: CreateManifest, params: {Manifest: "{body}"}, returns: key}
    faults:
      not_found: [Client.ManifestNotFound]
      invalid: [Client.InvalidManifest]
      conflict: [Client.DuplicateManifest]
      unprocessable: [Client.RuleViolation]
      unavailable: {codes: [Server.BackendUnavailable], retry_after: 30}
    fields:
      manifest_no: ManifestNo
      reference: {column: Reference, filter: true}
      carrier: {column: Carrier, filter: true}
      shipped_on: {column: ShipDate, converter: {yyyymmdd: {as: str}}, filter: true}
"""
logging.getLogger("spyne.application.client").setLevel(logging.CRITICAL)
logging.getLogger("spyne.application.server").setLevel(logging.CRITICAL)


class ManifestLine(ComplexModel):
    __namespace__ = NAMESPACE
    LineNo = Integer
    Sku = Unicode
    Qty = Integer
    WeightKg = SDecimal
    Hazmat = Unicode  # Y / N


class Manifest(ComplexModel):
    __namespace__ = NAMESPACE
    ManifestNo = Unicode
    Reference = Unicode
    Carrier = Unicode
    ShipDate = Unicode  # YYYYMMDD
    Lines = Array(ManifestLine)
    Tags = Array(Unicode)  # handling codes: an array of scalars (Tags/string)


class ManifestHeader(ComplexModel):
    __namespace__ = NAMESPACE
    ManifestNo = Unicode
    Reference = Unicode
    Carrier = Unicode
    ShipDate = Unicode


class ManifestDocument(ComplexModel):
    __namespace__ = NAMESPACE
    Header = ManifestHeader
    Lines = Array(ManifestLine)


class ManifestPage(ComplexModel):
    __namespace__ = NAMESPACE
    Manifests = Array(Manifest)
    NextPageToken = Unicode


def sample_manifests(count: int = 30) -> dict[str, dict[str, Any]]:
    """``M00001``...: shipped every other day from 2024-03-01, with n % 4 lines (some none)."""
    out = {}
    for n in range(1, count + 1):
        out[f"M{n:05d}"] = {
            "ManifestNo": f"M{n:05d}",
            "Reference": f"REF-{n:04d}",
            "Carrier": CARRIERS[n % 3],
            "ShipDate": (dt.date(2024, 3, 1) + dt.timedelta(days=2 * (n - 1))).strftime("%Y%m%d"),
            "Lines": [
                {
                    "LineNo": i,
                    "Sku": f"SKU{(n * 7 + i) % 50:03d}",
                    "Qty": n + i,
                    "WeightKg": Decimal(n * 13 + i * 5) / 4,
                    "Hazmat": "Y" if (n + i) % 5 == 0 else "N",
                }
                for i in range(1, n % 4 + 1)
            ],
            "Tags": [tag for tag, every in (("FRAGILE", 3), ("COLD", 5)) if n % every == 0],
        }
    return out


def _manifest(data: dict[str, Any]) -> Manifest:
    return Manifest(**{**data, "Lines": [ManifestLine(**line) for line in data["Lines"]]})


def _filed(no: str, manifest: Any, renumber: bool) -> dict[str, Any]:
    """A manifest sent to the service as it keeps it, under number ``no`` (``renumber``: its
    lines numbered from 1, as a create files them; else as sent, where sent)."""
    return {
        "ManifestNo": no,
        "Reference": manifest.Reference,
        "Carrier": manifest.Carrier,
        "ShipDate": manifest.ShipDate or "00000000",
        "Tags": list(manifest.Tags or []),
        "Lines": [
            {
                "LineNo": i if renumber else line.LineNo or i,
                "Sku": line.Sku,
                "Qty": line.Qty,
                "WeightKg": line.WeightKg,
                "Hazmat": line.Hazmat or "N",
            }
            for i, line in enumerate(manifest.Lines or [], 1)
        ],
    }


@dataclass
class ManifestService:
    manifests: dict[str, dict[str, Any]] = field(default_factory=sample_manifests)
    down: bool = False
    url: str = ""  # where serve_manifests serves it
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _call(self, operation: str, **arguments: Any) -> None:
        with self._lock:
            self.calls.append((operation, arguments))
        if self.down:
            raise Fault("Server.BackendUnavailable", "the manifest back end is down for maintenance")

    def _find(self, operation: str, number: str | None) -> dict[str, Any]:
        self._call(operation, ManifestNo=number)
        data = self.manifests.get(number or "")
        if data is None:
            raise Fault("Client.ManifestNotFound", f"manifest {number} not on file")
        return data

    def _refuse(self, manifest: Any) -> None:
        """The business rules of a create or an update, as faults."""
        if manifest is None or not manifest.Carrier:
            raise Fault("Client.InvalidManifest", "a manifest needs a carrier")
        if any(not line.Qty or not 0 < line.Qty <= MAX_QTY for line in manifest.Lines or []):
            raise Fault("Client.RuleViolation", f"every line needs a quantity from 1 to {MAX_QTY}")

    def _service(self) -> type[ServiceBase]:
        svc = self

        class ManifestService(ServiceBase):
            @rpc(Unicode, _returns=Manifest)
            def GetManifest(ctx, ManifestNo):
                return _manifest(svc._find("GetManifest", ManifestNo))

            @rpc(Unicode, _returns=ManifestDocument)
            def GetManifestDocument(ctx, ManifestNo):
                data = svc._find("GetManifestDocument", ManifestNo)
                header = ManifestHeader(**{k: v for k, v in data.items() if k not in ("Lines", "Tags")})
                return ManifestDocument(Header=header, Lines=[ManifestLine(**line) for line in data["Lines"]])

            @rpc(Unicode, Unicode, Unicode, _returns=ManifestPage)
            def ListManifests(ctx, DateFrom, DateTo, PageToken):
                svc._call("ListManifests", DateFrom=DateFrom, DateTo=DateTo, PageToken=PageToken)
                rows = [
                    d
                    for no, d in sorted(svc.manifests.items())
                    if (PageToken is None or no > PageToken)
                    and (DateFrom is None or d["ShipDate"] >= DateFrom)
                    and (DateTo is None or d["ShipDate"] <= DateTo)
                ]
                page = rows[:PAGE_SIZE]
                return ManifestPage(
                    Manifests=[_manifest(d) for d in page],
                    NextPageToken=page[-1]["ManifestNo"] if len(rows) > PAGE_SIZE else None,
                )

            @rpc(Manifest, _returns=Unicode)
            def CreateManifest(ctx, Manifest):
                svc._call("CreateManifest", Manifest=Manifest)
                svc._refuse(Manifest)
                with svc._lock:
                    if any(d["Reference"] == Manifest.Reference for d in svc.manifests.values()):
                        raise Fault("Client.DuplicateManifest", f"reference {Manifest.Reference} already filed")
                    no = f"M{len(svc.manifests) + 1:05d}"
                    svc.manifests[no] = _filed(no, Manifest, renumber=True)
                return no

            @rpc(Manifest, _returns=Manifest)
            def UpdateManifest(ctx, Manifest):
                svc._call("UpdateManifest", Manifest=Manifest)
                no = getattr(Manifest, "ManifestNo", None)
                if no not in svc.manifests:
                    raise Fault("Client.ManifestNotFound", f"manifest {no} not on file")
                svc._refuse(Manifest)
                with svc._lock:
                    if any(d["Reference"] == Manifest.Reference and n != no for n, d in svc.manifests.items()):
                        raise Fault("Client.DuplicateManifest", f"reference {Manifest.Reference} already filed")
                    svc.manifests[no] = _filed(no, Manifest, renumber=False)
                return _manifest(svc.manifests[no])

            @rpc(Unicode, _returns=Unicode)
            def DeleteManifest(ctx, ManifestNo):
                svc._find("DeleteManifest", ManifestNo)
                with svc._lock:
                    svc.manifests.pop(ManifestNo, None)
                return "deleted"

        return ManifestService

    def wsgi(self) -> Any:
        """The WSGI app: the WSDL at ``/manifests?wsdl``, calls by POST to ``/manifests``."""
        return WsgiApplication(
            Application(
                [self._service()],
                tns=NAMESPACE,
                name="ManifestService",
                in_protocol=Soap11(validator="lxml"),
                out_protocol=Soap11(),
            )
        )


@contextmanager
def serve_manifests() -> Iterator[ManifestService]:
    """A fresh service on a free loopback port (``.url``), stopped on exit."""
    svc = ManifestService()
    with serve_app(svc.wsgi(), ready_path="/manifests?wsdl") as server:
        svc.url = server.url
        yield svc


def zeep_manifests(zeep_service: Any, date_from: str | None, date_to: str | None) -> list[dict]:
    """Every manifest ListManifests answers, page after page, read by zeep directly."""
    out, token = [], None
    while True:
        page = serialize_object(zeep_service.ListManifests(date_from, date_to, token), target_cls=dict)
        out += (page["Manifests"] or {}).get("Manifest") or []
        token = page["NextPageToken"]
        if not token:
            return out


def walk(client: Any, url: str) -> list[dict]:
    """Every record of a list route, following its cursors (``url`` has a query string)."""
    seen, body = [], client.get(url).get_json()
    while True:
        seen += body["data"]
        if not body["next"]:
            return seen
        body = client.get(f"{url}&cursor={body['next']}").get_json()
