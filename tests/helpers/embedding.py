"""Master-detail tables for the embedding tests: orders, their lines, and notes on lines.

Order ``n`` (1..ORDERS) has ``n % 6`` lines (none for every sixth); line ``(o, ln)`` has two
notes when ``(o + ln) % 3 == 0``.  The child tables' join columns are named apart from the
parent's (ORDER_NO -> ORD_NO), lines are inserted out of their order, and CHAR columns pad.
"""

from __future__ import annotations

from typing import Any

from helpers.backends import Backend

ORDERS = 60
ORD_DDL = "CREATE TABLE {q}LB_EMB_ORD{q} ({q}ORDER_NO{q} INTEGER NOT NULL PRIMARY KEY, {q}CUST{q} CHAR(10) NOT NULL)"
LN_DDL = (
    "CREATE TABLE {q}LB_EMB_LN{q} ({q}ORD_NO{q} INTEGER NOT NULL, {q}LN_NO{q} INTEGER NOT NULL, "
    "{q}SKU{q} CHAR(8) NOT NULL, {q}QTY{q} INTEGER, PRIMARY KEY ({q}ORD_NO{q}, {q}LN_NO{q}))"
)
NOTE_DDL = (
    "CREATE TABLE {q}LB_EMB_NOTE{q} ({q}ORD_NO{q} INTEGER NOT NULL, {q}LN_NO{q} INTEGER NOT NULL, "
    "{q}NOTE_NO{q} INTEGER NOT NULL, {q}TXT{q} VARCHAR(40) NOT NULL, "
    "PRIMARY KEY ({q}ORD_NO{q}, {q}LN_NO{q}, {q}NOTE_NO{q}))"
)


def order_row(n: int) -> tuple:
    return (n, f"C{n % 7:02d}")


def line_rows(n: int) -> list[tuple]:
    """Order ``n``'s lines, in reverse line order (the order they are inserted in)."""
    return [(n, ln, f"S{(n * ln) % 7:03d}", None if (n + ln) % 5 == 0 else (n * ln) % 10) for ln in range(n % 6, 0, -1)]


def note_rows(n: int) -> list[tuple]:
    return [(o, ln, k, f"note {k} of {o}/{ln}") for o, ln, *_ in line_rows(n) if (o + ln) % 3 == 0 for k in (1, 2)]


def create_embed_tables(b: Backend) -> None:
    for table in ("LB_EMB_NOTE", "LB_EMB_LN", "LB_EMB_ORD"):
        b.drop("TABLE", table)
    for ddl in (ORD_DDL, LN_DDL, NOTE_DDL):
        b.execute(ddl.format(q=b.quote))
    b.executemany(f"INSERT INTO {b.q('LB_EMB_ORD')} VALUES (?, ?)", [order_row(n) for n in range(1, ORDERS + 1)])
    b.executemany(
        f"INSERT INTO {b.q('LB_EMB_LN')} VALUES (?, ?, ?, ?)", [r for n in range(1, ORDERS + 1) for r in line_rows(n)]
    )
    b.executemany(
        f"INSERT INTO {b.q('LB_EMB_NOTE')} VALUES (?, ?, ?, ?)", [r for n in range(1, ORDERS + 1) for r in note_rows(n)]
    )


def line_record(row: tuple) -> dict[str, Any]:
    _, ln, sku, qty = row
    return {"line_no": ln, "sku": sku, "qty": qty}


def order_record(n: int, lines: bool = True) -> dict[str, Any]:
    """Order ``n`` as the API returns it, its lines in line order when embedded."""
    record: dict[str, Any] = {"order_no": n, "customer": order_row(n)[1]}
    if lines:
        record["lines"] = [line_record(r) for r in sorted(line_rows(n), key=lambda r: r[1])]
    return record


def embed_config(connection: str) -> dict:
    """Orders with their lines (embedded on request), lines with their notes (by default)."""
    return {
        "service": {"secret": "test-secret", "max_limit": 500},
        "sources": {"crm": {"kind": "odbc", "connection": connection, "timeout": "5s"}},
        "resources": {
            "orders": {
                "source": "crm",
                "table": "LB_EMB_ORD",
                "key": "order_no",
                "fields": {
                    "order_no": {"column": "ORDER_NO", "converter": "int"},
                    "customer": {"column": "CUST", "converter": "trim", "filter": True},
                },
                "embed": {
                    "lines": {
                        "table": "LB_EMB_LN",
                        "join": {"ORDER_NO": "ORD_NO"},
                        "fields": {
                            "line_no": {"column": "LN_NO", "converter": "int"},
                            "sku": {"column": "SKU", "converter": "trim", "filter": True},
                            "qty": {"column": "QTY", "converter": "int", "filter": True},
                        },
                        "order": ["line_no"],
                    }
                },
            },
            "order-lines": {
                "source": "crm",
                "table": "LB_EMB_LN",
                "key": ["order_no", "line_no"],
                "fields": {
                    "order_no": {"column": "ORD_NO", "converter": "int"},
                    "line_no": {"column": "LN_NO", "converter": "int"},
                    "sku": {"column": "SKU", "converter": "trim", "filter": True},
                },
                "embed": {
                    "notes": {
                        "table": "LB_EMB_NOTE",
                        "join": {"ORD_NO": "ORD_NO", "LN_NO": "LN_NO"},
                        "fields": {"text": {"column": "TXT"}, "note_no": {"column": "NOTE_NO", "converter": "int"}},
                        "order": ["-note_no"],
                        "default": True,
                    }
                },
            },
        },
    }
