#!/usr/bin/env bash
# Set up everything legacy-bridge needs on Debian/Ubuntu, then run the demo or the tests.
#   scripts/bootstrap.sh demo [demo options]    build the demo legacy CRM and serve it on 127.0.0.1
#   scripts/bootstrap.sh test [pytest options]  lint, format and type checks, then the whole test suite
# Installs only what is missing: unixODBC and the Debian ODBC drivers (and Chromium for the
# docs-page test), then the Python package in ./.venv.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
what="${1:-}"; shift || true
case "$what" in demo|test) ;; *) echo "usage: $0 demo|test [options]" >&2; exit 2 ;; esac

APT=(unixodbc unixodbc-dev odbc-postgresql odbc-mariadb libsqliteodbc)
# Chromium for the docs-page test, haproxy for the many-hosts test's load balancer, a Java runtime
# for the Spark data sources' tests
[ "$what" = test ] && APT+=(chromium chromium-driver haproxy openjdk-17-jre-headless)
missing=()
for pkg in "${APT[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv with $($PY --version)"
  "$PY" -m venv .venv
fi
stamp=".venv/.installed-$(sha1sum setup.cfg | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  echo "== installing legacy-bridge and its test tools into .venv"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e '.[demo,test]'
  rm -f .venv/.installed-*; touch "$stamp"
fi

if [ "$what" = demo ]; then
  exec .venv/bin/legacy-bridge demo "$@"
fi
scripts/lint.sh     # ruff (lint and format) and mypy: a new finding fails the run before the tests
exec .venv/bin/pytest "$@"
