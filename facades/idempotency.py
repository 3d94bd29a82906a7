"""``Idempotency-Key`` on non-idempotent calls (the IETF httpapi draft's semantics): the first
outcome (status, headers, body) of a POST is kept in the state store, shared by every worker
and host, and replayed with ``Idempotent-Replayed: true``; the same key with another payload is
a 422, a retry while the first call still runs a 409.  Outcomes of 5xx are not kept: the client
retries.  A table write records the keys it is committing before the legacy commit, so a retry
after its worker died finds the rows instead of writing them twice."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, current_app, g, request

from legacy_bridge.errors import IdempotencyKeyInUse, IdempotencyKeyReused, InvalidInput, LegacyBridgeError
from legacy_bridge.events.idempotency import Claim, IdempotencyStore, Outcome, fingerprint
from legacy_bridge.problems import response_of

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
_KEPT_HEADERS = ("Content-Type", "Location", "ETag")


def _key() -> str | None:
    key = request.headers.get(HEADER)
    if key is not None and not (1 <= len(key) <= 255 and key.isprintable() and key.strip() == key):
        raise InvalidInput(
            f"{HEADER}: 1 to 255 printable characters, no surrounding blanks", parameter=HEADER, slug="invalid-header"
        )
    return key


def _replay(outcome: Outcome) -> Response:
    response = Response(outcome.body, status=outcome.status)
    for name, value in outcome.headers.items():
        response.headers[name] = value
    response.headers[REPLAYED] = "true"
    return response


def _outcome(response: Response) -> Outcome:
    headers = {h: response.headers[h] for h in _KEPT_HEADERS if h in response.headers}
    return Outcome(response.status_code, headers, response.get_data())


def lease_for(timeout: float | None) -> float:
    """How long a running call holds its key: past its source's deadline (``timeout``), so a
    live call is never taken for a dead one."""
    return 2 * timeout + 5 if timeout else 300.0


def idempotent(
    name: str,
    options: dict[str, Any],
    timeout: float | None,
    view: Callable[..., Response],
    recover: Callable[[Claim], Response | None] | None = None,
):
    """``view`` under the Idempotency-Key rules ``options`` of resource or action ``name``
    (whose source's deadline is ``timeout``); ``recover`` answers a claim whose worker died
    with pending keys (or None: the call never committed, run it)."""

    def wrapped(*args: Any, **kwargs: Any) -> Response:
        key = _key()
        if key is None:
            if options["required"]:
                raise InvalidInput(
                    f"{name} takes a POST only with an {HEADER} header (a unique value per intended call)",
                    parameter=HEADER,
                    slug="idempotency-key-required",
                )
            return view(*args, **kwargs)
        store = IdempotencyStore(current_app.extensions["legacy_bridge.state"])
        scope = store.scope(g.get("key_id"), name, key)
        claim = store.claim(
            scope, fingerprint(request.method, request.path, request.get_data()), lease_for(timeout), options["expire"]
        )
        if claim.kind == "replay":
            assert claim.outcome is not None
            return _replay(claim.outcome)
        if claim.kind == "mismatch":
            raise IdempotencyKeyReused(
                f"{HEADER} {key!r} was used for a call with another payload; use a new key for a new call"
            )
        if claim.kind == "running":
            raise IdempotencyKeyInUse(f"the first call with {HEADER} {key!r} is still running; retry after it ends")
        if claim.kind == "orphaned" and claim.pending and recover is not None:
            recovered = recover(claim)
            if recovered is not None:
                store.finish(scope, _outcome(recovered))
                recovered.headers[REPLAYED] = "true"
                return recovered
        g.idempotency = (store, scope)
        try:
            response = view(*args, **kwargs)
        except LegacyBridgeError as error:
            response = response_of(error)
        except BaseException:
            store.release(scope)
            raise
        if response.status_code >= 500:
            store.release(scope)
        else:
            store.finish(scope, _outcome(response))
        return response

    return wrapped


def pending_hook() -> Callable[[list[dict[str, Any]]], None] | None:
    """What a table write calls with the keys it is about to commit, under an Idempotency-Key."""
    held = g.get("idempotency")
    if held is None:
        return None
    store, scope = held
    return lambda keys: store.pending(scope, keys)
