"""Where a webhook may go, and the one HTTP POST that takes it there.

Targets are http(s) URLs.  Config may restrict them to some hosts (``allowed_hosts``)
and, whatever it says, addresses that reach the machine itself or the cloud's metadata
service (loopback, link-local 169.254.0.0/16 and fe80::/10, fd00:ec2::254, the
unspecified, multicast and reserved ranges) and the metadata host names are refused
unless ``allow_networks`` lets one through.  Private networks (10/8, 192.168/16...) are
allowed: the TMS a legacy system feeds usually lives there.

A delivery resolves the host, checks every address it resolves to and connects to the
address it checked (the connection is pinned), so a DNS answer that changes between the
check and the connection cannot steer a delivery elsewhere.  Redirects are not
followed: a 3xx is a failed attempt like any other non-2xx.
"""

from __future__ import annotations

import fnmatch
import http.client
import ipaddress
import socket
import ssl
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from legacy_bridge.errors import TargetRefused

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

BLOCKED_NETWORKS: tuple[Network, ...] = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "100.100.100.200/32",  # Alibaba metadata
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "::1/128",
        "fe80::/10",
        "fd00:ec2::254/128",
        "ff00::/8",
    )
)
# refused by name, whatever they resolve to, unless allowed_hosts names one exactly
BLOCKED_NAMES = (
    "metadata.google.internal",
    "metadata.goog",
    "metadata",
    "instance-data",
    "instance-data.ec2.internal",
    "metadata.azure.internal",
)
MAX_RESPONSE = 4096  # bytes of a receiver's answer kept for the delivery log


@dataclass(frozen=True)
class TargetPolicy:
    """``allowed_hosts``: host patterns (``*.example.com``), empty = any host;
    ``allow_networks``: blocked ranges let through (e.g. ``127.0.0.0/8`` in tests)."""

    allowed_hosts: tuple[str, ...] = ()
    allow_networks: tuple[Network, ...] = field(default_factory=tuple)

    @classmethod
    def from_config(cls, allowed_hosts: Iterable[str] = (), allow_networks: Iterable[str] = ()) -> TargetPolicy:
        return cls(
            tuple(h.lower() for h in allowed_hosts),
            tuple(ipaddress.ip_network(n, strict=False) for n in allow_networks),
        )

    def _let_through(self, address: Address) -> bool:
        return any(address.version == n.version and address in n for n in self.allow_networks)

    def check_address(self, address: Address, host: str) -> None:
        mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:169.254.169.254 is 169.254.169.254
        address = mapped or address
        if self._let_through(address):
            return
        if any(address.version == n.version and address in n for n in BLOCKED_NETWORKS):
            raise TargetRefused(
                f"{host} resolves to {address}, a loopback, link-local, metadata or "
                f"reserved address; webhooks.allow_networks can let it through"
            )

    def check_url(self, url: str) -> tuple[str, str, int]:
        """``(scheme, host, port)`` of an acceptable URL, or :class:`TargetRefused`."""
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise TargetRefused(f"not a valid URL: {exc}") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise TargetRefused("the target must be an http:// or https:// URL with a host")
        if parts.username or parts.password:
            raise TargetRefused("credentials in the URL are not accepted; sign with the secret instead")
        host = parts.hostname.lower().rstrip(".")
        if self.allowed_hosts and not any(fnmatch.fnmatchcase(host, p) for p in self.allowed_hosts):
            raise TargetRefused(f"host {host!r} is not among webhooks.allowed_hosts")
        try:
            literal: Address | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if host in BLOCKED_NAMES and host not in self.allowed_hosts:
            raise TargetRefused(f"host {host!r} is a cloud metadata host name")
        if literal is not None:
            self.check_address(literal, host)
        return parts.scheme, host, port or (443 if parts.scheme == "https" else 80)

    def resolve(self, url: str) -> tuple[str, str, int, str]:
        """Check the URL and every address its host resolves to; ``(scheme, host, port, address)``."""
        scheme, host, port = self.check_url(url)
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise TargetRefused(f"cannot resolve {host!r}: {exc.strerror}") from None
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
        for address in addresses:  # one forbidden answer is enough to refuse
            self.check_address(address, host)
        return scheme, host, port, str(addresses[0])


@dataclass
class Answer:
    """What the receiver said: ``status`` (None when there was no HTTP answer)."""

    status: int | None
    body: str = ""
    error: str | None = None
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class _Pinned(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedTLS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        self._tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self._tls)
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)  # SNI + cert for the name


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:  # an HTTP date: the backoff decides instead
        return None


def post(url: str, body: bytes, headers: dict[str, str], policy: TargetPolicy, timeout: float) -> Answer:
    """POST ``body`` to ``url`` within ``timeout`` seconds in all (not per read).

    Never raises for the receiver's sake: a refused target, a connection error or a
    timeout is an :class:`Answer` without a status.
    """
    try:
        scheme, host, port, address = policy.resolve(url)
    except TargetRefused as refused:
        return Answer(None, error=refused.detail)
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    conn = (_PinnedTLS if scheme == "https" else _Pinned)(host, port, address, timeout)

    def cut() -> None:  # a receiver that drips its answer must not hold the claim
        if conn.sock is not None:
            try:
                conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    watchdog = threading.Timer(timeout, cut)
    watchdog.daemon = True
    watchdog.start()
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        text = response.read(MAX_RESPONSE).decode("utf-8", "replace")
        return Answer(
            response.status,
            text,
            None if 200 <= response.status < 300 else f"HTTP {response.status}",
            _retry_after(response.getheader("Retry-After")),
        )
    except (OSError, http.client.HTTPException) as exc:
        return Answer(None, error=f"{type(exc).__name__}: {exc}"[:300] or "connection failed")
    finally:
        watchdog.cancel()
        conn.close()
