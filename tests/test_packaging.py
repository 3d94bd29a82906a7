"""The installed (non-editable) build: drivers/, facades/, contracts/ live only inside
legacy_bridge, so no generic top-level name (PyContracts' ``contracts``) can clash,
and the docs template ships in the wheel."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest
import yaml

from helpers.backends import ROOT, crm_config

# What a build of the working tree must not pick up: caches, other builds, data.
_NOT_SOURCE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".pytest_cache",
    ".hypothesis",
    "bench",
    "demo-data",
    "tests",
)
GENERIC = ("contracts", "drivers", "facades")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel of the working tree, built from a clean copy (no stale build/ leaks in)."""
    tmp = tmp_path_factory.mktemp("packaging")
    source = tmp / "source"
    shutil.copytree(ROOT, source, ignore=_NOT_SOURCE)
    # offline and quick: the venv's setuptools + wheel (the `test` extra) are the backend
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-q",
            "-w",
            str(tmp / "dist"),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (built,) = (tmp / "dist").glob("legacy_bridge-*.whl")
    return built


@pytest.fixture(scope="module")
def site(wheel) -> Path:
    """The wheel installed with pip into a directory of its own."""
    target = wheel.parent.parent / "site"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target", str(target), str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return target


def _run_installed(site: Path, code: str, cwd: Path, shadow: Path | None = None) -> dict:
    """Run ``code`` on the installed build: PYTHONPATH = [shadow], site, the venv's
    dependencies; never the repository, and ``-S`` so the editable install's hook
    (a .pth in site-packages) cannot map legacy_bridge back to it."""
    path = [str(p) for p in (shadow, site) if p] + [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "LEGACY_BRIDGE"))}
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(path))
    result = subprocess.run(
        [sys.executable, "-S", "-c", textwrap.dedent(code)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_wheel_holds_only_the_legacy_bridge_package_and_the_docs_template(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        top_level = archive.read(next(n for n in names if n.endswith(".dist-info/top_level.txt"))).decode()
    assert top_level.split() == ["legacy_bridge"]
    assert {n.split("/")[0] for n in names} == {"legacy_bridge", wheel.name.split("-py")[0] + ".dist-info"}
    assert "legacy_bridge/templates/docs.html" in names
    for package in GENERIC:
        assert f"legacy_bridge/{package}/__init__.py" in names
    # every module of the source folders is in the wheel (setup.cfg lists each package)
    sources = {
        "legacy_bridge": "legacy_bridge",
        "drivers": "legacy_bridge/drivers",
        "facades": "legacy_bridge/facades",
        "contracts": "legacy_bridge/contracts",
    }
    expected = {
        f"{inside}/{path.relative_to(ROOT / folder).as_posix()}"
        for folder, inside in sources.items()
        for path in (ROOT / folder).rglob("*.py")
    }
    assert expected - set(names) == set()
    assert not [n for n in names if n.startswith("tests/") or "conftest" in n]


def test_the_installed_build_imports_from_itself_and_installs_no_generic_top_level_module(site, tmp_path):
    report = _run_installed(
        site,
        """
        import importlib.util, json, sys
        import legacy_bridge.drivers.odbc.driver, legacy_bridge.facades.openapi, legacy_bridge.contracts.converters
        print(json.dumps({
            "files": [m.__file__ for m in (legacy_bridge.drivers.odbc.driver, legacy_bridge.facades.openapi,
                                           legacy_bridge.contracts.converters)],
            "generic": {n: importlib.util.find_spec(n) is not None for n in ("contracts", "drivers", "facades")},
            "path": sys.path}))
    """,
        cwd=tmp_path,
    )
    for file in report["files"]:
        assert Path(file).resolve().is_relative_to(site.resolve()), file
    assert report["generic"] == {"contracts": False, "drivers": False, "facades": False}
    assert not any(Path(p).resolve() == ROOT for p in report["path"] if p)
    assert sorted(p.name for p in site.iterdir() if p.name not in ("bin",)) == sorted(
        ["legacy_bridge", next(site.glob("legacy_bridge-*.dist-info")).name]
    )


def test_a_foreign_contracts_module_cannot_shadow_ours(site, tmp_path, sqlite_backend):
    # PyContracts installs a top-level `contracts`: put one first on the path. If any
    # module of ours still said `import contracts`, it would get this one and fail.
    shadow = tmp_path / "other-distribution"
    for name in GENERIC:
        (shadow / name).mkdir(parents=True)
        (shadow / name / "__init__.py").write_text(
            f"OWNER = 'another distribution'\nraise ImportError('{name}: not legacy-bridge')\n"
        )
    (shadow / "contracts" / "__init__.py").write_text("OWNER = 'PyContracts stand-in'\n")
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(crm_config(sqlite_backend.connection)))
    report = _run_installed(
        site,
        f"""
        import json
        import contracts
        from legacy_bridge import create_app
        from legacy_bridge.contracts.converters import build
        app = create_app({{"LEGACY_BRIDGE_CONFIG": {str(config)!r}}})
        record = app.test_client().get("/v1/customers/1").get_json()
        print(json.dumps({{"theirs": contracts.OWNER, "date": str(build("yyyymmdd").to_canonical(20200131)),
                          "name": record["name"]}}))
    """,
        cwd=tmp_path,
        shadow=shadow,
    )
    assert report == {"theirs": "PyContracts stand-in", "date": "2020-01-31", "name": "CUSTOMER 0001"}


def test_the_docs_page_renders_from_the_installed_build(site, tmp_path, sqlite_backend):
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(crm_config(sqlite_backend.connection)))
    report = _run_installed(
        site,
        f"""
        import json
        from legacy_bridge import create_app
        app = create_app({{"LEGACY_BRIDGE_CONFIG": {str(config)!r}}})
        client = app.test_client()
        page = client.get("/docs")
        bundle = client.get("/docs/assets/swagger-ui-bundle.js")
        spec = client.get("/openapi.json")
        print(json.dumps({{"status": page.status_code, "html": page.get_data(as_text=True),
                          "templates": app.jinja_loader.searchpath, "bundle": bundle.status_code,
                          "paths": sorted(spec.get_json()["paths"])}}))
    """,
        cwd=tmp_path,
    )
    assert report["status"] == 200
    assert '<div id="swagger-ui"></div>' in report["html"]
    assert 'src="/docs/assets/swagger-ui-bundle.js"' in report["html"]
    assert all(Path(p).resolve().is_relative_to(site.resolve()) for p in report["templates"])
    assert report["bundle"] == 200
    assert "/v1/customers/{id}" in report["paths"]
