"""The demo: a small legacy CRM (its data: crm_data.py) in a SQLite file, and the config that serves
it; rebuilding replaces the file atomically.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import yaml

from legacy_bridge.demo.crm_data import COPYBOOK_NAME, create_database, write_extract
from legacy_bridge.security.scopes import hash_key

__all__ = [
    "build",
    "config_for",
    "sample_urls",
    "curl_lines",
    "event_lines",
    "write_lines",
    "Built",
    "DEMO_EXCHANGE",
    "DEMO_WRITE_KEY",
]

DB_NAME, CONFIG_NAME = "legacy-crm.db", "legacy-bridge.yaml"
SECRET = "demo-only-not-a-secret"
#: the demo's API key with the write scope of orders and webhooks (reads need no key in the demo);
#: fixed so the README's curl lines work: a loopback demo's key, never one of a real deployment
DEMO_WRITE_KEY = "lbk_demo-writer-loopback-only-not-a-secret"


@dataclass
class Built:
    database: Path
    config: Path
    rows: int


DEMO_EXCHANGE = "legacy-bridge.demo"


def config_for(database: Path, broker_url: str | None = None) -> dict:
    """The config that serves the demo database (and the billing extract beside it); customers
    are in the change feed, published to RabbitMQ at ``broker_url`` when one is given."""
    config = {
        "service": {"title": "Legacy CRM (legacy-bridge demo)", "secret": SECRET, "max_limit": 500},
        "sources": {
            "crm": {
                "kind": "odbc",
                "encoding": "cp1252",
                "timeout": "5s",
                "read_only": False,  # orders take writes
                "connection": f"Driver={{SQLite3}};Database={database.resolve()};StepAPI=1",
            },
            "billing": {
                "kind": "flatfile",
                "path": str(database.parent.resolve() / "drops" / "INVOICE.*.bin"),
                "copybook": str(database.parent.resolve() / COPYBOOK_NAME),
                "codepage": "cp037",
                "record_format": "F",
                "pick": "newest",
                "bad_records": "quarantine",
            },
        },
        "resources": {
            "customers": {
                "source": "crm",
                "table": "LGCY_CUST",
                "key": ["id"],
                "description": "Customers (LGCY_CUST)",
                "changes": {"mode": "snapshot", "every": "5s"},  # no update timestamp: snapshot diffs
                "fields": {
                    "id": {"column": "CUST_NO", "converter": "int"},
                    "name": {"column": "CUST_NM", "converter": {"trim": {"width": 40}}, "filter": True, "sort": True},
                    "city": {"column": "CITY_NM", "converter": {"trim": {"width": 24}}, "filter": True},
                    "state": {"column": "ST_CD", "converter": {"trim": {"width": 2}}, "filter": True, "sort": True},
                    "opened_on": {"column": "OPEN_DT", "converter": "yyyymmdd", "filter": True, "sort": True},
                    "opened_at": {"column": "OPEN_TM", "converter": "hhmmss"},
                    "closed_on": {"column": "CLS_DT", "converter": "yyyymmdd", "filter": True},
                    "active": {"column": "ACTV_FLG", "converter": "flag", "filter": True},
                    "status": {
                        "column": "STAT_CD",
                        "filter": True,
                        "converter": {"code": {"codes": {"A": "active", "C": "closed", "H": "on_hold"}}},
                    },
                    "credit_limit": {
                        "column": "CRDT_LMT",
                        "converter": {"decimal": {"implied": 2}},
                        "filter": True,
                        "sort": True,
                    },
                },
            },
            "orders": {
                "source": "crm",
                "table": "LGCY_ORD",
                "key": ["order_no"],
                "description": "Orders (LGCY_ORD): writable with the demo's key",
                "writes": {"create": True, "update": True, "delete": True, "key": "max_plus_one"},
                "fields": {
                    "order_no": {"column": "ORD_NO", "converter": "int"},
                    "customer_id": {"column": "CUST_NO", "converter": "int", "filter": True, "nullable": False},
                    "ordered_on": {
                        "column": "ORD_DT",
                        "converter": "yyyymmdd",
                        "filter": True,
                        "sort": True,
                        "nullable": False,
                    },
                    "ordered_at": {"column": "ORD_TM", "converter": "hhmmss", "nullable": False},
                    "shipped_on": {"column": "SHIP_DT", "converter": "yyyymmdd", "filter": True},
                    "status": {
                        "column": "ORD_STAT_CD",
                        "filter": True,
                        "nullable": False,
                        "converter": {
                            "code": {"codes": {"OP": "open", "SH": "shipped", "CN": "cancelled", "BO": "backordered"}}
                        },
                    },
                    "rush": {"column": "RUSH_FLG", "converter": "flag", "filter": True, "nullable": False},
                    "total": {
                        "column": "ORD_TOT_AMT",
                        "converter": {"decimal": {"implied": 2}},
                        "filter": True,
                        "sort": True,
                        "nullable": False,
                    },
                },
            },
            "order-lines": {
                "source": "crm",
                "table": "LGCY_ORD_LN",
                "key": ["order_no", "line_no"],
                "description": "Order lines (LGCY_ORD_LN, composite key)",
                "fields": {
                    "order_no": {"column": "ORD_NO", "converter": "int"},
                    "line_no": {"column": "LN_NO", "converter": "int"},
                    "item": {"column": "ITEM_CD", "converter": {"trim": {"width": 12}}, "filter": True},
                    "description": {"column": "ITEM_DSC", "converter": {"trim": {"width": 30}}},
                    "quantity": {"column": "QTY", "converter": "int", "filter": True, "sort": True},
                    "unit_price": {"column": "UNIT_PRC", "converter": {"decimal": {"implied": 2}}, "filter": True},
                },
            },
            "invoices": {
                "source": "billing",
                "key": ["invoice_no"],
                "description": "Invoices from the nightly EBCDIC extract (copybook INVOICE.cpy)",
                "fields": {
                    "invoice_no": {"column": "INV-NO", "converter": "int"},
                    "customer_id": {"column": "CUST-NO", "converter": "int", "filter": True},
                    "invoiced_on": {"column": "INV-DT", "converter": "yyyymmdd", "filter": True},
                    "amount_due": {"column": "AMT-DUE", "converter": "decimal", "filter": True},
                    "status": {
                        "column": "STAT-CD",
                        "filter": True,
                        "converter": {"code": {"codes": {"O": "open", "P": "paid", "C": "cancelled"}}},
                    },
                },
            },
            "open-orders": {
                "source": "crm",
                "view": "V_OPEN_ORD",
                "key": ["order_no"],
                "description": "Open and backordered orders (view V_OPEN_ORD, no primary key)",
                "fields": {
                    "order_no": {"column": "ORD_NO", "converter": "int"},
                    "customer_id": {"column": "CUST_NO", "converter": "int", "filter": True},
                    "customer_name": {"column": "CUST_NM", "converter": {"trim": {"width": 40}}},
                    "ordered_on": {"column": "ORD_DT", "converter": "yyyymmdd", "filter": True, "sort": True},
                    "status": {
                        "column": "ORD_STAT_CD",
                        "filter": True,
                        "converter": {"code": {"codes": {"OP": "open", "BO": "backordered"}}},
                    },
                    "total": {"column": "ORD_TOT_AMT", "converter": {"decimal": {"implied": 2}}},
                },
            },
        },
        "webhooks": {"allow_networks": ["127.0.0.0/8"]},  # a receiver on this machine may subscribe
        # reads are open, writes (orders, webhook subscriptions) take the demo's key
        "auth": {
            "anonymous": ["*:read"],
            "keys": [
                {"id": "demo-writer", "hash": hash_key(DEMO_WRITE_KEY), "scopes": ["orders:write", "webhooks:write"]}
            ],
        },
    }
    if broker_url:
        config["events"] = {
            "source": "legacy-crm-demo",
            "type_prefix": "com.example.crm",
            "sinks": {"demo-hub": {"kind": "rabbitmq", "url": broker_url, "exchange": DEMO_EXCHANGE}},
        }
    return config


def build(directory: str | os.PathLike, broker_url: str | None = None) -> Built:
    """(Re)build the demo database and its config in ``directory``; safe to run again,
    also while a server reads the previous file (both are replaced atomically)."""
    folder = Path(directory).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    database, config = folder / DB_NAME, folder / CONFIG_NAME
    staging = folder / (DB_NAME + ".building")
    staging.unlink(missing_ok=True)
    rows = create_database(staging)
    os.replace(staging, database)
    write_extract(folder)
    text = "# legacy-bridge demo config, written by `legacy-bridge demo`; rebuilt on every run.\n" + yaml.safe_dump(
        config_for(database, broker_url), sort_keys=False, allow_unicode=True
    )
    staging = folder / (CONFIG_NAME + ".building")
    staging.write_text(text, encoding="utf-8")
    os.replace(staging, config)
    return Built(database=database, config=config, rows=rows)


_LIST = "/v1/customers?" + urlencode(
    {
        "state": "MA",
        "active": "true",
        "opened_on[gte]": "2000-01-01",
        "sort": "-credit_limit",
        "fields": "id,name,city,opened_on,credit_limit",
        "limit": 3,
    },
    safe="[],-",
)


def sample_urls(config: str | os.PathLike) -> list[str]:
    """Three paths worth trying: a filtered list, a record by key, the list's next page.

    The next page's cursor is real: the list is read once through the app.
    """
    from legacy_bridge.app import create_app

    app = create_app({"LEGACY_BRIDGE_CONFIG": str(config)})
    access = logging.getLogger("legacy_bridge.access")
    was_disabled, access.disabled = access.disabled, True  # not a request anyone made
    try:
        first = app.test_client().get(_LIST).get_json()
    finally:
        access.disabled = was_disabled
        app.extensions["legacy_bridge"].close()
    urls = [_LIST, "/v1/customers/1"]  # customer 1 is "Björk & Søn GmbH": cp1252 in the source
    if first and first.get("next"):
        urls.append(_LIST + "&" + urlencode({"cursor": first["next"]}))
    else:
        urls.append("/v1/order-lines/100001/1")
    return urls


def curl_lines(config: str | os.PathLike, base_url: str) -> list[str]:
    """``curl`` commands for :func:`sample_urls` (``-g``: the brackets are not globs)."""
    first, by_key, third = sample_urls(config)
    return [f"curl -g '{base_url}{first}'", f"curl -i '{base_url}{by_key}'", f"curl -g '{base_url}{third}'"]


def event_lines(built: Built, base_url: str, broker_url: str | None, python: str = "python3") -> list[str]:
    """How to watch one legacy change become a change event, a webhook and a broker message."""
    change = (
        f"{python} -c \"import sqlite3; c = sqlite3.connect('{built.database}'); "
        f"c.execute('UPDATE LGCY_CUST SET CRDT_LMT = CRDT_LMT + 100 WHERE CUST_NO = 1'); c.commit()\""
    )
    lines = [
        f"curl '{base_url}/v1/customers/changes'            # the change feed (scanned every 5 s)",
        f"{change}   # change the legacy row",
        f"curl -X POST '{base_url}/v1/webhooks' -H 'X-API-Key: {DEMO_WRITE_KEY}' -H 'content-type: application/json' "
        '-d \'{"url": "http://127.0.0.1:9000/hook", "events": ["customers.*"]}\'   # a webhook',
    ]
    if broker_url:
        lines.append(
            f"{python} -c \"import pika; c = pika.BlockingConnection(pika.URLParameters('{broker_url}')).channel(); "
            f"c.exchange_declare('{DEMO_EXCHANGE}', 'topic', durable=True); "
            "q = c.queue_declare('', exclusive=True).method.queue; "
            f"c.queue_bind(q, '{DEMO_EXCHANGE}', 'customers.*'); "
            "[print(m.routing_key, p.headers['ce-id'], b.decode()) for m, p, b in c.consume(q, auto_ack=True)]\"   "
            "# CloudEvents on RabbitMQ"
        )
    return lines


def write_lines(base_url: str) -> list[str]:
    """A write with the demo's key, its If-Match update and an Idempotency-Key retry."""
    key, json_ = f"-H 'X-API-Key: {DEMO_WRITE_KEY}'", "-H 'content-type: application/json'"
    order = '{"customer_id": 1, "ordered_on": "2026-11-30", "ordered_at": "09:30:00", "status": "open", '
    order += '"rush": false, "total": "99.50"}'
    return [
        f"curl -i -X POST '{base_url}/v1/orders' {key} {json_} -H 'Idempotency-Key: demo-1' -d '{order}'"
        "   # 201, Location and ETag",
        f"curl -i -X POST '{base_url}/v1/orders' {key} {json_} -H 'Idempotency-Key: demo-1' -d '{order}'"
        "   # the same answer again, Idempotent-Replayed: true, no second row",
        f"curl -i -X PATCH '{base_url}/v1/orders/<order_no>' {key} {json_} -H 'If-Match: <its ETag>' "
        '-d \'{"status": "shipped"}\'   # 200; the same If-Match again: 412',
    ]
