"""The demo: a small legacy CRM in a SQLite file, and the config that serves it.

Everything a legacy schema throws at an integrator is here: cryptic names, CHAR
padding, YYYYMMDD integers with 0 / 99999999 sentinels, HHMMSS integers, Y/N flags,
code tables, implied decimals (cents in an INTEGER), a view without a primary key,
a composite key, and cp1252 bytes stored raw in CHAR columns.  The data is
deterministic; rebuilding replaces the file atomically.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import yaml

__all__ = ["build", "config_for", "sample_urls", "curl_lines", "event_lines", "Built", "DEMO_EXCHANGE"]

CUSTOMERS, ORDERS, DB_NAME, CONFIG_NAME = 500, 2000, "legacy-crm.db", "legacy-bridge.yaml"
SECRET = "demo-only-not-a-secret"
_NAMES = (
    "Café Müller",
    "Björk & Søn",
    "Peña Hermanos",
    "Zoë's Bakery",
    "Crème Brûlée",
    "€uro Supplies",
    "Nordwind",
    "Harbor Freight",
    "Pioneer",
    "Blue Ridge",
    "Atlas",
    "Keystone",
    "Summit",
    "Riverside",
    "Granite",
    "Lakeshore",
)
_KINDS = ("GmbH", "Trading", "Logistics", "& Co", "Imports", "Wholesale", "Ltd", "Inc")
_CITIES = ("Boston", "New York", "Austin", "San José", "Köln", "Zürich", "Montréal", "Málaga", "Denver")
_STATES = ("MA", "NY", "TX", "CA", "NJ", "IL")
_ITEMS = (
    ("WIDGET-S", "Widget, small"),
    ("WIDGET-L", "Widget, large"),
    ("CRM-FRAICHE", "Crème fraîche 200g"),
    ("JALAPENO", "Jalapeño relish"),
    ("SHIRT-XL", "Hemd Größe XL"),
    ("CAFE-CREME", "Café crème beans"),
    ("BOLT-M8", "Bolt M8 × 40"),
    ("NUT-M8", "Nut M8"),
    ("GEAR-12T", "Gear, 12 teeth"),
)

DDL = (
    """CREATE TABLE LGCY_CUST (
         CUST_NO INTEGER NOT NULL PRIMARY KEY, CUST_NM CHAR(40) NOT NULL, CITY_NM CHAR(24) NOT NULL,
         ST_CD CHAR(2) NOT NULL, OPEN_DT INTEGER NOT NULL, OPEN_TM INTEGER NOT NULL,
         CLS_DT INTEGER NOT NULL, ACTV_FLG CHAR(1) NOT NULL, STAT_CD CHAR(1) NOT NULL,
         CRDT_LMT INTEGER NOT NULL)""",
    """CREATE TABLE LGCY_ORD (
         ORD_NO INTEGER NOT NULL PRIMARY KEY, CUST_NO INTEGER NOT NULL, ORD_DT INTEGER NOT NULL,
         ORD_TM INTEGER NOT NULL, SHIP_DT INTEGER NOT NULL, ORD_STAT_CD CHAR(2) NOT NULL,
         RUSH_FLG CHAR(1) NOT NULL, ORD_TOT_AMT INTEGER NOT NULL)""",
    """CREATE TABLE LGCY_ORD_LN (
         ORD_NO INTEGER NOT NULL, LN_NO INTEGER NOT NULL, ITEM_CD CHAR(12) NOT NULL,
         ITEM_DSC CHAR(30) NOT NULL, QTY INTEGER NOT NULL, UNIT_PRC INTEGER NOT NULL,
         PRIMARY KEY (ORD_NO, LN_NO))""",
    """CREATE VIEW V_OPEN_ORD AS
         SELECT o.ORD_NO, o.CUST_NO, c.CUST_NM, o.ORD_DT, o.ORD_STAT_CD, o.ORD_TOT_AMT
         FROM LGCY_ORD o JOIN LGCY_CUST c ON c.CUST_NO = o.CUST_NO
         WHERE o.ORD_STAT_CD IN ('OP', 'BO')""",
)


@dataclass
class Built:
    database: Path
    config: Path
    rows: int


def _char(text: str, width: int) -> bytes:
    """A CHAR(width) value as a cp1252 legacy system stores it: encoded and space padded."""
    return text.encode("cp1252")[:width].ljust(width)


def _yyyymmdd(day: dt.date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


def _customers(rng: random.Random) -> list[tuple]:
    rows = []
    for n in range(1, CUSTOMERS + 1):
        opened = dt.date(1987, 1, 1) + dt.timedelta(days=rng.randrange(13000))
        active = rng.random() < 0.8
        closed = 0 if active else _yyyymmdd(opened + dt.timedelta(days=rng.randrange(30, 2000)))
        name = f"{_NAMES[n % len(_NAMES)]} {_KINDS[(n // len(_NAMES)) % len(_KINDS)]}"
        rows.append(
            (
                n,
                _char(name, 40),
                _char(rng.choice(_CITIES), 24),
                _char(rng.choice(_STATES), 2),
                0 if n % 23 == 0 else _yyyymmdd(opened),  # 0: "date not captured"
                rng.randrange(7, 19) * 10000 + rng.randrange(60) * 100 + rng.randrange(60),
                closed,
                _char("Y" if active else "N", 1),
                _char("A" if active else rng.choice("CH"), 1),
                rng.randrange(10, 500) * 10000,
            )
        )
    return rows


def _orders(rng: random.Random) -> tuple[list[tuple], list[tuple]]:
    orders, lines = [], []
    for i in range(ORDERS):
        ord_no = 100001 + i
        ordered = dt.date(2018, 1, 1) + dt.timedelta(days=rng.randrange(2500))
        status = rng.choices(("SH", "OP", "CN", "BO"), (70, 15, 10, 5))[0]
        shipped = {"SH": _yyyymmdd(ordered + dt.timedelta(days=rng.randrange(1, 15))), "BO": 99999999}.get(
            status, 0
        )  # 99999999: "until further notice"
        total = 0
        for ln_no in range(1, rng.randrange(1, 5) + 1):
            code, text = rng.choice(_ITEMS)
            qty, price = rng.randrange(1, 20), rng.randrange(99, 20000)
            total += qty * price
            lines.append((ord_no, ln_no, _char(code, 12), _char(text, 30), qty, price))
        orders.append(
            (
                ord_no,
                rng.randrange(1, CUSTOMERS + 1),
                _yyyymmdd(ordered),
                rng.randrange(6, 22) * 10000 + rng.randrange(60) * 100 + rng.randrange(60),
                shipped,
                _char(status, 2),
                _char("Y" if rng.random() < 0.1 else "N", 1),
                total,
            )
        )
    return orders, lines


def _create(path: Path) -> int:
    rng = random.Random(1987)
    customers = _customers(rng)
    orders, lines = _orders(rng)
    conn = sqlite3.connect(path)
    try:
        for statement in DDL:
            conn.execute(statement)
        # CAST(? AS TEXT) keeps the cp1252 bytes as they are: the legacy encoding, not UTF-8
        conn.executemany(
            "INSERT INTO LGCY_CUST VALUES (?, CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT),"
            " ?, ?, ?, CAST(? AS TEXT), CAST(? AS TEXT), ?)",
            customers,
        )
        conn.executemany("INSERT INTO LGCY_ORD VALUES (?, ?, ?, ?, ?, CAST(? AS TEXT), CAST(? AS TEXT), ?)", orders)
        conn.executemany("INSERT INTO LGCY_ORD_LN VALUES (?, ?, CAST(? AS TEXT), CAST(? AS TEXT), ?, ?)", lines)
        conn.commit()
    finally:
        conn.close()
    return len(customers) + len(orders) + len(lines)


INVOICE_COPYBOOK = """\
      * Nightly invoice extract of the legacy billing system (EBCDIC cp037, fixed 28-byte records)
       01  INVOICE-REC.
           05  INV-NO        PIC 9(8).
           05  CUST-NO       PIC 9(6).
           05  INV-DT        PIC 9(8).
           05  AMT-DUE       PIC S9(7)V99 COMP-3.
           05  STAT-CD       PIC X(1).
               88  INV-OPEN  VALUE 'O'.
