"""``legacy-bridge introspect SOURCE --procedure NAME`` on PostgreSQL and MariaDB: the catalog's
parameter list (information_schema.parameters) becomes a draft action, in argument order with
each mode and a converter from its type; on MariaDB the draft validates and calls as printed."""

from __future__ import annotations

import pytest
import yaml
from click.testing import CliRunner

from helpers.backends import Backend, make_app
from helpers.procedures import create_routines, erp_config
from legacy_bridge.cli import main


@pytest.fixture(scope="module", params=["postgresql", "mariadb"])
def erp(request) -> Backend:
    b = request.getfixturevalue(f"{request.param}_only")
    create_routines(b)
    return b


def _sources(b: Backend) -> dict:
    return {"service": {"secret": "t"}, "sources": {"erp": {"kind": "odbc", "connection": b.connection}}}


def introspect(b: Backend, tmp_path, *args: str) -> str:
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump(_sources(b)))
    result = CliRunner().invoke(main, ["introspect", "erp", *args, "--config", str(path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_a_procedure_is_drafted_with_its_parameters_in_order(erp, tmp_path):
    text = introspect(erp, tmp_path, "--procedure", "lb_pr_alloc", "--name", "allocate-order")
    action = yaml.safe_load("actions:\n" + text)["actions"]["allocate-order"]
    assert action["procedure"] == "lb_pr_alloc"
    params = action["params"]
    legacy = [p["param"] for p in params.values()]
    assert legacy[:10] == [
        "p_cust",
        "p_due",
        "p_rush",
        "p_note",
        "p_amt",
        "p_rate",
        "p_ord",
        "p_ship",
        "p_rushed",
        "p_label",
    ]
    assert [params[n].get("mode", "in") for n in params][:10] == ["in"] * 4 + ["inout"] * 2 + ["out"] * 4
    assert params["customer"]["converter"] == "int"  # p_cust: the direction prefix dropped, CUST expanded
    assert "# int" in text and "a YYYYMMDD date?" in text  # the type, and what to look at
    if erp.name == "mariadb":  # PostgreSQL keeps no length nor scale of a parameter's type
        assert params["rate"]["converter"] == {"decimal": {"scale": 2}}
        assert params["note"]["converter"] == {"trim": {"width": 10}}
    else:  # the two refcursors, each read as a result set
        assert [s["cursor"] for s in action["result_sets"]] == ["lines", "notes"]
        assert params["lines"]["mode"] == "inout" and params["lines"]["required"] is False


def test_a_function_is_drafted_with_its_return_value(erp, tmp_path):
    text = introspect(erp, tmp_path, "--function", "lb_pr_tax", "--name", "tax")
    action = yaml.safe_load("actions:\n" + text)["actions"]["tax"]
    assert action["function"] == "lb_pr_tax"
    assert action["returns"] == {"converter": "int"}
    assert list(action["params"].values()) == [{"param": "p_amt", "converter": "int"}]


def test_a_drafted_function_serves_as_printed(erp, tmp_path):
    text = introspect(erp, tmp_path, "--function", "lb_pr_tax", "--name", "tax")
    config = yaml.safe_load(yaml.safe_dump(_sources(erp)) + "actions:\n" + text)
    config["sources"]["erp"]["read_only"] = False
    app = make_app(config)
    try:
        answer = app.test_client().post("/v1/tax", json={"amount": 1250})
        assert answer.status_code == 200, answer.get_json()
        assert answer.get_json() == {"return": 250}
    finally:
        app.extensions["legacy_bridge"].close()


def test_an_unknown_routine_is_an_error_naming_it(erp, tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump(_sources(erp)))
    result = CliRunner().invoke(main, ["introspect", "erp", "--procedure", "lb_pr_none", "--config", str(path)])
    assert result.exit_code != 0 and "lb_pr_none" in result.output


def test_check_reports_each_action_and_an_argument_out_of_order(erp, tmp_path):
    config = erp_config(erp)
    params = config["actions"]["allocate-order"]["params"]
    config["actions"]["allocate-order"]["params"] = {"due_on": params.pop("due_on"), **params}
    path = tmp_path / "erp.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))  # params keep the routine's order
    result = CliRunner().invoke(main, ["check", "--config", str(path)])
    assert result.exit_code != 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines() if line.startswith("  ")}
    assert "FAILING" in lines["allocate-order"] and "argument 1 of lb_pr_alloc is p_cust IN" in lines["allocate-order"]
    assert "ok" in lines["tax"] and "function lb_pr_tax on erp, 1 param(s)" in lines["tax"]
