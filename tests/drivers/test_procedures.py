"""The pure parts of drivers/odbc/procedures.py: which routine shapes each backend answers, the
SQLSTATE mapping, the routine's own message without the drivers' decorations, the comparison
with the catalog and the values held to their parameters (the calls themselves are proven on
real servers in tests/integration/test_actions.py)."""

from __future__ import annotations

import pyodbc
import pytest

from legacy_bridge.drivers.odbc.procedures import catalog_problems, check_values, refusal, routine_problems
from legacy_bridge.errors import ActionRefused, ConstraintViolated, InvalidInput, ValueRefused
from legacy_bridge.query.routines import Routine, RoutineArg

ALLOC = Routine("procedure", "ALLOC", (RoutineArg("P_CUST", "in", 7), RoutineArg("P_ORD", "out")))


@pytest.mark.parametrize(
    ("args", "kind"),
    [
        (
            ("P0001", "[P0001] ERROR: no stock for item 42;\nError while executing the query (1) (SQLExecDirectW)"),
            ActionRefused,
        ),
        (("45000", "[45000] [ma-3.1.15][10.11.19-MariaDB]no stock for item 42 (1644) (SQLExecDirectW)"), ActionRefused),
        (("23505", "[23505] ERROR: duplicate key value violates unique constraint"), ConstraintViolated),
        (("22003", '[22003] ERROR: value "9999999999" is out of range for type integer'), ValueRefused),
    ],
)
def test_what_a_routine_raises_maps_to_its_problem(args, kind):
    error = refusal(pyodbc.Error(*args), "erp")
    assert isinstance(error, kind)
    if kind is ActionRefused:
        assert error.detail == "no stock for item 42"  # the routine's message, nothing of the driver
        assert error.legacy_code == args[0]
    if kind is ValueRefused:
        assert "9999999999" not in error.detail and "SQLSTATE 22003" in error.detail  # no driver text


def test_other_errors_are_left_to_the_query_translation():
    assert refusal(pyodbc.Error("42883", "[42883] ERROR: procedure alloc(integer) does not exist"), "erp") is None
    assert refusal(pyodbc.Error("08S01", "The connection has been lost"), "erp") is None


def test_each_backend_refuses_the_shapes_it_cannot_answer():
    assert "no stored procedures" in routine_problems("SQLite", ALLOC)[0]
    assert routine_problems("PostgreSQL", ALLOC) == [] and routine_problems("MariaDB", ALLOC) == []
    rows = Routine("procedure", "P", (), sets=(None,))
    assert "refcursor" in routine_problems("PostgreSQL", rows)[0] and routine_problems("MariaDB", rows) == []
    function_out = Routine("function", "F", (RoutineArg("A", "in"), RoutineArg("B", "out")), returns=True)
    assert "only its return value" in routine_problems("MariaDB", function_out)[0]
    assert "one of: returns, OUT parameters" in routine_problems("PostgreSQL", function_out)[0]
    cursor = Routine("procedure", "P", (RoutineArg("R", "inout", cursor=True),), sets=("R",))
    assert routine_problems("PostgreSQL", cursor) == [] and "refcursor" in routine_problems("MariaDB", cursor)[0]


def _catalog(*params, kind="procedure"):
    return {"kind": kind, "params": [{"name": n, "mode": m} for n, m in params]}


def test_the_arguments_are_compared_with_the_catalog_by_position():
    assert catalog_problems(ALLOC, _catalog(("p_cust", "in"), ("p_ord", "out"))) == []  # names, case aside
    swapped = catalog_problems(ALLOC, _catalog(("P_ORD", "out"), ("P_CUST", "in")))
    assert swapped[0].startswith("argument 1 of ALLOC is P_ORD OUT, the action declares P_CUST IN")
    assert "takes 1 argument(s)" in catalog_problems(ALLOC, _catalog(("P_CUST", "in")))[0]
    assert "is a function in the database" in catalog_problems(ALLOC, _catalog(kind="function"))[0]
    assert catalog_problems(ALLOC, _catalog(("$1", "in"), ("$2", "out"))) == []  # unnamed: by mode alone
    # a function's OUT parameters (a RETURNS TABLE's columns) are no arguments of its call
    rows = Routine("function", "F", (RoutineArg("P_N", "in"),), sets=(None,))
    assert catalog_problems(rows, _catalog(("p_n", "in"), ("ln_no", "out"), kind="function")) == []


def test_a_value_its_parameter_cannot_hold_is_refused_naming_it():
    catalog = {
        "params": [
            {"name": "p_small", "type": "integer", "type_name": "smallint"},
            {"name": "p_uns", "type": "integer", "type_name": "int(10) unsigned"},
            {"name": "p_note", "type": "char", "type_name": "char(10)", "size": 10},
        ]
    }

    def call(**values):
        return Routine("procedure", "P", tuple(RoutineArg(n, "in", v) for n, v in values.items()))

    check_values(call(p_small=32767, p_uns=4294967295, p_note="x" * 10), catalog, "MariaDB")
    with pytest.raises(InvalidInput) as raised:
        check_values(call(p_small=32768), catalog, "PostgreSQL")
    assert raised.value.extra["parameter"] == "p_small" and "-32768 to 32767" in raised.value.detail
    with pytest.raises(InvalidInput):
        check_values(call(p_uns=-1), catalog, "MariaDB")
    with pytest.raises(InvalidInput) as raised:
        check_values(call(p_note="x" * 11), catalog, "MariaDB")
    assert "11 characters do not fit char(10)" in raised.value.detail
