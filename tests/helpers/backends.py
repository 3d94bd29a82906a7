"""Real legacy databases for the tests: one per ODBC backend, shaped like a legacy CRM.

Backends: SQLite3 (a file), PostgreSQL (psqlODBC, 127.0.0.1:5432) and MariaDB (MariaDB
Connector/ODBC, 127.0.0.1:3306).  Each test run works in a database of its own on each
server (``lbt_<pid>``).  In CI (``CI`` set) an unreachable server is a failure
(:func:`unavailable`); on a laptop without it the tests of that backend skip with the reason.
"""

from __future__ import annotations

import copy
import datetime as dt
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, NoReturn

import pyodbc
import pytest

from legacy_bridge import create_app


def unavailable(problem: str, why_ci_needs_it: str = "CI runs every test") -> NoReturn:
    """What a test does when something it needs is missing: fail in CI, skip elsewhere."""
    if IN_CI:
        pytest.fail(f"{problem} ({why_ci_needs_it})")
    pytest.skip(problem)


ROOT = Path(__file__).resolve().parents[2]
SHARED_TESTDATA = ROOT.parent / "shared" / "testdata"
BACKENDS = ("sqlite", "postgresql", "mariadb")
IN_CI = bool(os.environ.get("CI"))
ROWS = 250

PG_SERVER = os.environ.get(
    "LB_TEST_PG", "Driver={PostgreSQL Unicode};Server=127.0.0.1;Port=5432;Database=test;Uid=postgres"
)
MARIADB_SERVER = os.environ.get(
    "LB_TEST_MARIADB", "Driver={MariaDB Unicode};Server=127.0.0.1;Port=3306;Database=test;Uid=root;Pwd="
)
# Suites run side by side (CI, worktrees) share the servers: each run works in a database
# of its own, created at the start and dropped at the end (see pytest_configure).
RUN_DATABASE = f"lbt_{os.getpid()}"


def in_database(connection: str, database: str) -> str:
    return re.sub(r"(?i)(Database=)[^;]*", lambda m: m.group(1) + database, connection)


PG = in_database(PG_SERVER, RUN_DATABASE)
MARIADB = in_database(MARIADB_SERVER, RUN_DATABASE)


@dataclass
class Backend:
    """One real database reached over ODBC, with helpers to shape its legacy tables."""

    name: str
    connection: str
    quote: str
    types: dict[str, str]

    def connect(self) -> Any:
        return pyodbc.connect(self.connection, autocommit=True)

    def q(self, ident: str) -> str:
        return f"{self.quote}{ident}{self.quote}"

    def execute(self, sql: str, *params: Any) -> list[tuple]:
        with self.connect() as conn:
            cur = conn.cursor()
            cur.execute(sql, *params)
            return [tuple(r) for r in cur.fetchall()] if cur.description else []

    def executemany(self, sql: str, rows: list[tuple]) -> None:
        with self.connect() as conn:
            cur = conn.cursor()
            cur.executemany(sql, rows)  # no fast_executemany: it crashes sqliteodbc

    def drop(self, kind: str, name: str) -> None:
        self.execute(f"DROP {kind} IF EXISTS {self.q(name)}")


TYPES = {
    "sqlite": {"ts": "CHAR(26)", "dec": "DECIMAL(11,2)"},
    "postgresql": {"ts": "TIMESTAMP", "dec": "NUMERIC(11,2)"},
    "mariadb": {"ts": "DATETIME(6)", "dec": "DECIMAL(11,2)"},
}


def run_databases(create: bool) -> None:
    """Create (or drop) this run's database on each server that answers; on creation also
    drop those left by runs whose process is gone (a killed run never reaches its end)."""
    for server, list_sql in (
        (PG_SERVER, "SELECT datname FROM pg_database WHERE datname LIKE 'lbt\\_%'"),
        (MARIADB_SERVER, "SHOW DATABASES LIKE 'lbt\\_%'"),
    ):
        try:
            conn = pyodbc.connect(server, autocommit=True, timeout=5)
        except pyodbc.Error:
            continue  # unreachable: the backend's tests skip, or fail in CI
        with conn:
            cur = conn.cursor()
            stale = [RUN_DATABASE]
            if create:  # lbt_<pid> or lbt_<what>_<pid>: the last part is the run's pid
                stale += [
                    name
                    for (name,) in cur.execute(list_sql).fetchall()
                    if name != RUN_DATABASE
                    and name.rpartition("_")[2].isdigit()
                    and not alive(int(name.rpartition("_")[2]))
                ]
            for name in stale:
                try:
                    cur.execute(f"DROP DATABASE IF EXISTS {name}")
                except pyodbc.Error:
                    pass  # still in use by a run that is alive after all
            if create:
                cur.execute(f"CREATE DATABASE {RUN_DATABASE}")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return pid > 0


