#!/usr/bin/env bash
# Spark reading a 1,000,000-row resource through its partitions (format "legacy-bridge",
# local[2]) with 1, 2 and 4 partitions, beside one NDJSON export stream of the same resource
# (bench/export/fetch.py), on the anchors' LGCY_CUST: SQLite bench/data/legacy.db (copied from
# ../shared/anchors/bench/data when missing) and/or PostgreSQL legacy_bench (bench/run.sh data).
#
#   bash bench/spark/run.sh                      # BACKENDS="sqlite", RUNS=2, FILE_BYTES=1 GB
#   BACKENDS="sqlite pg" RUNS=1 FILE_BYTES=0 bash bench/spark/run.sh
#
# FILE_BYTES > 0 also decodes JRecord's DTAR020 repeated to that size with the Spark file source
# (format "legacy-bridge-copybook", 1, 2, 4 partitions) beside the single-process decoder, with
# the peak RSS of each (bench/spark/copybook_read.py; the file is written under /tmp/lb-spark-bench).
#
# One gunicorn (the repository's gunicorn.conf.py, WORKERS=2 workers) on a loopback port, the
# Spark driver and its two task slots on the same 2-core machine: the figures are what one
# machine does, not a cluster.  Every process started here is stopped here, by its PID.
# Results: bench/spark/results/<date>/results.jsonl and summary.md.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BENCH="$(dirname "$HERE")"
ROOT="$(dirname "$BENCH")"
ANCHORS="${ANCHORS:-$ROOT/../shared/anchors/bench}"
PY=${PY:-$ROOT/.venv/bin/python}
RUNS=${RUNS:-2}
WORKERS=${WORKERS:-2}
FILE_BYTES=${FILE_BYTES:-1000000000}
BACKENDS=${BACKENDS:-sqlite}
PORT=${PORT:-8841}
OUT=${RESULTS_DIR:-$HERE/results/$(date +%F)}
export BENCH_SQLITE_PATH=${BENCH_SQLITE_PATH:-$BENCH/data/legacy.db}
export LEGACY_BRIDGE_CONFIG=${LEGACY_BRIDGE_CONFIG:-$BENCH/legacy-bridge.yaml}
export LEGACY_BRIDGE_LOG_LEVEL=WARNING
export PYSPARK_PYTHON="$PY"
mkdir -p "$OUT"
LOG="$OUT/results.jsonl"
: > "$LOG"
declare -A RESOURCE=([pg]=customers [sqlite]=customers-sqlite)
if [ ! -f "$BENCH_SQLITE_PATH" ] && [ -f "$ANCHORS/data/legacy.db" ]; then
  mkdir -p "$(dirname "$BENCH_SQLITE_PATH")" && cp "$ANCHORS/data/legacy.db" "$BENCH_SQLITE_PATH"
fi
[ -f "$BENCH_SQLITE_PATH" ] || { echo "no $BENCH_SQLITE_PATH: run bash bench/run.sh data" >&2; exit 1; }
command -v java >/dev/null || { echo "no Java runtime: apt-get install openjdk-17-jre-headless" >&2; exit 1; }

GPID=""
stop() { [ -n "$GPID" ] && kill -TERM "$GPID" 2>/dev/null && wait "$GPID" 2>/dev/null; GPID=""; }
trap stop EXIT
"$PY" -m gunicorn -c "$ROOT/gunicorn.conf.py" -w "$WORKERS" -b "127.0.0.1:$PORT" --timeout 600 --no-control-socket \
    --chdir "$ROOT" wsgi:app >"$OUT/gunicorn.log" 2>&1 &
GPID=$!
for _ in $(seq 60); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.5; done

for backend in $BACKENDS; do
  resource=${RESOURCE[$backend]}
  url="http://127.0.0.1:$PORT/v1/$resource/export?format=ndjson"
  curl -gsf -o /dev/null "$url&id[lte]=1000"                         # warm: pools, imports
  for _ in $(seq "$RUNS"); do
    "$PY" "$BENCH/export/fetch.py" "$url" --label "export-$backend" --log "$LOG" >&2
  done
  "$PY" "$HERE/spark_read.py" "http://127.0.0.1:$PORT" "$resource" --partitions 1 2 4 --runs "$RUNS" \
      --label "spark-$backend" --log "$LOG" 2>"$OUT/spark-$backend.log" >&2
done
stop
: > "$OUT/copybook.jsonl"
if [ "$FILE_BYTES" -gt 0 ]; then
  "$PY" "$HERE/copybook_read.py" --bytes "$FILE_BYTES" --log "$OUT/copybook.jsonl" 2>"$OUT/spark-file.log" >&2
fi
"$PY" "$HERE/summarize.py" "$LOG" "$OUT/copybook.jsonl" | tee "$OUT/summary.md"
