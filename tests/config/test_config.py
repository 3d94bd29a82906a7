"""Config validation: every problem at once, each with its key path; interpolation; loading."""

from __future__ import annotations

import copy
import textwrap

import pytest

from legacy_bridge import create_app
from legacy_bridge.config import load, parse_duration, validate
from legacy_bridge.config.loader import TOP_KEYS
from legacy_bridge.contracts.converters import known
from legacy_bridge.drivers import known_kinds
from legacy_bridge.errors import ConfigError

GOOD = {
    "service": {"secret": "s", "max_limit": 500},
    "sources": {"crm": {"kind": "odbc", "connection": "DSN=crm", "timeout": "5s"}},
    "resources": {
        "customers": {
            "source": "crm",
            "table": "LGCY_CUST",
            "key": ["id"],
            "fields": {
                "id": {"column": "CUST_NO"},
                "name": {"column": "CUST_NM", "converter": "trim"},
                "opened_on": {"column": "OPEN_DT", "converter": "yyyymmdd", "sort": True},
            },
        }
    },
}


def good(**changes) -> dict:
    raw = copy.deepcopy(GOOD)
    raw.update(changes)
    return raw


def problems_of(raw) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as exc:
        validate(raw, "bridge.yaml")
    error = exc.value
    text = str(error)
    assert text.startswith(f"bridge.yaml: {len(error.problems)} problem(s)")
    for path, message in error.problems:  # the message a user reads names every problem
        assert (f"{path}: {message}" if path else message) in text
    return error.problems


def messages_at(problems, path: str) -> list[str]:
    return [m for p, m in problems if p == path]


def test_a_good_config_validates():
    config = validate(good())
    spec = config.resources["customers"]
    assert spec.target == {"table": "LGCY_CUST"} and spec.source == "crm"
    assert spec.max_limit == 500 and spec.default_limit == 100
    assert config.sources["crm"]["timeout"] == 5.0


def test_key_fields_are_always_filterable_sortable_and_not_null():
    key = validate(good()).resources["customers"].mapping.fields["id"]
    assert key.filter and key.sort and not key.nullable


def test_a_field_given_as_a_string_is_its_column():
    raw = good()
    raw["resources"]["customers"]["fields"]["name"] = "CUST_NM"
    assert validate(raw).resources["customers"].mapping.fields["name"].column == "CUST_NM"


def test_many_problems_are_reported_together_with_their_paths():
    raw = good(resource={})
    crm = raw["sources"]["crm"]
    crm.update(timeout="5 sec", encoding="cp9999")
    del crm["connection"]
    raw["sources"]["tms"] = {"kind": "soapish"}
    raw["service"]["default_limit"] = 0
    customers = raw["resources"]["customers"]
    customers["fields"]["opened_on"]["converter"] = "yyyymmd"
    customers["colour"] = "blue"
    customers["key"] = ["ident"]
    customers["view"] = "V_CUST"
    raw["resources"]["orders"] = {
        "source": "erp",
        "select": "SELECT * FROM ORD; DROP TABLE ORD",
        "key": "id",
        "fields": {"id": "ORD_NO"},
    }
    raw["resources"]["purge"] = {"source": "crm", "select": "DELETE FROM ORD", "key": "id", "fields": {"id": "ORD_NO"}}
    problems = problems_of(raw)

    assert messages_at(problems, "resources.customers.fields.opened_on.converter") == [
        f"unknown converter 'yyyymmd'; known: {', '.join(known())}"
    ]
    assert messages_at(problems, "resource") == [f"unknown key; known: {', '.join(sorted(TOP_KEYS))}"]
    assert messages_at(problems, "resources.customers.colour")[0].startswith("unknown key; known: changes, contract,")
    assert messages_at(problems, "resources.orders.source") == ["unknown source 'erp'; known: crm, tms"]
    assert messages_at(problems, "sources.crm.connection") == ["required: an ODBC connection string or DSN=name"]
    assert messages_at(problems, "resources.customers.key") == ["key field 'ident' is not among the fields"]
    assert messages_at(problems, "resources.customers") == ["exactly one of table, view or select is required"]
    assert messages_at(problems, "resources.orders.select") == ["must be one read-only SELECT statement (no ';')"]
    assert messages_at(problems, "resources.purge.select") == ["must be one read-only SELECT statement (no ';')"]
    assert messages_at(problems, "sources.crm.timeout") == ["expected a duration such as 5s or 500ms, got '5 sec'"]
    assert messages_at(problems, "sources.crm.encoding") == ["unknown encoding 'cp9999'"]
    assert messages_at(problems, "sources.tms.kind") == [
        f"unknown source kind 'soapish'; known: {', '.join(known_kinds())}"
    ]
    assert "odbc" in known_kinds()
    assert messages_at(problems, "service.default_limit") == ["expected an integer >= 1, got 0"]
    assert len(problems) == 13


