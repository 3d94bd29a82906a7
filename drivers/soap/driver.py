"""Legacy SOAP services (zeep): operations bound to a resource's get, list and create.

A resource's target names operations, not tables::

    get:    {operation: GetShipment, params: {ShipmentNo: "{key}"}}
    list:   {operation: ListShipments, params: {Carrier: "{filter.carrier}", PageToken: "{page}"},
             records: Shipments.Shipment, next: NextPageToken}
    create: {operation: CreateShipment, params: {Shipment: "{body}"}}
    faults: {not_found: [Client.ShipmentNotFound], invalid: [Client.InvalidShipment]}

Columns are dotted paths into ``zeep.helpers.serialize_object`` output
(``Consignee.Name``).  Only ``eq`` filters on a ``{filter.<field>}`` parameter are
pushed down; the core applies the rest after the call.  Lists are read in the
service's own order: a row's cursor is (page token, position in that page), so a
service with page tokens resumes at its page and one without is re-read and skipped.
zeep and requests errors are translated here, once.
"""

from __future__ import annotations

import logging
import re
import socket
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import requests
from zeep import Client
from zeep import exceptions as zx
from zeep.helpers import serialize_object
from zeep.xsd import SkipValue

from legacy_bridge.drivers.base import Driver, outgoing_headers
from legacy_bridge.drivers.soap.wsdl import SOAP_VERSIONS, build_transport, load_document, select_port, wsse_token
from legacy_bridge.errors import (
    FaultInvalidInput,
    FaultNotFound,
    InvalidInput,
    LegacyBridgeError,
    SourceError,
    SourceFault,
    SourceTimeout,
    SourceUnavailable,
)
from legacy_bridge.query.legacy import Condition, Query, Rows

log = logging.getLogger(__name__)
PLACEHOLDER = re.compile(r"^\{(key|filter|body|page|limit)(?:\.([a-z][a-z0-9_]*))?\}$")
PAGE, ROW = "__page__", "__row__"
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


def _local(code: Any) -> str:
    """``soap11env:Client.X`` or a QName -> ``Client.X``."""
    text = getattr(code, "localname", None) or str(code or "")
    return text.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


_SOAP11_NAMES = {"Sender": "Client", "Receiver": "Server"}


def fault_codes(fault: zx.Fault) -> list[str]:
    """Every name a configured code may match, the reported one (SOAP 1.1 style) last.

    SOAP 1.2 says ``Sender`` + subcode ``NotFound`` where SOAP 1.1 says
    ``Client.NotFound``: both give ``Client.NotFound``, so one config serves both.
    """
    code = _local(fault.code)
    parts = [_SOAP11_NAMES.get(code, code)] + [_local(c) for c in (fault.subcodes or [])]
    dotted = ".".join(parts)
    return [code, ".".join([code] + parts[1:]), dotted.rsplit(".", 1)[-1], dotted]


def set_path(tree: dict, path: str, value: Any) -> None:
    """``tree["A"]["B"] = value`` for ``path`` ``A.B``, creating the dicts on the way."""
    *parents, leaf = path.split(".")
    for part in parents:
        tree = tree.setdefault(part, {})
    tree[leaf] = value


def walk(node: Any, path: str | None) -> Any:
    """Follow a dotted path into serialized output; a missing step gives None."""
    for part in path.split(".") if path else ():
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def as_records(node: Any) -> list[dict]:
    if node is None:
        return []
    return [n for n in node if n is not None] if isinstance(node, list) else [node]


@lru_cache(maxsize=256)
def _row_getter(columns: tuple[str, ...]) -> Callable[[dict, Any, int], tuple]:
    paths = [None if c in (PAGE, ROW) else c for c in columns]

    def row(record: dict, page: Any, index: int) -> tuple:
        return tuple(page if c == PAGE else index if c == ROW else walk(record, p) for c, p in zip(columns, paths))

    return row


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


