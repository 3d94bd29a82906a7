"""Legacy SOAP services (zeep): operations bound to a resource's get, list, create, update
and delete.

A resource's target names operations, not tables::

    get:    {operation: GetShipment, params: {ShipmentNo: "{key}"}}
    list:   {operation: ListShipments, params: {Carrier: "{filter.carrier}", PageToken: "{page}"},
             records: Shipments.Shipment, next: NextPageToken}
    create: {operation: CreateShipment, params: {Shipment: "{body}"}}
    update: {operation: UpdateShipment, params: {Shipment: "{body}"}}
    delete: {operation: CancelShipment, params: {ShipmentNo: "{key}"}}
    faults: {not_found: [Client.ShipmentNotFound], invalid: [Client.InvalidShipment]}

Columns are dotted paths into ``zeep.helpers.serialize_object`` output
(``Consignee.Name``); records.py finds the records (and a child's parent) in an answer and
reads rows, nested columns included.  The filters bound to a list parameter (``{filter.<field>}``,
``{filter.<field>.gte}``, params.py) are pushed down; the core applies the rest after the
call.  Faults become domain errors by code (faults.py).  Lists are read in the
service's own order: a row's cursor is (page token, position in that page), so a
service with page tokens resumes at its page and one without is re-read and skipped.
Writes (create, update, delete) are in writes.py.  zeep and requests errors are translated
here, once.
"""

from __future__ import annotations

import logging
import re
import socket
import threading
import time
from contextlib import nullcontext
from typing import Any
from urllib.parse import urlsplit

import requests
from zeep import Client
from zeep import exceptions as zx
from zeep.helpers import serialize_object

from legacy_bridge.drivers.base import Driver, outgoing_headers
from legacy_bridge.drivers.soap.faults import translate_fault
from legacy_bridge.drivers.soap.params import PARAMETER_OPERATORS, fill, filter_bindings, filter_values
from legacy_bridge.drivers.soap.records import PAGE, ROW, records, row_reader, walk
from legacy_bridge.drivers.soap.writes import OperationWrites
from legacy_bridge.drivers.soap.wsdl import SOAP_VERSIONS, build_transport, load_document, select_port, wsse_token
from legacy_bridge.errors import FaultNotFound, InvalidInput, SourceError, SourceTimeout, SourceUnavailable
from legacy_bridge.query.legacy import Condition, Query, Rows

log = logging.getLogger(__name__)
OPTIONS = {
    "kind",
    "wsdl",
    "service",
    "port",
    "soap_version",
    "address",
    "timeout",
    "connect_timeout",
    "wsse",
    "basic_auth",
    "wsdl_cache",
    "strict",
    "wsdl_retry",
    "pool",
}


# XML 1.0 cannot carry these at all: a value holding one is the caller's error (400), found
# before lxml refuses it with a bare ValueError deep inside zeep.
NOT_XML = ((0x0, 0x8), (0xB, 0xC), (0xE, 0x1F), (0xD800, 0xDFFF), (0xFFFE, 0xFFFF))
_NOT_XML = re.compile("[" + "".join(f"{chr(a)}-{chr(b)}" for a, b in NOT_XML) + "]")


def _refuse_non_xml(value: Any, operation: str) -> None:
    if isinstance(value, str):
        if _NOT_XML.search(value):
            raise InvalidInput(
                f"{operation} cannot send a value with a control character or a lone surrogate (XML cannot carry it)",
                slug="invalid-input",
            )
    elif isinstance(value, dict):
        for item in value.values():
            _refuse_non_xml(item, operation)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _refuse_non_xml(item, operation)


