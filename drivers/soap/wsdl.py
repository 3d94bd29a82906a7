"""WSDL side of SOAP sources: transports, the per-process WSDL cache, service/port
selection, WS-Security, and a description of operations for introspection (drafts.py
drafts a resource for one).

Nothing here knows HTTP facades or resources; :mod:`.soap` builds on it.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from zeep import Client, Settings, Transport
from zeep.cache import InMemoryCache, SqliteCache
from zeep.proxy import ServiceProxy
from zeep.wsdl import Document
from zeep.wsdl.bindings import Soap11Binding, Soap12Binding
from zeep.wsse.username import UsernameToken
from zeep.wsse.utils import WSU

from legacy_bridge.drivers.soap.http import ServiceSession, ServiceTransport

__all__ = ["build_transport", "load_document", "select_port", "wsse_token", "describe", "forget_documents"]

_DOCUMENTS: dict[tuple, Document] = {}
_LOCK = threading.Lock()
SOAP_VERSIONS = {"1.1": Soap11Binding, "1.2": Soap12Binding}


def build_transport(options: dict[str, Any], session: requests.Session | None = None) -> ServiceTransport:
    """A zeep Transport with (connect, read) timeouts and pooled keep-alive connections
    (:mod:`.soap_http`).

    ``session`` is injected by tests; a source builds its own otherwise.
    """
    size = options.get("pool", {}).get("size", 10)
    if session is None:
        session = ServiceSession()
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=size)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
    basic = options.get("basic_auth")
    if basic:
        session.auth = (basic["username"], basic.get("password", ""))
    timeouts = (float(options.get("connect_timeout", 5)), float(options.get("timeout", 30)))
    cache_path = options.get("wsdl_cache")
    # file paths are never cached by zeep; imported schemas over HTTP are, per process
    # (InMemoryCache is process-wide) or across processes (SqliteCache file)
    cache = SqliteCache(path=cache_path, timeout=24 * 3600) if cache_path else InMemoryCache()
    return ServiceTransport(session, timeouts, size, cache=cache)


def load_document(location: str, transport: Transport, strict: bool = True) -> Document:
    """The parsed WSDL, once per process for each (location, strictness)."""
    key = (str(location), strict)
    with _LOCK:
        document = _DOCUMENTS.get(key)
    if document is None:
        # zeep annotates ``transport`` as the class, yet takes (and needs) an instance
        document = Document(str(location), transport, settings=Settings(strict=strict))  # type: ignore[arg-type]
        with _LOCK:
            document = _DOCUMENTS.setdefault(key, document)
    return document


def forget_documents() -> None:
    """Drop the process's parsed WSDLs (tests that change a WSDL in place)."""
    with _LOCK:
        _DOCUMENTS.clear()


def _soap_version(binding: Any) -> str | None:
    return next((v for v, cls in SOAP_VERSIONS.items() if isinstance(binding, cls)), None)


def select_port(
    document: Document, service: str | None = None, port: str | None = None, soap_version: str | None = None
) -> tuple[Any, Any]:
    """``(service, port)`` by name, or the first whose binding speaks ``soap_version``.

    Raises ValueError naming what exists when nothing fits.
    """
    services = document.services
    if service is not None and service not in services:
        raise ValueError(f"no service {service!r} in the WSDL; services: {', '.join(services) or 'none'}")
    candidates = [services[service]] if service else list(services.values())
    found = []
    for svc in candidates:
        for pname, p in svc.ports.items():
            if port is not None and pname != port:
                continue
            if soap_version is not None and _soap_version(p.binding) != soap_version:
                continue
            found.append((svc, p))
    if not found:
        ports = [
            f"{s.name}/{n} (SOAP {_soap_version(p.binding) or '?'})" for s in candidates for n, p in s.ports.items()
        ]
        wanted = " ".join(x for x in (port and f"port {port!r}", soap_version and f"SOAP {soap_version}") if x)
        raise ValueError(f"no port matches {wanted or 'a SOAP binding'}; ports: {', '.join(ports) or 'none'}")
    return found[0]


class _FreshUsernameToken(UsernameToken):
    """UsernameToken whose wsu:Timestamp is made anew for every message."""

    def __init__(self, *args: Any, timestamp_ttl: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.timestamp_ttl = timestamp_ttl

    def apply(self, envelope: Any, headers: Any) -> Any:
        if self.timestamp_ttl:
            now = dt.datetime.now(dt.UTC).replace(microsecond=0)
            stamp = WSU.Timestamp()
            stamp.extend(
                [
                    WSU.Created(now.strftime("%Y-%m-%dT%H:%M:%SZ")),
                    WSU.Expires((now + dt.timedelta(seconds=self.timestamp_ttl)).strftime("%Y-%m-%dT%H:%M:%SZ")),
                ]
            )
            self.timestamp_token = stamp
        return super().apply(envelope, headers)


def wsse_token(options: dict[str, Any] | None) -> UsernameToken | None:
    """WS-Security UsernameToken from ``wsse: {username, password, digest, timestamp}``."""
    if not options:
        return None
    ttl = options.get("timestamp")
    ttl = 300.0 if ttl is True else (float(ttl) if ttl else None)
    return _FreshUsernameToken(
        options["username"],
        options.get("password", ""),
        use_digest=bool(options.get("digest", False)),
        timestamp_ttl=ttl,
    )


def make_proxy(client: Client, binding: Any, address: str) -> ServiceProxy:
    return client.create_service(binding.name, address)


def _signature(element: Any) -> str:
    """An element's type, as zeep's signature prints it (``ShipmentNo: xsd:string``)."""
    try:
        return element.signature(schema=None)
    except Exception:  # noqa: BLE001 - a description must not fail on one odd type
        return type(element).__name__


def describe(document: Document) -> list[dict[str, Any]]:
    """Services, ports and operations with input/output signatures and faults."""
    out = []
    for sname, svc in document.services.items():
        for pname, port in svc.ports.items():
            ops = []
            for oname, op in sorted(port.binding._operations.items()):
                ops.append(
                    {
                        "name": oname,
                        "style": getattr(op, "style", None),
                        "input": op.input.signature(as_output=False) if op.input else "",
                        "output": op.output.signature(as_output=True) if op.output else "",
                        "faults": sorted(getattr(op, "faults", {}) or {}),
                    }
                )
            out.append(
                {
                    "service": sname,
                    "port": pname,
                    "soap": _soap_version(port.binding),
                    "binding": str(port.binding.name),
                    "address": port.binding_options.get("address"),
                    "operations": ops,
                }
            )
    return out