class SoapDriver(Driver):
    """One SOAP service, described by its WSDL (URL or file)."""

    kind = "soap"
    supports_pushdown = True  # eq filters on the list operation's {filter.x} parameters
    pushdown_operators = frozenset({"eq"})
    unsendable = NOT_XML
    supports_sort = False  # read in the service's own order
    supports_writes = True
    natural_order = (PAGE, ROW)
    target_keys = ("get", "list", "create")

    def __init__(self, name: str, options: dict[str, Any], session: requests.Session | None = None) -> None:
        super().__init__(name, options)
        self.transport = build_transport(options, session)
        self.retry_after = float(options.get("wsdl_retry", 10))
        self._proxy: Any = None
        self._address: str | None = None
        self._failure: tuple[float, SourceUnavailable] | None = None
        self._lock = threading.Lock()
        self._pushable: dict[int, frozenset[str]] = {}

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
            raise self.translate_fault(fault, target) from None
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

    def translate_fault(self, fault: zx.Fault, target: dict[str, Any]) -> LegacyBridgeError:
        codes = fault_codes(fault)
        faults = target.get("faults", {})
        kind = (
            FaultNotFound
            if set(codes) & set(faults.get("not_found", ()))
            else FaultInvalidInput
            if set(codes) & set(faults.get("invalid", ()))
            else SourceFault
        )
        log.log(
            logging.WARNING if kind is SourceFault else logging.INFO,
            "source %s: SOAP fault %s: %s",
            self.name,
            codes,
            fault.message,
        )
        return kind(
            f"source {self.name!r} answered with a fault: {fault.message}",
            self.name,
            fault_code=codes[-1],
            fault_string=fault.message,
        )

    def params(self, spec: dict[str, Any], target: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
        """The operation's arguments: ``spec["params"]`` with placeholders filled from
        ``values`` (``key.id``, ``filter.carrier``, ``body``, ``page``...); a
        placeholder with no value leaves its parameter out of the envelope, even one the
        schema requires (every rpc part is): a list without that filter is a fair
        request, and the service is the judge of what it needs."""
        out: dict[str, Any] = {}
        for path, template in (spec.get("params") or {}).items():
            match = PLACEHOLDER.match(template) if isinstance(template, str) else None
            value = template if match is None else values.get(match.group(0)[1:-1])
            set_path(out, path, SkipValue if value is None else value)
        return out

    # -- reads -----------------------------------------------------------------------

    def filter_columns(self, target: dict[str, Any]) -> frozenset[str]:
        cached = self._pushable.get(id(target))
        if cached is None:
            fields = target.get("fields", {})
            names = [
                m.group(2)
                for t in (target.get("list", {}).get("params") or {}).values()
                if isinstance(t, str) and (m := PLACEHOLDER.match(t)) and m.group(1) == "filter"
            ]
            cached = self._pushable[id(target)] = frozenset(fields[n] for n in names if n in fields)
        return cached

    def key_lookup(self, target: dict[str, Any]) -> bool:
        return "get" in target

    def _filter_values(self, target: dict[str, Any], where: list[Condition]) -> dict[str, Any] | None:
        by_column: dict[str, Any] = {}
        for c in where:
            if not isinstance(c.column, str):
                continue  # inside a nested column: never a parameter (applied after the call)
            if by_column.get(c.column, c.value) != c.value:
                return None  # two different values: nothing matches
            by_column[c.column] = c.value
        return {f"filter.{name}": by_column[col] for name, col in target.get("fields", {}).items() if col in by_column}

    def fetch(self, target: dict[str, Any], query: Query) -> Rows:
        spec = target.get("list")
        if spec is None:
            raise InvalidInput("this resource cannot be listed", slug="not-listable")
        values = self._filter_values(target, query.where)
        if values is None:
            return
        row = _row_getter(tuple(query.columns))
        token, skip = (query.after[0], query.after[1]) if query.after else (None, -1)
        while True:
            try:
                result = self.call(
                    spec, self.params(spec, target, {**values, "page": token, "limit": query.limit}), target
                )
            except FaultNotFound:  # "no such parent": an empty list, as a filter would give
                return
            for index, record in enumerate(as_records(walk(result, spec.get("records")))):
                if index > skip:
                    yield row(record, token, index)
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
        records = as_records(walk(self.call(spec, self.params(spec, target, values), target), spec.get("records")))
        return _row_getter(tuple(columns))(records[0], None, 0) if records else None

    # -- writes ----------------------------------------------------------------------

    def create(self, target: dict[str, Any], values: dict[str, Any], columns: list[str]) -> tuple | None:
        """Call the create operation with a record (legacy column -> value); the row it returns."""
        spec = target["create"]
        body: dict[str, Any] = {}
        for column, value in values.items():
            if value is not None:
                set_path(body, column, value)
        fields = target.get("fields", {})
        filled = {"body": body, **{f"body.{n}": values.get(c) for n, c in fields.items()}}
        params = self.params(spec, target, filled) if spec.get("params") else body
        records = as_records(walk(self.call(spec, params, target), spec.get("records")))
        return _row_getter(tuple(columns))(records[0], None, 0) if records else None
