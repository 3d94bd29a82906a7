"""API keys and scopes: who may call which resource with which verb.

On as soon as the config has an ``auth:`` section; off without one.  Keys travel as
``Authorization: Bearer <key>`` or ``X-API-Key: <key>`` and are stored only as
``sha256:<hex>`` hashes.  Generated keys hold 256 random bits, so a slow hash would add
per-request cost and no safety: nobody brute-forces a 2**256 space.  Comparison is
constant-time (``hmac.compare_digest``) over every stored hash.  Scopes and principals:
:mod:`legacy_bridge.security.scopes`; JWT bearer tokens: :mod:`legacy_bridge.security.tokens`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
import time
from pathlib import Path
from typing import Any

import yaml
from flask import Flask, g, request

from legacy_bridge.config.checker import Checker
from legacy_bridge.errors import NotAuthenticated, NotPermitted
from legacy_bridge.problems import openapi_response
from legacy_bridge.security.scopes import HASH, KEY_ID, SCOPE, Principal, resource_of, verb_of
from legacy_bridge.security.tokens import JwtVerifier

AUTH_KEYS = {"keys", "keys_file", "public_metrics", "jwt", "anonymous"}
JWT_KEYS = {"issuer", "audience", "jwks_file", "algorithms", "scopes_claim", "id_claim", "leeway"}
PUBLIC = ("/healthz", "/readyz", "/openapi.json", "/docs")


def public_paths(base_paths: str | tuple[str, ...], metrics: bool = True) -> tuple[str, ...]:
    """The paths open without a key: probes, the documents and docs pages (also each API
    version's, ``/v2/openapi.json`` and ``/v2/docs``), and ``/metrics`` when ``metrics``."""
    bases = (base_paths,) if isinstance(base_paths, str) else base_paths
    return (
        PUBLIC
        + tuple(f"{b.rstrip('/')}/{doc}" for b in bases for doc in ("openapi.json", "docs"))
        + (("/metrics",) if metrics else ())
    )


def check_keys(ck: Any, entries: Any, path: str) -> list[dict]:
    """Validate a list of ``{id, hash, scopes}`` (config or keys file); the valid ones."""
    if entries is None:
        return []
    if not isinstance(entries, list):
        ck.fail(path, "expected a list of {id, hash, scopes}")
        return []
    seen, valid = set(), []
    for i, entry in enumerate(entries):
        where = f"{path}[{i}]"
        entry = ck.mapping(entry, where)
        before = len(ck.problems)
        ck.unknown(entry, {"id", "hash", "scopes", "description"}, where)
        key_id = entry.get("id")
        if not isinstance(key_id, str) or not KEY_ID.match(key_id):
            ck.fail(f"{where}.id", "required: letters, digits, . _ - (at most 64)")
        elif key_id in seen:
            ck.fail(f"{where}.id", f"duplicate key id {key_id!r}")
        seen.add(key_id)
        if not isinstance(entry.get("hash"), str) or not HASH.match(entry["hash"]):
            ck.fail(
                f"{where}.hash",
                "expected sha256:<64 hex digits> (legacy-bridge keys create prints it); never the key itself",
            )
        scopes = entry.get("scopes")
        if not isinstance(scopes, list) or not scopes:
            ck.fail(f"{where}.scopes", "required: a list such as [customers:read, '*:read']")
        else:
            for j, scope in enumerate(scopes):
                if not isinstance(scope, str) or not SCOPE.match(scope):
                    ck.fail(f"{where}.scopes[{j}]", f"{scope!r} is not <resource|*>:<read|write|*>")
        if len(ck.problems) == before:
            valid.append(entry)
    return valid


def check_config(ck: Any, node: Any) -> dict:
    """The ``auth:`` section, validated into ``ck`` (a config checker)."""
    node = ck.mapping(node, "auth")
    ck.unknown(node, AUTH_KEYS, "auth")
    node["keys"] = check_keys(ck, node.get("keys"), "auth.keys")
    if "keys_file" in node and not isinstance(node["keys_file"], str):
        ck.fail("auth.keys_file", "expected a file path")
    if not isinstance(node.setdefault("public_metrics", True), bool):
        ck.fail("auth.public_metrics", f"expected true or false, got {node['public_metrics']!r}")
    anonymous = node.setdefault("anonymous", [])
    if not isinstance(anonymous, list):
        ck.fail("auth.anonymous", "expected a list of scopes, e.g. ['*:read']")
        node["anonymous"] = []
    for i, scope in enumerate(node["anonymous"]):
        if not isinstance(scope, str) or not SCOPE.match(scope):
            ck.fail(f"auth.anonymous[{i}]", f"{scope!r} is not <resource|*>:<read|write|*>")
    if "jwt" in node:
        jwt = ck.mapping(node["jwt"], "auth.jwt")
        ck.unknown(jwt, JWT_KEYS, "auth.jwt")
        for key in ("issuer", "audience", "jwks_file"):
            if not isinstance(jwt.get(key), str) or not jwt.get(key):
                ck.fail(f"auth.jwt.{key}", "required")
        if isinstance(jwt.get("jwks_file"), str) and not os.path.isfile(jwt["jwks_file"]):
            ck.fail("auth.jwt.jwks_file", f"no such file {jwt['jwks_file']!r}")
        jwt.setdefault("algorithms", ["RS256"])
        if not isinstance(jwt["algorithms"], list) or "none" in [str(a).lower() for a in jwt["algorithms"]]:
            ck.fail("auth.jwt.algorithms", "expected a list such as [RS256, ES256] ('none' is refused)")
        jwt.setdefault("scopes_claim", "scope")
        jwt.setdefault("id_claim", "sub")
        ck.duration(jwt, "leeway", "auth.jwt")
        node["jwt"] = jwt
    return node


def read_keys_file(path: str) -> list[dict]:
    """The entries of a keys file (``keys: [...]``); an absent file holds none."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        return []
    return list(raw.get("keys") or []) if isinstance(raw, dict) else []


class KeyRing:
    """The known keys: the config's, plus a keys file re-read when it changes (at most once a second)."""

    def __init__(self, keys: list[dict], keys_file: str | None = None) -> None:
        self._inline = keys
        self._file = keys_file
        self._stamp: tuple | None = None
        self._checked = 0.0
        self._lock = threading.Lock()
        self._entries = self._build(keys)
        self._refresh(force=True)

    @staticmethod
    def _build(entries: list[dict]) -> list[tuple[bytes, Principal]]:
        return [
            (bytes.fromhex(e["hash"].split(":", 1)[1]), Principal(e["id"], frozenset(e["scopes"]))) for e in entries
        ]

    def _refresh(self, force: bool = False) -> None:
        if not self._file or (not force and time.monotonic() - self._checked < 1.0):
            return
        with self._lock:
            self._checked = time.monotonic()
            try:
                st = os.stat(self._file)
                stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
            except FileNotFoundError:
                stamp = None
            if stamp == self._stamp and not force:
                return
            ck = Checker()
            from_file = check_keys(ck, read_keys_file(self._file) if stamp else [], self._file)
            self._entries = self._build(self._inline + from_file)
            self._stamp = stamp

    def find(self, key: str) -> Principal | None:
        """The key's principal, or None; every stored hash is compared, in constant time."""
        self._refresh()
        digest = hashlib.sha256(key.encode("utf-8", "surrogateescape")).digest()
        found = None
        for stored, principal in self._entries:
            if hmac.compare_digest(digest, stored):
                found = principal
        return found


def _credential() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("X-API-Key", "").strip() or None


class Guard:
    """The before-request check: public paths pass, others need a key whose scopes allow them."""

    def __init__(self, options: dict, base_path: str | tuple[str, ...]) -> None:
        self.base_path = base_path
        self.public = public_paths(base_path, options.get("public_metrics", True))
        self.keys = KeyRing(options.get("keys", []), options.get("keys_file"))
        #: what a call without a key may do (auth.anonymous: e.g. every read of a demo)
        self.anonymous = Principal("", frozenset(options.get("anonymous", [])))
        self.jwt = None
        if options.get("jwt"):
            self.jwt = JwtVerifier(options["jwt"])

    def is_public(self, path: str) -> bool:
        path = path.rstrip("/") or "/"
        return path in self.public or path.startswith("/docs/assets/")

    def authenticate(self, credential: str) -> Principal | None:
        if self.jwt is not None and credential.count(".") == 2:
            return self.jwt.verify(credential)
        return self.keys.find(credential)

    def __call__(self) -> None:
        if self.is_public(request.path):
            return None
        credential = _credential()
        if credential is None:
            if self.anonymous.scopes and (
                request.url_rule is None
                or self.anonymous.allows(resource_of(request.path, self.base_path), verb_of(request.method))
            ):
                return None
            raise NotAuthenticated("an API key is required: Authorization: Bearer <key> or X-API-Key: <key>")
        principal = self.authenticate(credential)
        if principal is None:
            raise NotAuthenticated("the API key or token is not valid", "invalid_token")
        g.key_id = principal.id
        if request.url_rule is None:  # no such route: the 404/405 follows, key checked
            return None
        resource, verb = resource_of(request.path, self.base_path), verb_of(request.method)
        if not principal.allows(resource, verb):
            raise NotPermitted(f"key {principal.id!r} may not {verb} {resource!r}", f"{resource}:{verb}")
        return None


def init_app(app: Flask, options: dict | None, base_path: str | tuple[str, ...]) -> None:
    """Require keys on every non-public route when ``options`` (the ``auth:`` section) is given."""
    if options is None:
        return
    guard = Guard(options, base_path)
    app.extensions["legacy_bridge_auth"] = guard
    app.before_request(guard)


def secure_document(document: dict, options: dict | None, base_path: str | tuple[str, ...]) -> None:
    """Security schemes, per-operation scope and 401/403 responses in the OpenAPI document."""
    if options is None:
        return
    components = document.setdefault("components", {})
    components.setdefault("securitySchemes", {}).update(
        {
            "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            "bearer": {"type": "http", "scheme": "bearer", **({"bearerFormat": "JWT"} if options.get("jwt") else {})},
        }
    )
    document["security"] = [{"apiKey": []}, {"bearer": []}]
    public = public_paths(base_path, options.get("public_metrics", True))
    anonymous = Principal("", frozenset(options.get("anonymous", [])))
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete", "head", "options"):
                continue
            if path in public or path.startswith("/docs/"):
                operation["security"] = []
                continue
            operation["x-required-scope"] = f"{resource_of(path, base_path)}:{verb_of(method)}"
            if anonymous.allows(resource_of(path, base_path), verb_of(method)):
                operation["security"] = [{}, {"apiKey": []}, {"bearer": []}]  # a key is optional here
            responses = operation.setdefault("responses", {})
            responses.setdefault("401", openapi_response("no API key, or an unknown one (WWW-Authenticate)"))
            responses.setdefault(
                "403", openapi_response("the key's scopes do not allow " + operation["x-required-scope"])
            )
