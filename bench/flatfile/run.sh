#!/usr/bin/env bash
# The flat-file driver under gunicorn: index build, key lookups, list pages at the start and
# the end of a 1,000,000-record DTAR020-style EBCDIC file, and peak RSS serving a 1 GB file.
#
#   bash bench/flatfile/run.sh [extra bench.py options]
#
# Env: FF_WORK (default /tmp/lb-flatfile-bench: the generated files and their indexes),
#      VENV (legacy-bridge's venv, default .venv). Options: --records, --big-bytes (0 skips the
#      1 GB file), --lookups, --walk-limit, --out (default bench/flatfile/results/<UTC date>).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PY="${VENV:-$ROOT/.venv}/bin/python"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$PY" "$HERE/bench.py" "$@"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
