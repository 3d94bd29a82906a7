"""A real webhook receiver for tests: an HTTP server on a free 127.0.0.1 port.

It verifies every request with the ``standardwebhooks`` package against the secret
registered for its path, answers with a status the test sets (or not at all while
stopped), can hold each request for a while (to catch a delivery in flight) and
notices when one webhook-id arrives while the same id is still being handled.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError

from helpers.servers import HOST, free_port, wait_until


@dataclass
class Received:
    path: str
    webhook_id: str
    headers: dict[str, str]
    payload: Any  # the verified JSON body, None when verification failed
    error: str | None
    at: float  # arrival time (the answer comes after ``delay``)


class Receiver:
    """Start with :meth:`start` (or ``with``), stop with :meth:`stop`; restartable on its port."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.secrets: dict[str, str] = {}  # path -> whsec_ secret
        self.status = 204
        self.delay = 0.0  # seconds each request is held before the answer
        self.received: list[Received] = []
        self.overlaps: list[str] = []  # ids that arrived while the same id was in flight
        self.arrived = threading.Event()  # set on each arrival (tests clear it)
        self._in_flight: dict[str, int] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- what the tests read -----------------------------------------------------------

    def verified(self, path: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self.received if r.error is None and (path is None or r.path == path)]

    def ids(self, path: str | None = None) -> list[str]:
        return [r.webhook_id for r in self.verified(path)]

    def wait_for(self, condition: Callable[[], bool], timeout: float) -> bool:
        return wait_until(condition, timeout)

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server hook name
                receiver._handle(self)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((HOST, self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(10)
            self._server = None

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- one request -------------------------------------------------------------------

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        body = request.rfile.read(int(request.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in request.headers.items()}
        webhook_id = headers.get("webhook-id", "")
        payload, error = None, None
        try:
            secret = self.secrets[request.path]
            payload = Webhook(secret).verify(body, headers)
        except KeyError:
            error = f"no secret registered for {request.path}"
        except (WebhookVerificationError, ValueError, json.JSONDecodeError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        with self._lock:
            if self._in_flight.get(webhook_id):
                self.overlaps.append(webhook_id)
            self._in_flight[webhook_id] = self._in_flight.get(webhook_id, 0) + 1
            status = self.status if error is None else 401
            self.received.append(Received(request.path, webhook_id, headers, payload, error, time.time()))
        self.arrived.set()
        try:
            if self.delay:
                time.sleep(self.delay)
            request.send_response(status)
            request.send_header("Content-Length", "0")
            request.end_headers()
        except OSError:  # the sender went away (a killed worker): nothing to answer
            pass
        finally:
            with self._lock:
                self._in_flight[webhook_id] -= 1
