"""Who may do what: principals, scopes (``<resource>:<verb>``), and the API keys' formats.

A scope is ``<resource>:<verb>``: the resource is the first path segment under the
base path (``/v1/customers/7`` -> ``customers``, ``/v1/webhooks`` -> ``webhooks``), the
verb ``read`` (GET, HEAD, OPTIONS) or ``write`` (anything else); ``*`` stands for any.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

__all__ = ["SCOPE", "KEY_ID", "HASH", "READ_METHODS", "Principal", "new_key", "hash_key", "verb_of", "resource_of"]

SCOPE = re.compile(r"^(\*|[a-z][a-z0-9_-]*):(read|write|\*)$")
KEY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
HASH = re.compile(r"^sha256:[0-9a-f]{64}$")
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def new_key() -> str:
    """A fresh API key: 256 random bits, prefixed so that leaked keys are easy to grep for."""
    return "lbk_" + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def verb_of(method: str) -> str:
    return "read" if method.upper() in READ_METHODS else "write"


def resource_of(path: str, base_paths: str | tuple[str, ...]) -> str:
    """The scope's resource part of a request path (under any of the API versions' base paths:
    a key's scopes hold in every version)."""
    for base in (base_paths,) if isinstance(base_paths, str) else base_paths:
        base = base.rstrip("/")
        if base and (path == base or path.startswith(base + "/")):
            path = path[len(base) :]
            break
    return path.strip("/").split("/", 1)[0]


@dataclass(frozen=True)
class Principal:
    """Who is calling: a key's (or a token's subject's) id and its scopes."""

    id: str
    scopes: frozenset[str]

    def allows(self, resource: str, verb: str) -> bool:
        return any(s in self.scopes for s in (f"{resource}:{verb}", f"{resource}:*", f"*:{verb}", "*:*"))
