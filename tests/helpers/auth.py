"""API keys of every kind of scope, and a config with every kind of resource behind them."""

from __future__ import annotations

from helpers.backends import crm_config
from legacy_bridge.demo.tms_config import tms_config
from legacy_bridge.security.scopes import hash_key, new_key

FULL, CUSTOMERS_READ, UNRELATED = new_key(), new_key(), new_key()
KEYS = [
    {"id": "admin", "hash": hash_key(FULL), "scopes": ["*:*"]},
    {"id": "reader", "hash": hash_key(CUSTOMERS_READ), "scopes": ["customers:read"]},
    {"id": "unrelated", "hash": hash_key(UNRELATED), "scopes": ["unrelated:*"]},
]
METHODS = ("get", "post", "put", "patch", "delete")


def walk_config(connection: str, tms_url: str, csv_path: str, **auth) -> dict:
    """The CRM test config plus a flat file and a SOAP source: every kind of resource."""
    config = crm_config(connection)
    tms = tms_config(tms_url)
    config["sources"].update(tms["sources"])
    config["resources"].update(tms["resources"])
    config["sources"]["files"] = {
        "kind": "flatfile",
        "path": csv_path,
        "format": "csv",
        "columns": [{"name": "NO", "type": "int"}],
    }
    config["resources"]["receipts"] = {
        "source": "files",
        "key": ["no"],
        "fields": {"no": {"column": "NO", "converter": "int"}, "memo": {"column": "MEMO", "converter": "trim"}},
    }
    config["auth"] = {"keys": KEYS, **auth}
    return config
