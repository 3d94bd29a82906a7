"""Stored procedures and functions of a legacy ERP on PostgreSQL and MariaDB, for the action
tests: one that takes and answers every converter kind (IN, INOUT, OUT) and answers two
result sets, one that raises on purpose, one that breaks a key, one that sleeps, and a
function.  Each call of lb_pr_alloc adds a row to lb_pr_calls: the count proves how often
it ran."""

from __future__ import annotations

from helpers.backends import Backend

PG = [
    "CREATE TABLE lb_pr_calls (call_no SERIAL PRIMARY KEY, cust INTEGER NOT NULL)",
    "CREATE TABLE lb_pr_uniq (k INTEGER PRIMARY KEY)",
    """CREATE PROCEDURE lb_pr_alloc(
  IN p_cust INTEGER, IN p_due INTEGER, IN p_rush CHAR(1), IN p_note CHAR(10),
  INOUT p_amt INTEGER, INOUT p_rate NUMERIC(9,2),
  OUT p_ord INTEGER, OUT p_ship INTEGER, OUT p_rushed CHAR(1), OUT p_label CHAR(12),
  INOUT r_lines refcursor, INOUT r_notes refcursor)
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO lb_pr_calls (cust) VALUES (p_cust) RETURNING call_no INTO p_ord;
  p_amt := p_amt + 100;
  p_rate := p_rate * 2;
  p_ship := to_char(to_date(lpad(p_due::text, 8, '0'), 'YYYYMMDD') + 1, 'YYYYMMDD')::integer;
  p_rushed := CASE WHEN p_rush = 'Y' THEN 'N' ELSE 'Y' END;
  p_label := rpad('ORD' || p_cust, 12);
  OPEN r_lines FOR SELECT g AS "LN_NO", rpad('SKU-' || g, 8) AS "SKU", g * 150 AS "AMT"
    FROM generate_series(1, 2) g;
  OPEN r_notes FOR SELECT p_note AS "NOTE_TX", octet_length(p_note) AS "NOTE_LEN";
END $$""",
    """CREATE PROCEDURE lb_pr_kinds(
  INOUT p_stat CHAR(1), INOUT p_hms INTEGER, INOUT p_ts TIMESTAMP, INOUT p_day DATE,
  INOUT p_ratio DOUBLE PRECISION, INOUT p_memo VARCHAR(20), INOUT p_qty INTEGER, INOUT p_raw BYTEA)
LANGUAGE plpgsql AS $$
BEGIN
  p_raw := p_raw || '\\x01'::bytea;
  p_stat := CASE p_stat WHEN 'O' THEN 'S' ELSE 'C' END;
  p_hms := p_hms + 10000;
  p_ts := p_ts + interval '1 day';
  p_day := p_day + 1;
  p_ratio := p_ratio * 2;
  p_memo := upper(p_memo);
  p_qty := 0;
END $$""",
    """CREATE PROCEDURE lb_pr_fail(IN p_item INTEGER) LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO lb_pr_calls (cust) VALUES (-1);
  RAISE EXCEPTION 'no stock for item %', p_item USING ERRCODE = 'P0001';
END $$""",
    """CREATE PROCEDURE lb_pr_dup(IN p_k INTEGER) LANGUAGE plpgsql AS $$
BEGIN INSERT INTO lb_pr_uniq VALUES (p_k); INSERT INTO lb_pr_uniq VALUES (p_k); END $$""",
    "CREATE PROCEDURE lb_pr_slow(IN p_s INTEGER) LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(p_s); END $$",
    "CREATE SEQUENCE lb_pr_tries",
    """CREATE PROCEDURE lb_pr_cut(IN p_k INTEGER) LANGUAGE plpgsql AS $$
BEGIN PERFORM nextval('lb_pr_tries'); PERFORM pg_terminate_backend(pg_backend_pid()); END $$""",
    "CREATE FUNCTION lb_pr_tax(p_amt INTEGER) RETURNS INTEGER LANGUAGE sql AS $$ SELECT p_amt / 5 $$",
    """CREATE FUNCTION lb_pr_lines(p_n INTEGER) RETURNS TABLE("LN_NO" INTEGER, "SKU" TEXT) LANGUAGE sql
AS $$ SELECT g, 'SKU-' || g FROM generate_series(1, p_n) g $$""",
    """CREATE FUNCTION lb_pr_split(IN p_amt INTEGER, OUT p_whole INTEGER, OUT p_cents INTEGER) LANGUAGE sql
AS $$ SELECT p_amt / 100, p_amt % 100 $$""",
]

