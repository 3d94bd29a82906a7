"""The demo CRM's legacy data: a SQLite database and the billing system's nightly EBCDIC extract.

Everything a legacy schema throws at an integrator is here: cryptic names, CHAR
padding, YYYYMMDD integers with 0 / 99999999 sentinels, HHMMSS integers, Y/N flags,
code tables, implied decimals (cents in an INTEGER), a view without a primary key,
a composite key, and cp1252 bytes stored raw in CHAR columns.  The data is
deterministic.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import sqlite3
from pathlib import Path

CUSTOMERS, ORDERS = 500, 2000
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


def create_database(path: Path) -> int:
    """Write the CRM's tables and view to a new SQLite file at ``path``; how many rows."""
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


def write_extract(folder: Path) -> Path:
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
