"""API keys, scopes, JWT verification, the auth/rate_limits config sections and `legacy-bridge keys`."""

from __future__ import annotations

import json
import time

import jwt
import pytest
import yaml
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric import rsa

from legacy_bridge.cli import main
from legacy_bridge.config import validate
from legacy_bridge.errors import ConfigError
from legacy_bridge.security.auth import KeyRing
from legacy_bridge.security.scopes import Principal, hash_key, new_key, resource_of, verb_of
from legacy_bridge.security.tokens import JwtVerifier

BASE = {"sources": {}, "resources": {}}


def problems_of(raw: dict) -> dict[str, str]:
    with pytest.raises(ConfigError) as info:
        validate({**BASE, **raw})
    return dict(info.value.problems)


def test_generated_keys_are_random_and_hashed_as_sha256():
    first, second = new_key(), new_key()
    assert first != second and first.startswith("lbk_") and len(first) > 40
    assert hash_key(first).startswith("sha256:") and len(hash_key(first)) == 7 + 64
    assert first not in hash_key(first)


@pytest.mark.parametrize(
    "scopes, resource, verb, allowed",
    [
        ({"customers:read"}, "customers", "read", True),
        ({"customers:read"}, "customers", "write", False),
        ({"customers:read"}, "orders", "read", False),
        ({"orders:write"}, "orders", "write", True),
        ({"orders:*"}, "orders", "write", True),
        ({"*:read"}, "anything", "read", True),
        ({"*:read"}, "anything", "write", False),
        ({"*:*"}, "anything", "write", True),
    ],
)
def test_scopes_allow_a_resource_and_verb(scopes, resource, verb, allowed):
    assert Principal("k", frozenset(scopes)).allows(resource, verb) is allowed


def test_the_resource_of_a_path_is_its_first_segment_under_the_base_path():
    assert resource_of("/v1/customers", "/v1") == "customers"
    assert resource_of("/v1/order-lines/3/1", "/v1") == "order-lines"
    assert resource_of("/v1/customers/export.ndjson", "/v1") == "customers"
    assert resource_of("/metrics", "/v1") == "metrics"
    assert [verb_of(m) for m in ("GET", "HEAD", "OPTIONS", "POST", "PUT", "DELETE")] == [
        "read",
        "read",
        "read",
        "write",
        "write",
        "write",
    ]


def test_a_key_ring_finds_a_key_by_its_hash_only():
    key = new_key()
    ring = KeyRing([{"id": "etl", "hash": hash_key(key), "scopes": ["*:read"]}])
    assert ring.find(key) == Principal("etl", frozenset({"*:read"}))
    assert ring.find(key + "x") is None
    assert ring.find("") is None


def test_a_keys_file_is_reread_when_it_changes(tmp_path, monkeypatch):
    path = tmp_path / "keys.yaml"
    key = new_key()
    ring = KeyRing([], str(path))
    assert ring.find(key) is None
    path.write_text(yaml.safe_dump({"keys": [{"id": "a", "hash": hash_key(key), "scopes": ["x:read"]}]}))
    ring._checked = 0.0  # as if a second had passed
    assert ring.find(key).id == "a"
    path.write_text(yaml.safe_dump({"keys": []}))
    ring._checked = 0.0
    assert ring.find(key) is None


def test_auth_and_rate_limits_are_off_without_their_sections():
    config = validate(BASE)
    assert config.auth is None and config.rate_limits is None


def test_an_empty_auth_section_turns_auth_on_with_defaults():
    config = validate({**BASE, "auth": None})
    assert config.auth == {"keys": [], "public_metrics": True, "anonymous": []}


def test_auth_config_errors_name_their_key_paths():
    problems = problems_of(
        {
            "auth": {
                "keys": [
                    {"id": "ok", "hash": "sha256:" + "0" * 64, "scopes": ["customers:read"]},
                    {"id": "ok", "hash": "plain-text-key", "scopes": ["customers:delete", 5]},
                    {"hash": "sha256:" + "1" * 64, "scopes": []},
                ],
                "public_metrics": "yes",
                "surprise": 1,
            }
        }
    )
    assert "duplicate" in problems["auth.keys[1].id"]
    assert "never the key itself" in problems["auth.keys[1].hash"]
    assert "customers:delete" in problems["auth.keys[1].scopes[0]"]
    assert "auth.keys[1].scopes[1]" in problems
    assert "required" in problems["auth.keys[2].id"]
    assert "required" in problems["auth.keys[2].scopes"]
    assert "auth.public_metrics" in problems and "auth.surprise" in problems


def test_jwt_config_needs_issuer_audience_and_an_existing_jwks_file():
    problems = problems_of(
        {"auth": {"jwt": {"issuer": "https://idp", "jwks_file": "/nope.json", "algorithms": ["none"]}}}
    )
    assert problems["auth.jwt.audience"] == "required"
    assert "no such file" in problems["auth.jwt.jwks_file"]
    assert "'none' is refused" in problems["auth.jwt.algorithms"]


