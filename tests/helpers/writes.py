"""A legacy order table that takes writes, its config and API keys, for the write tests."""

from __future__ import annotations

from legacy_bridge.security.scopes import hash_key, new_key

WRITE_KEY, READ_KEY = new_key(), new_key()

ORDERS_DDL = """CREATE TABLE {q[LGCY_ORD]} (
  {q[ORD_NO]} INTEGER NOT NULL PRIMARY KEY, {q[CUST_CD]} CHAR(8) NOT NULL,
  {q[ORD_DT]} INTEGER NOT NULL, {q[RUSH_FLG]} CHAR(1) NOT NULL, {q[AMT]} {dec},
  {q[NOTE_TX]} VARCHAR(20), {q[LAST_UPD_USER]} CHAR(12), {q[LAST_UPD_DT]} INTEGER, {q[SRC_SYS]} CHAR(4))"""


def orders_config(connection: str, **writes) -> dict:
    return {
        "service": {"secret": "test-secret"},
        "auth": {
            "keys": [
                {"id": "order-app", "hash": hash_key(WRITE_KEY), "scopes": ["orders:*"]},
                {"id": "reader", "hash": hash_key(READ_KEY), "scopes": ["orders:read"]},
            ]
        },
        "sources": {"erp": {"kind": "odbc", "connection": connection, "read_only": False, "timeout": "10s"}},
        "resources": {
            "orders": {
                "source": "erp",
                "table": "LGCY_ORD",
                "key": "number",
                "fields": {
                    "number": {"column": "ORD_NO", "converter": "int"},
                    "customer": {
                        "column": "CUST_CD",
                        "converter": {"trim": {"width": 8}},
                        "nullable": False,
                        "pattern": "^[A-Z0-9]+$",
                    },
                    "ordered_on": {"column": "ORD_DT", "converter": "yyyymmdd", "nullable": False},
                    "rush": {"column": "RUSH_FLG", "converter": "flag", "nullable": False},
                    "amount": {"column": "AMT", "converter": {"decimal": {"scale": 2}}},
                    "note": {"column": "NOTE_TX", "converter": "text"},
                },
                "writes": {
                    "create": True,
                    "update": True,
                    "delete": True,
                    "key": "max_plus_one",
                    "defaults": {
                        "LAST_UPD_USER": {"key_id": True},
                        "LAST_UPD_DT": {"now": "yyyymmdd"},
                        "SRC_SYS": {"value": "API", "on": "create"},
                    },
                    **writes,
                },
            }
        },
    }


WRITER = {"Authorization": f"Bearer {WRITE_KEY}"}
READER = {"Authorization": f"Bearer {READ_KEY}"}
ORDER = {"customer": "ACME01", "ordered_on": "2024-03-05", "rush": True, "amount": "1234.50", "note": "first"}