MARIADB = [
    "CREATE TABLE lb_pr_calls (call_no INTEGER AUTO_INCREMENT PRIMARY KEY, cust INTEGER NOT NULL)",
    "CREATE TABLE lb_pr_uniq (k INTEGER PRIMARY KEY)",
    """CREATE PROCEDURE lb_pr_alloc(
  IN p_cust INT, IN p_due INT, IN p_rush CHAR(1), IN p_note CHAR(10),
  INOUT p_amt INT, INOUT p_rate DECIMAL(9,2),
  OUT p_ord INT, OUT p_ship INT, OUT p_rushed CHAR(1), OUT p_label CHAR(12))
BEGIN
  INSERT INTO lb_pr_calls (cust) VALUES (p_cust);
  SET p_ord = LAST_INSERT_ID();
  SET p_amt = p_amt + 100;
  SET p_rate = p_rate * 2;
  SET p_ship = CAST(DATE_FORMAT(STR_TO_DATE(LPAD(p_due, 8, '0'), '%Y%m%d') + INTERVAL 1 DAY, '%Y%m%d') AS UNSIGNED);
  SET p_rushed = IF(p_rush = 'Y', 'N', 'Y');
  SET p_label = RPAD(CONCAT('ORD', p_cust), 12, ' ');
  SELECT 1 AS LN_NO, RPAD('SKU-1', 8, ' ') AS SKU, 150 AS AMT UNION ALL SELECT 2, RPAD('SKU-2', 8, ' '), 300;
  SELECT p_note AS NOTE_TX, OCTET_LENGTH(p_note) AS NOTE_LEN;
END""",
    """CREATE PROCEDURE lb_pr_kinds(
  INOUT p_stat CHAR(1), INOUT p_hms INT, INOUT p_ts DATETIME, INOUT p_day DATE,
  INOUT p_ratio DOUBLE, INOUT p_memo VARCHAR(20), INOUT p_qty INT, INOUT p_raw VARBINARY(16))
BEGIN
  SET p_raw = CONCAT(p_raw, X'01');
  SET p_stat = IF(p_stat = 'O', 'S', 'C');
  SET p_hms = p_hms + 10000;
  SET p_ts = p_ts + INTERVAL 1 DAY;
  SET p_day = p_day + INTERVAL 1 DAY;
  SET p_ratio = p_ratio * 2;
  SET p_memo = UPPER(p_memo);
  SET p_qty = 0;
END""",
    """CREATE PROCEDURE lb_pr_fail(IN p_item INT)
BEGIN
  DECLARE msg VARCHAR(100);
  INSERT INTO lb_pr_calls (cust) VALUES (-1);
  SET msg = CONCAT('no stock for item ', p_item);
  SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = msg;
END""",
    "CREATE PROCEDURE lb_pr_dup(IN p_k INT) BEGIN INSERT INTO lb_pr_uniq VALUES (p_k); "
    "INSERT INTO lb_pr_uniq VALUES (p_k); END",
    "CREATE PROCEDURE lb_pr_slow(IN p_s INT) BEGIN DO SLEEP(p_s); END",
    "CREATE SEQUENCE lb_pr_tries",
    "CREATE PROCEDURE lb_pr_cut(IN p_k INT) BEGIN DO NEXTVAL(lb_pr_tries); KILL CONNECTION_ID(); END",
    "CREATE FUNCTION lb_pr_tax(p_amt INT) RETURNS INT DETERMINISTIC RETURN p_amt DIV 5",
]


#: INOUT parameters of the converter kinds lb_pr_alloc does not take, each changed and answered
KINDS = {
    "status": {
        "param": "p_stat",
        "converter": {"code": {"codes": {"O": "open", "S": "shipped", "C": "closed"}}},
        "mode": "inout",
    },
    "at": {"param": "p_hms", "converter": "hhmmss", "mode": "inout"},
    "stamp": {"param": "p_ts", "converter": "timestamp", "mode": "inout"},
    "day": {"param": "p_day", "converter": "date", "mode": "inout"},
    "ratio": {"param": "p_ratio", "converter": "float", "mode": "inout"},
    "memo": {"param": "p_memo", "converter": "text", "mode": "inout"},
    "qty": {"param": "p_qty", "converter": {"int": {"null_if": [0]}}, "mode": "inout"},
    "raw": {"param": "p_raw", "converter": "binary", "mode": "inout"},
}


def create_routines(b: Backend) -> None:
    """The ERP's routines and tables on ``b`` (PostgreSQL or MariaDB), created afresh."""
    b.execute("DROP SEQUENCE IF EXISTS lb_pr_tries")
    for name in ("lb_pr_alloc", "lb_pr_kinds", "lb_pr_fail", "lb_pr_dup", "lb_pr_slow", "lb_pr_cut"):
        b.execute(f"DROP PROCEDURE IF EXISTS {name}")
    for name in ("lb_pr_tax", "lb_pr_lines", "lb_pr_split") if b.name == "postgresql" else ("lb_pr_tax",):
        b.execute(f"DROP FUNCTION IF EXISTS {name}")
    for table in ("lb_pr_calls", "lb_pr_uniq"):
        b.execute(f"DROP TABLE IF EXISTS {table}")
    for statement in PG if b.name == "postgresql" else MARIADB:
        b.execute(statement)