def test_the_error_reads_as_one_line_per_problem():
    raw = good()
    raw["resources"]["customers"]["fields"]["opened_on"]["converter"] = "yyyymmd"
    raw["resources"]["customers"]["source"] = "erp"
    with pytest.raises(ConfigError) as exc:
        validate(raw, "bridge.yaml")
    lines = str(exc.value).splitlines()
    assert lines[0] == "bridge.yaml: 2 problem(s)"
    assert (
        "  resources.customers.fields.opened_on.converter: unknown converter 'yyyymmd'; known: " + ", ".join(known())
        in lines
    )
    assert "  resources.customers.source: unknown source 'erp'; known: crm" in lines


def test_a_missing_source_kind_and_required_resource_keys():
    raw = good()
    raw["sources"]["crm"] = {"connection": "DSN=crm"}
    raw["resources"]["bare"] = {"source": "crm"}
    problems = problems_of(raw)
    assert messages_at(problems, "sources.crm.kind") == ["required"]
    assert messages_at(problems, "resources.bare") == ["exactly one of table, view or select is required"]
    assert messages_at(problems, "resources.bare.fields") == ["required: at least one field"]
    assert messages_at(problems, "resources.bare.key") == ["required: the field(s) that identify a record, e.g. [id]"]


def test_field_level_problems():
    raw = good()
    fields = raw["resources"]["customers"]["fields"]
    fields["Bad-Name"] = {"column": "X"}
    fields["no_column"] = {"converter": "trim"}
    fields["flags"] = {"column": "F", "filter": "yes", "colour": 1}
    fields["odd"] = {"column": "O", "converter": {"decimal": {"scale": "two"}}}
    problems = problems_of(raw)
    base = "resources.customers.fields"
    assert messages_at(problems, f"{base}.Bad-Name") == ["field names are lower_snake_case (letters, digits, _)"]
    assert messages_at(problems, f"{base}.no_column.column") == ["required: the legacy column name"]
    assert messages_at(problems, f"{base}.flags.filter") == ["expected true or false, got 'yes'"]
    assert messages_at(problems, f"{base}.flags.colour")[0].startswith("unknown key; known: column, converter")
    assert "'scale' must be a whole number >= 0" in messages_at(problems, f"{base}.odd.converter")[0]


def test_names_and_limits():
    raw = good()
    raw["resources"]["Customers!"] = copy.deepcopy(raw["resources"]["customers"])
    raw["resources"]["customers"]["default_limit"] = 600
    raw["service"]["base_path"] = "v1"
    problems = problems_of(raw)
    assert messages_at(problems, "resources.Customers!") == ["resource names are lower case letters, digits, - and _"]
    assert messages_at(problems, "resources.customers.default_limit") == ["must not exceed max_limit"]
    assert messages_at(problems, "service.base_path") == ["must start with /"]


def test_sections_of_the_wrong_shape():
    assert problems_of(["not", "a", "mapping"]) == [("", "expected a mapping, got list")]
    raw = good(sources=["crm"])
    raw["resources"]["customers"]["source"] = None
    problems = problems_of(raw)
    assert ("sources", "expected a mapping, got list") in problems


def test_pool_and_source_options_are_checked():
    raw = good()
    raw["sources"]["crm"].update(pool={"size": 0, "recycle": "often", "shape": 1}, limit_syntax="skip", colour="blue")
    problems = problems_of(raw)
    assert messages_at(problems, "sources.crm.pool.size") == ["expected an integer >= 1, got 0"]
    assert messages_at(problems, "sources.crm.pool.recycle") == ["expected a duration such as 5s or 500ms, got 'often'"]
    assert messages_at(problems, "sources.crm.pool.shape")[0].startswith("unknown key; known: overflow,")
    assert messages_at(problems, "sources.crm.limit_syntax") == ["expected auto, limit, top, fetch or none"]
    assert messages_at(problems, "sources.crm.colour")[0].startswith("unknown key; known: ")


def test_plugins_must_be_importable_modules():
    assert messages_at(problems_of(good(plugins="mod")), "plugins") == ["expected a list of Python module names"]
    problems = problems_of(good(plugins=["no_such_module_lb"]))
    assert messages_at(problems, "plugins[0]")[0].startswith("cannot import 'no_such_module_lb'")


def test_a_contract_that_cannot_be_imported():
    raw = good()
    raw["resources"]["customers"]["contract"] = "no_such_module_lb:Schema"
    problems = problems_of(raw)
    assert messages_at(problems, "resources.customers.contract")[0].startswith(
        "cannot import 'no_such_module_lb:Schema'"
    )


@pytest.mark.parametrize(
    "text, seconds",
    [
        ("5s", 5.0),
        ("500ms", 0.5),
        ("2m", 120.0),
        ("1h", 3600.0),
        ("1.5s", 1.5),
        ("7", 7.0),
        (3, 3.0),
        (0.25, 0.25),
        (" 5 s ", 5.0),
    ],
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["5 sec", "-5s", "s", "", True, "5d", None])
def test_bad_durations(text):
    with pytest.raises(ValueError):
        parse_duration(text)


# -- ${VAR} interpolation -------------------------------------------------------------