def test_rate_limit_config_errors_name_their_key_paths():
    problems = problems_of(
        {
            "rate_limits": {
                "storage_uri": "mongodb://x",
                "strategy": "leaky",
                "default": "lots",
                "resources": {"customers": "5/fortnight"},
                "keys": {"etl": "10/second"},
            }
        }
    )
    assert set(problems) == {
        "rate_limits.storage_uri",
        "rate_limits.strategy",
        "rate_limits.default",
        "rate_limits.resources.customers",
    }


# -- JWT -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def signing_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def verifier(signing_key, tmp_path):
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(signing_key.public_key()))
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [{**public, "kid": "k1", "use": "sig"}]}))
    return JwtVerifier(
        {"issuer": "https://idp.test", "audience": "legacy-bridge", "jwks_file": str(tmp_path / "jwks.json")}
    )


def token(key, kid="k1", **claims) -> str:
    body = {
        "iss": "https://idp.test",
        "aud": "legacy-bridge",
        "sub": "svc-etl",
        "exp": int(time.time()) + 300,
        "scope": "customers:read orders:write",
        **claims,
    }
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": kid})


def test_a_valid_token_gives_its_subject_and_scopes(verifier, signing_key):
    assert verifier.verify(token(signing_key)) == Principal("svc-etl", frozenset({"customers:read", "orders:write"}))
    listed = verifier.verify(token(signing_key, scope=["*:read", "bogus scope"]))
    assert listed.scopes == frozenset({"*:read"})


@pytest.mark.parametrize(
    "change", [{"iss": "https://evil.test"}, {"aud": "someone-else"}, {"exp": int(time.time()) - 60}, {"sub": None}]
)
def test_a_token_for_another_issuer_audience_or_expired_is_refused(verifier, signing_key, change):
    assert verifier.verify(token(signing_key, **change)) is None


def test_a_token_signed_by_another_key_or_unsigned_is_refused(verifier):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert verifier.verify(token(other)) is None
    assert verifier.verify(token(other, kid="unknown")) is None
    unsigned = jwt.encode(
        {"iss": "https://idp.test", "aud": "legacy-bridge", "sub": "x", "exp": int(time.time()) + 60},
        None,
        algorithm="none",
    )
    assert verifier.verify(unsigned) is None


# -- legacy-bridge keys ----------------------------------------------------------------


def test_keys_create_prints_the_key_once_and_stores_only_its_hash(tmp_path):
    keys_file = tmp_path / "keys.yaml"
    result = CliRunner().invoke(
        main, ["keys", "create", "etl", "--scope", "customers:read", "--keys-file", str(keys_file)]
    )
    assert result.exit_code == 0, result.output
    key = result.output.split("key: ", 1)[1].split()[0]
    stored = yaml.safe_load(keys_file.read_text())["keys"]
    assert stored == [{"id": "etl", "hash": hash_key(key), "scopes": ["customers:read"]}]
    assert key not in keys_file.read_text()
    assert keys_file.stat().st_mode & 0o077 == 0
    again = CliRunner().invoke(main, ["keys", "create", "etl", "--scope", "x:read", "--keys-file", str(keys_file)])
    assert again.exit_code == 2 and "exists" in again.output


def test_keys_create_without_a_keys_file_prints_the_config_line():
    result = CliRunner().invoke(main, ["keys", "create", "adhoc", "--scope", "*:read"])
    assert result.exit_code == 0
    line = result.output.split("auth.keys:\n", 1)[1]
    entry = yaml.safe_load(line)[0]
    key = result.output.split("key: ", 1)[1].split()[0]
    assert entry == {"id": "adhoc", "hash": hash_key(key), "scopes": ["*:read"]}


def test_keys_create_refuses_bad_scopes_and_ids():
    assert CliRunner().invoke(main, ["keys", "create", "x", "--scope", "customers:delete"]).exit_code == 2
    assert CliRunner().invoke(main, ["keys", "create", "bad id", "--scope", "*:read"]).exit_code == 2


def test_keys_list_and_revoke_use_the_configs_keys_file(tmp_path):
    keys_file = tmp_path / "keys.yaml"
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "sources": {},
                "resources": {},
                "auth": {
                    "keys_file": str(keys_file),
                    "keys": [{"id": "inline", "hash": hash_key("x"), "scopes": ["*:*"]}],
                },
            }
        )
    )
    runner = CliRunner()
    assert runner.invoke(main, ["keys", "create", "etl", "--scope", "*:read", "--config", str(config)]).exit_code == 0
    listing = runner.invoke(main, ["keys", "list", "--config", str(config)]).output
    assert "inline" in listing and "etl" in listing and "lbk_" not in listing
    inline = runner.invoke(main, ["keys", "revoke", "inline", "--config", str(config)])
    assert inline.exit_code == 2 and "remove its line" in inline.output
    assert runner.invoke(main, ["keys", "revoke", "etl", "--config", str(config)]).exit_code == 0
    assert "etl" not in runner.invoke(main, ["keys", "list", "--config", str(config)]).output
    assert runner.invoke(main, ["keys", "revoke", "etl", "--config", str(config)]).exit_code == 2