def erp_config(b: Backend, **service) -> dict:
    """Actions over the ERP's routines; on PostgreSQL the two result sets come from refcursor
    parameters, on MariaDB from the procedure's SELECTs."""
    params: dict = {
        "customer_id": {"param": "p_cust", "converter": "int"},
        "due_on": {"param": "p_due", "converter": "yyyymmdd"},
        "rush": {"param": "p_rush", "converter": "flag"},
        "note": {"param": "p_note", "converter": {"trim": {"width": 10}}},
        "amount": {"param": "p_amt", "converter": {"decimal": {"implied": 2}}, "mode": "inout"},
        "rate": {"param": "p_rate", "converter": {"decimal": {"scale": 2}}, "mode": "inout"},
        "order_no": {"param": "p_ord", "converter": "int", "mode": "out"},
        "ship_on": {"param": "p_ship", "converter": "yyyymmdd", "mode": "out"},
        "rushed": {"param": "p_rushed", "converter": "flag", "mode": "out"},
        "label": {"param": "p_label", "converter": "trim", "mode": "out"},
    }
    lines = {
        "name": "lines",
        "fields": {
            "line_no": {"column": "LN_NO", "converter": "int"},
            "sku": {"column": "SKU", "converter": "trim"},
            "amount": {"column": "AMT", "converter": {"decimal": {"implied": 2}}},
        },
    }
    notes = {
        "name": "notes",
        "fields": {
            "text": {"column": "NOTE_TX", "converter": "trim"},
            "stored_length": {"column": "NOTE_LEN", "converter": "int"},
        },
    }
    if b.name == "postgresql":
        params["lines_cursor"] = {"param": "r_lines", "mode": "inout", "required": False}
        params["notes_cursor"] = {"param": "r_notes", "mode": "inout", "required": False}
        lines["cursor"], notes["cursor"] = "lines_cursor", "notes_cursor"
    one_int = {"item": {"param": "p_item", "converter": "int", "nullable": False}}
    functions = row_functions(lines["fields"]) if b.name == "postgresql" else {}
    return {
        "service": {"secret": "test-secret", **service},
        "sources": {"erp": {"kind": "odbc", "connection": b.connection, "read_only": False, "timeout": "1s"}},
        "actions": {
            "allocate-order": {
                "source": "erp",
                "procedure": "lb_pr_alloc",
                "params": params,
                "result_sets": [lines, notes],
                "description": "Allocates an order number",
            },
            "kinds": {"source": "erp", "procedure": "lb_pr_kinds", "params": KINDS},
            "reserve": {"source": "erp", "procedure": "lb_pr_fail", "params": one_int},
            "claim": {
                "source": "erp",
                "procedure": "lb_pr_dup",
                "params": {"key": {"param": "p_k", "converter": "int"}},
            },
            "cut": {"source": "erp", "procedure": "lb_pr_cut", "params": {"key": {"param": "p_k", "converter": "int"}}},
            "wait": {
                "source": "erp",
                "procedure": "lb_pr_slow",
                "params": {"seconds": {"param": "p_s", "converter": "int"}},
            },
            "tax": {
                "source": "erp",
                "function": "lb_pr_tax",
                "read_only": True,
                "params": {"amount": {"param": "p_amt", "converter": {"decimal": {"implied": 2}}}},
                "returns": {"converter": {"decimal": {"implied": 2}}},
            },
            **functions,
        },
    }


def row_functions(line_fields: dict) -> dict:
    """Actions over PostgreSQL functions that answer rows: a set-returning one, and one with
    OUT parameters (MariaDB functions answer only their return value)."""
    return {
        "line-list": {
            "source": "erp",
            "function": "lb_pr_lines",
            "read_only": True,
            "params": {"count": {"param": "p_n", "converter": "int", "minimum": 0, "maximum": 10000}},
            "result_sets": [{"name": "lines", "fields": {k: v for k, v in line_fields.items() if k != "amount"}}],
        },
        "split": {
            "source": "erp",
            "function": "lb_pr_split",
            "read_only": True,
            "params": {
                "amount": {"param": "p_amt", "converter": "int"},
                "whole": {"param": "p_whole", "converter": "int", "mode": "out"},
                "cents": {"param": "p_cents", "converter": "int", "mode": "out"},
            },
        },
    }


def tries(b: Backend) -> int:
    """The next number of lb_pr_tries, a sequence lb_pr_cut draws from: a sequence is not rolled
    back, so it counts the calls that a lost connection ended too (this read takes one)."""
    sql = "SELECT nextval('lb_pr_tries')" if b.name == "postgresql" else "SELECT NEXTVAL(lb_pr_tries)"
    return int(b.execute(sql)[0][0])


def calls(b: Backend) -> int:
    """How many times lb_pr_alloc committed."""
    return int(b.execute("SELECT COUNT(*) FROM lb_pr_calls WHERE cust >= 0")[0][0])