def backend_named(name: str, tmp_root: Path) -> Backend:
    if name == "sqlite":
        path = tmp_root / "legacy.db"
        return Backend(name, f"Driver={{SQLite3}};Database={path};StepAPI=1", '"', TYPES[name])
    if name == "postgresql":
        return Backend(name, PG, '"', TYPES[name])
    return Backend(name, MARIADB, "`", TYPES[name])


def customer_row(n: int) -> tuple:
    """Deterministic legacy customer ``n``: padded names, YYYYMMDD ints with 0 sentinels."""
    open_dt = 0 if n % 10 == 0 else 19900101 + (n % 28) + (n % 12) * 100 + (n % 30) * 10000
    return (
        n,
        f"CUSTOMER {n:04d}".ljust(40),
        ("MA", "NY", "TX", "CA")[n % 4],
        open_dt,
        (n * 3607) % 240000 if (n * 3607) % 240000 % 10000 < 6000 else 120000,
        "Y" if n % 3 else "N",
        ("A", "C", "H")[n % 3],
        Decimal(n * 125) / 4,
        dt.datetime(2020, 1, 1) + dt.timedelta(hours=n),
    )


CUST_DDL = """CREATE TABLE {q[LGCY_CUST]} (
  {q[CUST_NO]} INTEGER NOT NULL PRIMARY KEY, {q[CUST_NM]} CHAR(40) NOT NULL,
  {q[ST_CD]} CHAR(2) NOT NULL, {q[OPEN_DT]} INTEGER NOT NULL, {q[OPEN_TM]} INTEGER NOT NULL,
  {q[ACTV_FLG]} CHAR(1) NOT NULL, {q[STAT_CD]} CHAR(1) NOT NULL, {q[CRDT_LMT]} {dec} NOT NULL,
  {q[LAST_UPD_TS]} {ts} NOT NULL)"""
ORD_LN_DDL = """CREATE TABLE {q[LGCY_ORD_LN]} (
  {q[ORD_NO]} INTEGER NOT NULL, {q[LN_NO]} INTEGER NOT NULL, {q[ITEM_CD]} CHAR(12) NOT NULL,
  {q[QTY]} INTEGER NOT NULL, PRIMARY KEY ({q[ORD_NO]}, {q[LN_NO]}))"""


class Quoter(dict):
    def __init__(self, quote: str) -> None:
        super().__init__()
        self.quote = quote

    def __missing__(self, key: str) -> str:
        return f"{self.quote}{key}{self.quote}"


def create_legacy_tables(b: Backend, rows: int = ROWS) -> None:
    """LGCY_CUST (single key), LGCY_ORD_LN (composite key), V_ACTV_CUST (a view, no key)."""
    quoter = Quoter(b.quote)
    b.drop("VIEW", "V_ACTV_CUST")
    for table in ("LGCY_CUST", "LGCY_ORD_LN"):
        b.drop("TABLE", table)
    b.execute(CUST_DDL.format(q=quoter, **b.types))
    b.execute(ORD_LN_DDL.format(q=quoter, **b.types))
    cust = [customer_row(n) for n in range(1, rows + 1)]
    if b.name == "sqlite":  # the CHAR(26) text a legacy SQLite schema would hold
        cust = [r[:-1] + (r[-1].strftime("%Y-%m-%d %H:%M:%S.%f"),) for r in cust]
        cust = [r[:7] + (str(r[7]),) + r[8:] for r in cust]
    b.executemany(f"INSERT INTO {b.q('LGCY_CUST')} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", cust)
    lines = [(o, ln, f"ITEM-{(o * ln) % 97:03d}".ljust(12), ln * 2) for o in range(1, 41) for ln in range(1, 6)]
    b.executemany(f"INSERT INTO {b.q('LGCY_ORD_LN')} VALUES (?, ?, ?, ?)", lines)
    b.execute(
        f"CREATE VIEW {b.q('V_ACTV_CUST')} AS SELECT {b.q('CUST_NO')}, {b.q('CUST_NM')}, "
        f"{b.q('ST_CD')} FROM {b.q('LGCY_CUST')} WHERE {b.q('ACTV_FLG')} = 'Y'"
    )