def test_variables_and_defaults_are_interpolated(monkeypatch):
    monkeypatch.setenv("LB_TEST_DSN", "DSN=crm-prod")
    monkeypatch.delenv("LB_TEST_TABLE", raising=False)
    raw = good()
    raw["sources"]["crm"]["connection"] = "${LB_TEST_DSN};UID=${LB_TEST_USER:-reader};PWD=${LB_TEST_PWD:-}"
    raw["resources"]["customers"]["table"] = "${LB_TEST_TABLE:-LGCY_CUST}"
    config = validate(raw)
    assert config.sources["crm"]["connection"] == "DSN=crm-prod;UID=reader;PWD="
    assert config.resources["customers"].target == {"table": "LGCY_CUST"}


def test_a_set_variable_wins_over_its_default(monkeypatch):
    monkeypatch.setenv("LB_TEST_TABLE", "CUST_V2")
    raw = good()
    raw["resources"]["customers"]["table"] = "${LB_TEST_TABLE:-LGCY_CUST}"
    assert validate(raw).resources["customers"].target == {"table": "CUST_V2"}


def test_an_interpolated_number_is_a_number(monkeypatch):
    monkeypatch.setenv("LB_TEST_MAX", "800")
    raw = good()
    raw["service"]["max_limit"] = "${LB_TEST_MAX}"
    raw["resources"]["customers"]["default_limit"] = "${LB_TEST_DEFAULT:-50}"
    spec = validate(raw).resources["customers"]
    assert (spec.default_limit, spec.max_limit) == (50, 800)


def test_unset_variables_are_reported_with_their_paths(monkeypatch):
    monkeypatch.delenv("LB_TEST_PWD", raising=False)
    monkeypatch.delenv("LB_TEST_KEY", raising=False)
    raw = good()
    raw["sources"]["crm"]["connection"] = "DSN=crm;PWD=${LB_TEST_PWD}"
    raw["resources"]["customers"]["key"] = ["${LB_TEST_KEY}"]
    problems = problems_of(raw)
    assert messages_at(problems, "sources.crm.connection") == ["environment variable LB_TEST_PWD is not set"]
    assert messages_at(problems, "resources.customers.key[0]") == ["environment variable LB_TEST_KEY is not set"]


# -- files and the app factory --------------------------------------------------------


def test_load_reads_and_validates_a_file(tmp_path):
    path = tmp_path / "bridge.yaml"
    path.write_text(
        textwrap.dedent("""\
        sources:
          crm: {kind: odbc, connection: 'DSN=crm'}
        resources:
          customers:
            source: crm
            table: LGCY_CUST
            key: id
            fields:
              id: CUST_NO
              active: {column: ACTV_FLG, converter: {flag: {true: J, false: N}}}
        """)
    )
    config = load(path)
    assert config.origin == str(path)
    assert config.resources["customers"].mapping.fields["active"].converter.to_legacy(True) == "J"


def test_load_of_a_missing_file(tmp_path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as exc:
        load(missing)
    assert exc.value.origin == str(missing)
    assert exc.value.problems == [("", "cannot read the config file (No such file or directory)")]


def test_load_of_invalid_yaml(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("sources: {crm: [unclosed\n")
    with pytest.raises(ConfigError) as exc:
        load(path)
    [(where, message)] = exc.value.problems
    assert where == "" and message.startswith("not valid YAML: ")
    assert str(path) in str(exc.value)


def test_load_reports_problems_with_the_file_name(tmp_path):
    path = tmp_path / "bridge.yaml"
    path.write_text("sources:\n  crm: {kind: odbc}\n")
    with pytest.raises(ConfigError) as exc:
        load(path)
    assert str(exc.value).startswith(f"{path}: 1 problem(s)")
    assert exc.value.problems == [("sources.crm.connection", "required: an ODBC connection string or DSN=name")]


def test_create_app_refuses_to_start_on_an_invalid_file(tmp_path, monkeypatch):
    path = tmp_path / "bridge.yaml"
    path.write_text(
        "sources:\n  crm: {kind: odbc, connection: 'DSN=crm'}\n"
        "resources:\n  customers: {source: crm, table: T, key: id, "
        "fields: {id: {column: ID, converter: yyyymmd}}}\n"
    )
    monkeypatch.setenv("LEGACY_BRIDGE_CONFIG", str(path))
    with pytest.raises(ConfigError) as exc:
        create_app()
    assert exc.value.problems[0][0] == "resources.customers.fields.id.converter"
    assert "unknown converter 'yyyymmd'" in exc.value.problems[0][1]


def test_create_app_without_any_config(monkeypatch):
    monkeypatch.delenv("LEGACY_BRIDGE_CONFIG", raising=False)
    with pytest.raises(ConfigError, match="no config file: set LEGACY_BRIDGE_CONFIG"):
        create_app()


def test_create_app_starts_on_a_valid_file(tmp_path, monkeypatch):
    path = tmp_path / "bridge.yaml"
    path.write_text(
        "service: {secret: s}\nsources:\n  crm: {kind: odbc, connection: 'DSN=crm'}\n"
        "resources:\n  customers: {source: crm, table: T, key: id, fields: {id: ID}}\n"
    )
    monkeypatch.setenv("LEGACY_BRIDGE_CONFIG", str(path))
    app = create_app()
    assert "customers" in app.extensions["legacy_bridge"].resources
