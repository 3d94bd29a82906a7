"""HTTP for SOAP sources: a lean pool of keep-alive connections per source.

zeep posts every envelope through ``requests``, which costs about 0.4 ms a call on top
of the socket work (it reads the proxy settings from the environment, prepares hooks
and cookies): a fifth of a quick legacy call.  :class:`ServiceTransport` posts with
urllib3 directly (the pool requests itself sits on) and keeps requests for what it is
good at and what is rare: fetching the WSDL and its imports, calls through a proxy, and
redirects.
Errors come out as the requests exceptions the driver already translates.

Every post is bounded by the source's (connect, read) timeouts and, inside a call, by
what is left of the call's budget (:mod:`.deadlines`): a silent service is a read
timeout, never a wait longer than the call may take.
"""

from __future__ import annotations

import os
import threading
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import certifi
import requests
import urllib3
from requests.utils import get_environ_proxies, get_netrc_auth
from urllib3.exceptions import HTTPError, MaxRetryError, NewConnectionError
from urllib3.exceptions import TimeoutError as Urllib3Timeout
from zeep import Transport

from legacy_bridge.drivers import deadlines

__all__ = ["ServiceSession", "ServiceTransport"]


class _Environment(NamedTuple):
    proxies: dict[str, str]
    ca_bundle: str | None
    netrc_auth: tuple[str, str] | None


class ServiceSession(requests.Session):
    """A requests session that reads the environment (proxies and ``no_proxy``, CA
    bundle, ``.netrc``) once per origin instead of on every call: a running server's
    environment does not change."""

    def __init__(self) -> None:
        super().__init__()
        self.trust_env = False  # what requests would read per call comes from environment()
        self._origins: dict[tuple[str, str], _Environment] = {}

    def environment(self, url: str) -> _Environment:
        parts = urlsplit(url)
        origin = (parts.scheme, parts.netloc)
        found = self._origins.get(origin)
        if found is None:
            found = self._origins[origin] = _Environment(
                get_environ_proxies(url),
                os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE"),
                get_netrc_auth(url),
            )
        return found

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        if not request.auth and not self.auth:
            request.auth = self.environment(request.url).netrc_auth
        return super().prepare_request(request)

    def merge_environment_settings(self, url, proxies, stream, verify, cert):  # noqa: ANN001, ANN201
        environment = self.environment(url)
        proxies = {**environment.proxies, **(proxies or {})}
        if verify in (True, None) and environment.ca_bundle:
            verify = environment.ca_bundle
        return super().merge_environment_settings(url, proxies, stream, verify, cert)


_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_NO_RETRY = urllib3.Retry(0, read=False)  # a SOAP call may have done its work before the link broke


class _Reply:
    """What zeep reads of a response (``requests.Response``'s names)."""

    __slots__ = ("status_code", "content", "headers", "encoding")

    def __init__(self, response: urllib3.BaseHTTPResponse) -> None:
        self.status_code = response.status
        self.content = response.data
        self.headers = response.headers
        self.encoding = None


class ServiceTransport(Transport):
    """A zeep Transport that posts envelopes over a urllib3 pool of ``pool_size``
    keep-alive connections, with the same (connect, read) timeouts, basic auth and CA
    bundle as its requests ``session``, which still loads the WSDL.  A session that is
    not a :class:`ServiceSession` (a test's) or a service reached through a proxy is
    posted to through the session, as plain zeep would."""

    def __init__(
        self, session: requests.Session, timeouts: tuple[float, float], pool_size: int, **options: Any
    ) -> None:
        super().__init__(session=session, timeout=timeouts, operation_timeout=timeouts, **options)
        self._timeouts = timeouts
        self._timeout = urllib3.Timeout(connect=timeouts[0], read=timeouts[1])
        self._pools: urllib3.PoolManager | None = None
        self._pool_size = pool_size
        self._lock = threading.Lock()

    def _lean(self, address: str) -> urllib3.PoolManager | None:
        session = self.session
        if (
            not isinstance(session, ServiceSession)
            or session.environment(address).proxies
            or not isinstance(session.auth, (tuple, type(None)))
        ):
            return None
        if self._pools is None:
            with self._lock:
                if self._pools is None:
                    # requests' defaults, so both paths trust the same certificates
                    bundle = session.environment(address).ca_bundle or certifi.where()
                    where: dict[str, Any] = {"ca_cert_dir": bundle} if os.path.isdir(bundle) else {"ca_certs": bundle}
                    self._pools = urllib3.PoolManager(num_pools=2, maxsize=self._pool_size, **where)
        return self._pools

    def post(self, address: str, message: bytes | str, headers: dict[str, str]) -> Any:
        pools = self._lean(address)
        if pools is None:
            return super().post(address, message, headers)
        sent = {"User-Agent": "legacy-bridge", "Accept-Encoding": "gzip, deflate", **headers}
        auth = self.session.auth or self.session.environment(address).netrc_auth
        if auth:
            sent.update(urllib3.make_headers(basic_auth=f"{auth[0]}:{auth[1]}"))
        timeout = self._timeout
        left = deadlines.remaining(float("inf"))
        if left < self._timeouts[1] or left < self._timeouts[0]:  # the call's budget is shorter
            left = max(left, 0.001)
            timeout = urllib3.Timeout(connect=min(self._timeouts[0], left), read=min(self._timeouts[1], left))
        try:
            reply = pools.request(
                "POST", address, body=message, headers=sent, timeout=timeout, retries=_NO_RETRY, redirect=False
            )
        except MaxRetryError as exc:
            raise _as_requests(exc.reason or exc) from exc
        except HTTPError as exc:
            raise _as_requests(exc) from exc
        if reply.status in _REDIRECTS:  # rare: followed as zeep would, through requests
            return super().post(address, message, headers)
        return _Reply(reply)

    def close(self) -> None:
        if self._pools is not None:
            self._pools.clear()
        self.session.close()


def _as_requests(exc: BaseException) -> requests.RequestException:
    # urllib3 says a refused connection is a connect timeout (NewConnectionError subclasses it)
    if isinstance(exc, Urllib3Timeout) and not isinstance(exc, NewConnectionError):
        return requests.Timeout(str(exc))
    return requests.ConnectionError(str(exc))