def crm_config(connection: str, **source: Any) -> dict:
    """The config the facade tests serve: the three legacy objects, every converter kind."""
    return {
        "service": {"secret": "test-secret", "max_limit": 500},
        "sources": {"crm": {"kind": "odbc", "connection": connection, "timeout": "5s", **source}},
        "resources": {
            "customers": {
                "source": "crm",
                "table": "LGCY_CUST",
                "key": ["id"],
                "fields": {
                    "id": {"column": "CUST_NO", "converter": "int"},
                    "name": {"column": "CUST_NM", "converter": {"trim": {"width": 40}}, "filter": True, "sort": True},
                    "state": {"column": "ST_CD", "converter": "trim", "filter": True, "sort": True},
                    "opened_on": {"column": "OPEN_DT", "converter": "yyyymmdd", "filter": True, "sort": True},
                    "opened_at": {"column": "OPEN_TM", "converter": "hhmmss"},
                    "active": {"column": "ACTV_FLG", "converter": "flag", "filter": True},
                    "status": {
                        "column": "STAT_CD",
                        "filter": True,
                        "converter": {"code": {"codes": {"A": "active", "C": "closed", "H": "on_hold"}}},
                    },
                    "credit_limit": {
                        "column": "CRDT_LMT",
                        "converter": {"decimal": {"scale": 2}},
                        "filter": True,
                        "sort": True,
                    },
                    "updated_at": {"column": "LAST_UPD_TS", "converter": "timestamp", "sort": True},
                },
            },
            "order-lines": {
                "source": "crm",
                "table": "LGCY_ORD_LN",
                "key": ["order_no", "line_no"],
                "fields": {
                    "order_no": {"column": "ORD_NO", "converter": "int"},
                    "line_no": {"column": "LN_NO", "converter": "int"},
                    "item": {"column": "ITEM_CD", "converter": "trim", "filter": True},
                    "quantity": {"column": "QTY", "converter": "int", "filter": True, "sort": True},
                },
            },
            "active-customers": {
                "source": "crm",
                "view": "V_ACTV_CUST",
                "key": ["id"],
                "fields": {
                    "id": {"column": "CUST_NO", "converter": "int"},
                    "name": {"column": "CUST_NM", "converter": "trim"},
                    "state": {"column": "ST_CD", "converter": "trim", "filter": True},
                },
            },
        },
    }


def reachable(b: Backend) -> str | None:
    try:
        b.connect().close()
        return None
    except pyodbc.Error as exc:
        return f"{b.name} is not reachable over ODBC: {exc.args[-1] if exc.args else exc}"


def reachable_backend(name: str, tmp_path_factory) -> Backend:
    """Backend ``name`` (an empty database of this run): a failure in CI when it cannot be
    reached, a skip elsewhere."""
    b = backend_named(name, tmp_path_factory.mktemp(name))
    problem = reachable(b)
    if problem:
        unavailable(problem, "CI needs every backend")
    return b


def make_app(config: dict, **flask_config: Any):
    app = create_app({"LEGACY_BRIDGE": copy.deepcopy(config), "TESTING": True, **flask_config})
    return app


def customer_record(n: int) -> dict:
    """Customer ``n`` as the API must return it (JSON form), derived from :func:`customer_row`."""
    no, name, state, open_dt, open_tm, flag, code, limit, updated = customer_row(n)
    try:
        opened_at = dt.time(open_tm // 10000, open_tm // 100 % 100, open_tm % 100).isoformat()
    except ValueError:  # an impossible legacy time reads as null
        opened_at = None
    opened_on = dt.date(open_dt // 10000, open_dt // 100 % 100, open_dt % 100) if open_dt else None
    return {
        "id": no,
        "name": name.rstrip(),
        "state": state,
        "opened_on": opened_on.isoformat() if opened_on else None,
        "opened_at": opened_at,
        "active": flag == "Y",
        "status": {"A": "active", "C": "closed", "H": "on_hold"}[code],
        "credit_limit": str(limit.quantize(Decimal("0.01"))),
        "updated_at": updated.isoformat(),
    }


@contextmanager
def pg_state(schema: str) -> Iterator[str]:
    """A state-store URL on a fresh schema of the PostgreSQL server (dropped afterwards)."""
    from sqlalchemy import create_engine, text

    base = os.environ.get("LB_TEST_PG_STATE", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    engine = create_engine(base)
    try:
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    except Exception as exc:  # noqa: BLE001 - reported below with the reason
        unavailable(f"PostgreSQL state store unreachable: {exc}", "CI needs it")
    try:
        yield f"{base}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        engine.dispose()


@contextmanager
def state_store_url(kind: str, folder: Path, schema: str) -> Iterator[str]:
    """A state-store URL of ``kind``: "sqlite", a file in ``folder``; "postgresql", the fresh
    schema ``schema`` (see :func:`pg_state`)."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'state.db'}"
        return
    with pg_state(schema) as url:
        yield url
