#!/usr/bin/env bash
# Lint, format check and type check, as `scripts/bootstrap.sh test` runs them before the tests.
#   scripts/lint.sh          check (fails on any finding)
#   scripts/lint.sh --fix    let ruff fix and format what it can, then check
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BIN=.venv/bin
if [ "${1:-}" = "--fix" ]; then
  "$BIN/ruff" check --fix -q . || true
  "$BIN/ruff" format -q .
fi
echo "== ruff"
"$BIN/ruff" check -q .
"$BIN/ruff" format --check -q .
# mypy resolves modules by folder, but drivers/, facades/ and contracts/ install as
# legacy_bridge.drivers etc. (setup.cfg package_dir): type-check a tree of links with the
# installed names, and print the repository's paths in the findings
echo "== mypy"
tree=.venv/.typecheck
rm -rf "$tree"; mkdir -p "$tree/legacy_bridge"
for entry in legacy_bridge/*; do ln -s "$ROOT/$entry" "$tree/legacy_bridge/"; done
for pkg in drivers facades contracts; do ln -s "$ROOT/$pkg" "$tree/legacy_bridge/$pkg"; done
status=0
(cd "$tree" && "$ROOT/$BIN/mypy" --config-file "$ROOT/pyproject.toml" --cache-dir "$ROOT/.venv/.mypy_cache" \
   -p legacy_bridge) | sed -E 's#^legacy_bridge/(drivers|facades|contracts)/#\1/#' || status=$?
exit $status