"""
INVOICES, EXTRACT_NAME, COPYBOOK_NAME = 300, "INVOICE.D20240131.bin", "INVOICE.cpy"


def _extract(folder: Path) -> Path:
    """The mainframe's nightly drop: EBCDIC records written by the copybook's own encoder."""
    from decimal import Decimal

    from legacy_bridge.drivers.flatfile.copybook import make_encoder, parse_copybook

    rng = random.Random(2024)
    drops = folder / "drops"
    drops.mkdir(exist_ok=True)
    (folder / COPYBOOK_NAME).write_text(INVOICE_COPYBOOK, encoding="ascii")
    encode = make_encoder(parse_copybook(INVOICE_COPYBOOK), "cp037")
    day = dt.date(2023, 11, 1)
    records = b"".join(
        encode(
            (
                700001 + i,
                rng.randrange(1, CUSTOMERS + 1),
                _yyyymmdd(day + dt.timedelta(days=rng.randrange(92))),
                Decimal(rng.randrange(-5000, 900000)).scaleb(-2),
                rng.choice("OOPPPC"),
            )
        )
        for i in range(INVOICES)
    )
    staging = drops / ("." + EXTRACT_NAME + ".part")  # hidden until complete
    staging.write_bytes(records)
    os.replace(staging, drops / EXTRACT_NAME)
    return drops


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
                "description": "Orders (LGCY_ORD)",
                "fields": {
                    "order_no": {"column": "ORD_NO", "converter": "int"},
                    "customer_id": {"column": "CUST_NO", "converter": "int", "filter": True},
                    "ordered_on": {"column": "ORD_DT", "converter": "yyyymmdd", "filter": True, "sort": True},
                    "ordered_at": {"column": "ORD_TM", "converter": "hhmmss"},
                    "shipped_on": {"column": "SHIP_DT", "converter": "yyyymmdd", "filter": True},
                    "status": {
                        "column": "ORD_STAT_CD",
                        "filter": True,
                        "converter": {
                            "code": {"codes": {"OP": "open", "SH": "shipped", "CN": "cancelled", "BO": "backordered"}}
                        },
                    },
                    "rush": {"column": "RUSH_FLG", "converter": "flag", "filter": True},
                    "total": {
                        "column": "ORD_TOT_AMT",
                        "converter": {"decimal": {"implied": 2}},
                        "filter": True,
                        "sort": True,
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
    rows = _create(staging)
    os.replace(staging, database)
    _extract(folder)
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
        f"curl -X POST '{base_url}/v1/webhooks' -H 'content-type: application/json' "
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
