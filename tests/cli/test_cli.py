"""The ``legacy-bridge`` command, through click's CliRunner, on a real SQLite legacy database.

Servers the commands start run as subprocesses on a free 127.0.0.1 port and are
stopped by the test that started them.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from helpers.backends import crm_config
from legacy_bridge.cli import main

CLI = str(Path(sys.executable).with_name("legacy-bridge"))
UNREACHABLE = "Driver={PostgreSQL Unicode};Server=127.0.0.1;Port=1;Database=test;Uid=postgres"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running(argv: list[str], port: int, log: Path, timeout: float = 30) -> Iterator[subprocess.Popen]:
    """Start ``argv``, yield once 127.0.0.1:``port`` accepts connections, SIGTERM it after."""
    with open(log, "wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + timeout
        while True:
            assert process.poll() is None, f"exited with {process.returncode}:\n{log.read_text()}"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, f"not listening after {timeout}s:\n{log.read_text()}"
                time.sleep(0.1)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(15)


def write(path: Path, config: dict) -> str:
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return str(path)


@pytest.fixture
def config_file(sqlite_backend, tmp_path) -> str:
    return write(tmp_path / "good.yaml", crm_config(sqlite_backend.connection))


@pytest.fixture
def invalid_file(sqlite_backend, tmp_path) -> str:
    config = crm_config(sqlite_backend.connection)
    config["resources"]["customers"]["fields"]["opened_on"]["converter"] = "yyyymmd"
    config["resources"]["order-lines"]["key"] = ["order_no", "nope"]
    return write(tmp_path / "invalid.yaml", config)


@pytest.fixture
def runner(monkeypatch) -> CliRunner:
    monkeypatch.delenv("LEGACY_BRIDGE_CONFIG", raising=False)
    return CliRunner()


def invoke(runner: CliRunner, *args: str):
    return runner.invoke(main, list(args), catch_exceptions=False)


# -- serve -------------------------------------------------------------------------


def test_serve_refuses_an_invalid_config_listing_every_problem_with_its_key_path(runner, invalid_file):
    result = invoke(runner, "serve", "--config", invalid_file)
    assert result.exit_code == 2
    assert "resources.customers.fields.opened_on.converter: unknown converter 'yyyymmd'" in result.output
    assert "resources.order-lines.key: key field 'nope' is not among the fields" in result.output
    assert "Traceback" not in result.output


def test_serve_without_any_config_says_how_to_give_one(runner):
    result = invoke(runner, "serve")
    assert result.exit_code == 2
    assert "--config" in result.output and "LEGACY_BRIDGE_CONFIG" in result.output


def test_serve_config_option_overrides_the_environment(runner, config_file, invalid_file, monkeypatch):
    monkeypatch.setenv("LEGACY_BRIDGE_CONFIG", config_file)
    result = invoke(runner, "serve", "--config", invalid_file)
    assert result.exit_code == 2
    assert invalid_file in result.output


def test_serve_answers_on_its_port_and_stops_cleanly_on_sigterm(config_file, tmp_path):
    port = free_port()
    with running([CLI, "serve", "--config", config_file, "--port", str(port)], port, tmp_path / "log") as proc:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/customers?limit=2", timeout=10) as response:
            body = json.loads(response.read())
        assert response.status == 200 and len(body["data"]) == 2
    assert proc.returncode == 0
    assert "stopped" in (tmp_path / "log").read_text()


# -- check -------------------------------------------------------------------------


def test_check_reports_every_source_and_resource_ok(runner, config_file):
    result = invoke(runner, "check", "--config", config_file)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(line.split()[:2] == ["crm", "ok"] for line in lines)
    for name in ("customers", "order-lines", "active-customers"):
        assert any(line.split()[:2] == [name, "ok"] for line in lines), result.output
    assert "all well" in result.output


def test_check_names_the_unreachable_source_and_its_resources_and_fails(runner, sqlite_backend, tmp_path):
    config = crm_config(sqlite_backend.connection)
    config["sources"]["billing"] = {"kind": "odbc", "connection": UNREACHABLE, "timeout": "2s"}
    config["resources"]["invoices"] = {
        "source": "billing",
        "table": "INV",
        "key": ["no"],
        "fields": {"no": {"column": "INV_NO"}},
    }
    result = invoke(runner, "check", "--config", write(tmp_path / "c.yaml", config), "--timeout", "2")
    assert result.exit_code == 1
    billing = next(line for line in result.output.splitlines() if line.split()[:1] == ["billing"])
    assert "FAILING" in billing and "cannot be reached" in billing and "08001" in billing
    invoices = next(line for line in result.output.splitlines() if line.split()[:1] == ["invoices"])
    assert "FAILING" in invoices and "billing" in invoices
    assert any(line.split()[:2] == ["crm", "ok"] for line in result.output.splitlines())


def test_check_finds_a_column_the_table_does_not_have(runner, sqlite_backend, tmp_path):
    # SQLite would read "CUST_NAME" as a string literal: only the catalog comparison catches it
    config = crm_config(sqlite_backend.connection)
    config["resources"]["customers"]["fields"]["name"]["column"] = "CUST_NAME"
    result = invoke(runner, "check", "--config", write(tmp_path / "c.yaml", config))
    assert result.exit_code == 1
    line = next(line for line in result.output.splitlines() if line.split()[:1] == ["customers"])
    assert "FAILING" in line and "name (CUST_NAME)" in line


def test_check_finds_a_table_that_does_not_exist(runner, sqlite_backend, tmp_path):
    config = crm_config(sqlite_backend.connection)
    config["resources"]["customers"]["table"] = "LGCY_CUSTOMER"
    result = invoke(runner, "check", "--config", write(tmp_path / "c.yaml", config))
    assert result.exit_code == 1
    assert "no table or view 'LGCY_CUSTOMER'" in result.output


def test_check_refuses_an_invalid_config_with_its_key_paths(runner, invalid_file):
    result = invoke(runner, "check", "--config", invalid_file)
    assert result.exit_code == 2
    assert "resources.customers.fields.opened_on.converter" in result.output


# -- introspect --------------------------------------------------------------------


def test_introspect_prints_a_draft_that_validates(runner, config_file):
    from legacy_bridge.config import validate

    result = invoke(runner, "introspect", "crm", "LGCY_CUST", "--config", config_file, "--sample", "50")
    assert result.exit_code == 0, result.output
    draft = yaml.safe_load(result.output)
    assert list(draft) == ["customer"]
    config = crm_config("unused")
    validate({**config, "resources": draft})


def test_introspect_names_the_resource_when_asked(runner, config_file):
    result = invoke(runner, "introspect", "crm", "LGCY_ORD_LN", "--config", config_file, "--name", "lines")
    assert list(yaml.safe_load(result.output)) == ["lines"]


def test_introspect_unknown_source_lists_the_known_ones(runner, config_file):
    result = invoke(runner, "introspect", "erp", "LGCY_CUST", "--config", config_file)
    assert result.exit_code == 2
    assert "unknown source 'erp'; known: crm" in result.output


def test_introspect_unknown_table_fails_naming_it(runner, config_file):
    result = invoke(runner, "introspect", "crm", "NO_SUCH_TBL", "--config", config_file)
    assert result.exit_code == 1
    assert "no table or view 'NO_SUCH_TBL'" in result.output


def test_introspect_unreachable_source_fails_with_the_reason(runner, tmp_path):
    config = {"sources": {"billing": {"kind": "odbc", "connection": UNREACHABLE, "connect_timeout": "2s"}}}
    result = invoke(runner, "introspect", "billing", "INV", "--config", write(tmp_path / "c.yaml", config))
    assert result.exit_code == 1
    assert "cannot be reached" in result.output


def test_introspect_rejects_a_negative_sample(runner, config_file):
    result = runner.invoke(main, ["introspect", "crm", "LGCY_CUST", "--config", config_file, "--sample", "-1"])
    assert result.exit_code == 2


# -- openapi -----------------------------------------------------------------------


def test_openapi_prints_the_spec_of_every_resource(runner, config_file):
    result = invoke(runner, "openapi", "--config", config_file)
    assert result.exit_code == 0
    spec = json.loads(result.output)
    assert spec["openapi"].startswith("3.")
    assert {"/v1/customers", "/v1/order-lines/{order_no}/{line_no}", "/v1/active-customers"} <= set(spec["paths"])


def test_openapi_reads_the_config_named_by_the_environment(runner, config_file, monkeypatch):
    monkeypatch.setenv("LEGACY_BRIDGE_CONFIG", config_file)
    result = invoke(runner, "openapi")
    assert result.exit_code == 0
    assert "/v1/customers" in json.loads(result.output)["paths"]


def test_openapi_refuses_an_invalid_config(runner, invalid_file):
    result = invoke(runner, "openapi", "--config", invalid_file)
    assert result.exit_code == 2
    assert "resources.order-lines.key" in result.output


# -- demo --------------------------------------------------------------------------


def test_demo_no_serve_builds_and_prints_three_curl_lines_and_how_to_watch_events(runner, tmp_path):
    result = invoke(runner, "demo", "--dir", str(tmp_path / "demo"), "--port", "8123", "--no-serve", "--broker", "none")
    assert result.exit_code == 0, result.output
    tried, watch = result.output.split("Try:")[1].split("Watch a change become events")
    curls = [line.strip() for line in tried.splitlines() if line.strip().startswith("curl ")]
    assert len(curls) == 3
    assert "curl 'http://127.0.0.1:8123/v1/customers/changes'" in watch and "no RabbitMQ" in watch
    assert all("http://127.0.0.1:8123/v1/" in line for line in curls)
    assert "cursor=" in curls[2]
    assert (tmp_path / "demo" / "legacy-crm.db").is_file()
    assert (tmp_path / "demo" / "legacy-bridge.yaml").is_file()


def test_version_is_printed(runner):
    result = invoke(runner, "--version")
    assert result.exit_code == 0 and "legacy-bridge" in result.output


def test_console_script_is_installed_and_lists_every_command():
    result = subprocess.run([CLI, "--help"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    for command in ("serve", "check", "introspect", "openapi", "demo"):
        assert command in result.stdout