class SoapDriver(OperationWrites, Driver):
    """One SOAP service, described by its WSDL (URL or file)."""

    kind = "soap"
    supports_pushdown = True  # filters bound to the list operation's {filter.x} parameters
    pushdown_operators = frozenset(PARAMETER_OPERATORS)
    unsendable = NOT_XML
    supports_sort = False  # read in the service's own order
    supports_writes = True
    natural_order = (PAGE, ROW)
    target_keys = ("get", "list", "create", "update", "delete")
    checks_targets = True  # the operations named are the WSDL's

    def __init__(self, name: str, options: dict[str, Any], session: requests.Session | None = None) -> None:
        super().__init__(name, options)
        self.transport = build_transport(options, session)
        self.retry_after = float(options.get("wsdl_retry", 10))
        self._proxy: Any = None
        self._address: str | None = None
        self._failure: tuple[float, SourceUnavailable] | None = None
        self._lock = threading.Lock()
        self._bindings: dict[int, dict[tuple[str, str], str]] = {}

    @classmethod
    def check_options(cls, options: dict[str, Any]) -> list[tuple[str, str]]:
        problems = [(k, f"unknown key; known: {', '.join(sorted(OPTIONS))}") for k in options if k not in OPTIONS]
        if not isinstance(options.get("wsdl"), str) or not options.get("wsdl"):
            problems.append(("wsdl", "required: the WSDL's URL or file path"))
        version = options.get("soap_version")
        if version is not None and str(version) not in SOAP_VERSIONS:
            problems.append(("soap_version", f"expected one of {', '.join(SOAP_VERSIONS)}, got {version!r}"))
        elif version is not None:
            options["soap_version"] = str(version)
        for key in ("wsse", "basic_auth"):
            value = options.get(key)
            if value is None:
                continue
            if not isinstance(value, dict) or not value.get("username"):
                problems.append((key, "expected {username: ..., password: ...}"))
                continue
            known = {"username", "password"} | ({"digest", "timestamp"} if key == "wsse" else set())
            problems += [
                (f"{key}.{k}", f"unknown key; known: {', '.join(sorted(known))}") for k in value if k not in known
            ]
        return problems

    # -- the service proxy, built once, retried after a pause when it failed ---------

    def proxy(self) -> Any:
        """The zeep service proxy; raises SourceUnavailable while the WSDL cannot be loaded."""
        if self._proxy is not None:
            return self._proxy
        with self._lock:
            if self._proxy is not None:
                return self._proxy
            if self._failure and time.monotonic() - self._failure[0] < self.retry_after:
                raise self._failure[1]
            try:
                self._proxy = self._build()
                self._failure = None
            except SourceUnavailable as error:
                self._failure = (time.monotonic(), error)
                raise
            return self._proxy

    def _build(self) -> Any:
        opts = self.options
        location = opts["wsdl"]
        try:
            document = load_document(location, self.transport, opts.get("strict", True))
            _, port = select_port(document, opts.get("service"), opts.get("port"), opts.get("soap_version"))
        except requests.RequestException as exc:
            url = getattr(exc.request, "url", None) or location
            needs = "" if url == location else f": it needs {url}, which cannot be fetched"
            raise self._unavailable(
                f"the WSDL of source {self.name!r} ({location}) cannot be loaded{needs} ({type(exc).__name__})", exc
            ) from exc
        except (OSError, ValueError, zx.Error) as exc:
            raise self._unavailable(
                f"the WSDL of source {self.name!r} ({location}) cannot be loaded: {' '.join(str(exc).split())[:300]}",
                exc,
            ) from exc
        client = Client(
            document, transport=self.transport, wsse=wsse_token(opts.get("wsse")), settings=document.settings
        )
        self._address = opts.get("address") or port.binding_options["address"]
        return client.create_service(port.binding.name, self._address)

    def _unavailable(self, detail: str, exc: BaseException) -> SourceUnavailable:
        log.warning("source %s: %s (%s)", self.name, detail, exc)
        error = SourceUnavailable(detail, self.name, "wsdl")
        error.retry_after = max(1, int(self.retry_after))
        return error

    def probe(self, timeout: float) -> None:
        """The WSDL is loaded and the service's address accepts a connection."""
        self.proxy()
        parts = urlsplit(self._address or "")
        try:
            socket.create_connection(
                (parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)), timeout=timeout
            ).close()
        except TimeoutError as exc:
            raise SourceTimeout(f"source {self.name!r} did not answer in time", self.name) from exc
        except OSError as exc:
            raise SourceUnavailable(f"source {self.name!r} cannot be reached", self.name) from exc

    def close(self) -> None:
        self.transport.close()

    def describe_target(self, target: dict[str, Any]) -> str:
        return "operations " + ", ".join(f"{op} {target[op]['operation']}" for op in self.target_keys if op in target)

    def check_target(self, target: dict[str, Any]) -> list[str]:
        """Every operation the resource names is one of the service's."""
        known = set(self.proxy()._operations)
        return [
            f"{op}: the service has no operation {target[op]['operation']!r}; operations: {', '.join(sorted(known))}"
            for op in self.target_keys
            if op in target and target[op]["operation"] not in known
        ]

    # -- calls -----------------------------------------------------------------------

    def call(self, spec: dict[str, Any], params: dict[str, Any], target: dict[str, Any]) -> Any:
        """Run one operation; every zeep/requests error comes out as the service's own."""
        proxy = self.proxy()
        try:
            operation = proxy[spec["operation"]]
        except (AttributeError, ValueError):
            raise SourceError(
                f"source {self.name!r} has no operation {spec['operation']!r}; operations: "
                f"{', '.join(sorted(proxy._operations))}",
                self.name,
                "operation",
            ) from None
        _refuse_non_xml(params, spec["operation"])
        headers = outgoing_headers.get()  # the caller's trace context, as HTTP headers
        try:
            with proxy._client.settings(extra_http_headers=headers) if headers else nullcontext():
                answer = operation(**params)
            return serialize_object(answer, target_cls=dict)
        except zx.Fault as fault:
            raise translate_fault(self.name, fault, target.get("faults", {})) from None
        except requests.Timeout:
            raise SourceTimeout(f"source {self.name!r} did not answer in time", self.name) from None
        except requests.ConnectionError as exc:
            log.warning("source %s: %s", self.name, exc)
            raise SourceUnavailable(f"source {self.name!r} cannot be reached", self.name) from None
        except zx.TransportError as exc:
            log.warning("source %s: HTTP %s: %.300s", self.name, exc.status_code, exc.content)
            cls = SourceUnavailable if exc.status_code in (502, 503, 504) else SourceError
            raise cls(
                f"source {self.name!r} answered HTTP {exc.status_code}", self.name, f"HTTP {exc.status_code}"
            ) from None
        except (zx.ValidationError, TypeError) as exc:
            raise InvalidInput(f"{spec['operation']} refuses these values: {exc}", slug="invalid-input") from None
        except (zx.XMLSyntaxError, zx.XMLParseError, zx.Error) as exc:
            log.warning("source %s: unreadable answer: %s", self.name, exc)
            raise SourceError(
                f"source {self.name!r} answered with something that is not a SOAP response", self.name
            ) from None

    # -- reads -----------------------------------------------------------------------

    def bindings(self, target: dict[str, Any]) -> dict[tuple[str, str], str]:
        """(column, operator) -> list parameter, per target (params.filter_bindings)."""
        found = self._bindings.get(id(target))
        if found is None:
            found = self._bindings[id(target)] = filter_bindings(target)
        return found

    def filter_columns(self, target: dict[str, Any]) -> frozenset[str]:
        return frozenset(column for column, _ in self.bindings(target))

    def pushable(self, condition: Condition, target: dict[str, Any]) -> bool:
        """A condition is pushed when its column and operator are bound to a list parameter."""
        return (condition.column, condition.op) in self.bindings(target)

    def reader(self, target: dict[str, Any], columns: Any, spec: dict[str, Any] | None = None) -> Any:
        """How a row of ``columns`` is read from a record of ``spec``'s answer (records.py)."""
        parents = tuple((spec or {}).get("parent_columns", {}).items())
        return row_reader(tuple(columns), target.get("nested", ()), parents)

    def key_lookup(self, target: dict[str, Any]) -> bool:
        return "get" in target

    def fetch(self, target: dict[str, Any], query: Query) -> Rows:
        spec = target.get("list")
        if spec is None:
            raise InvalidInput("this resource cannot be listed", slug="not-listable")
        values = filter_values(self.bindings(target), query.where)
        if values is None:
            return
        row = self.reader(target, query.columns, spec)
        token, skip = (query.after[0], query.after[1]) if query.after else (None, -1)
        while True:
            try:
                result = self.call(spec, fill(spec, {**values, "page": token, "limit": query.limit}), target)
            except FaultNotFound:  # "no such parent": an empty list, as a filter would give
                return
            for index, (record, parent) in enumerate(records(result, spec.get("records"))):
                if index > skip:
                    yield row(record, parent, token, index)
            following = walk(result, spec["next"]) if spec.get("next") else None
            if not following or following == token:
                return
            token, skip = following, -1

    def get(self, target: dict[str, Any], key: dict[str, Any], columns: list[str]) -> tuple | None:
        spec = target["get"]  # without one, the planner reads the list (see key_lookup)
        fields = target.get("fields", {})
        values = {f"key.{n}": key[c] for n, c in fields.items() if c in key}
        if len(key) == 1:
            values["key"] = next(iter(key.values()))
        found = records(self.call(spec, fill(spec, values), target), spec.get("records"))
        return self.reader(target, columns, spec)(*found[0], None, 0) if found else None
