"""JWT bearer tokens from an identity provider: signature (JWKS file), issuer, audience, expiry.

The token's scopes come from one claim (``scope`` by default: a space-separated string
or a list), in the same ``<resource>:<verb>`` form as API keys' scopes.
"""

from __future__ import annotations

import logging
from pathlib import Path

import jwt

from legacy_bridge.security.scopes import SCOPE, Principal

log = logging.getLogger("legacy_bridge")


class JwtVerifier:
    def __init__(self, options: dict) -> None:
        self.issuer = options["issuer"]
        self.audience = options["audience"]
        self.algorithms = list(options.get("algorithms", ["RS256"]))
        self.scopes_claim = options.get("scopes_claim", "scope")
        self.id_claim = options.get("id_claim", "sub")
        self.leeway = float(options.get("leeway", 0) or 0)
        jwks = jwt.PyJWKSet.from_json(Path(options["jwks_file"]).read_text(encoding="utf-8"))
        self.keys = {k.key_id: k for k in jwks.keys}

    def _key(self, token: str):
        kid = jwt.get_unverified_header(token).get("kid")
        if kid in self.keys:
            return self.keys[kid]
        if kid is None and len(self.keys) == 1:  # a single key needs no kid
            return next(iter(self.keys.values()))
        raise jwt.InvalidTokenError(f"no key {kid!r} in the JWKS")

    def verify(self, token: str) -> Principal | None:
        """The token's principal, or None when it is not valid for this service."""
        try:
            claims = jwt.decode(
                token,
                self._key(token),
                algorithms=self.algorithms,
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as error:
            log.info("refused a bearer token: %s", error)
            return None
        raw = claims.get(self.scopes_claim, [])
        scopes = raw.split() if isinstance(raw, str) else raw if isinstance(raw, list) else []
        subject = claims.get(self.id_claim)
        if not isinstance(subject, str) or not subject:
            return None
        return Principal(subject, frozenset(s for s in scopes if isinstance(s, str) and SCOPE.match(s)))
