#!/usr/bin/env bash
# NDJSON export over HTTP through gunicorn vs the floor (raw pyodbc fetchmany + the same
# conversions + NDJSON to /dev/null, ../shared/anchors/bench/raw_odbc_fetch.py --mode convert),
# on the anchors' 1M-row LGCY_CUST: PostgreSQL legacy_bench and bench/data/legacy.db
# (both built by `bash bench/run.sh data`). Interleaved: floor, export, floor, export ...
#
#   bash bench/export/run.sh                 # RUNS=3 per backend
#   RUNS=1 BACKENDS=sqlite bash bench/export/run.sh
#   CONCURRENT=2 bash bench/export/run.sh    # exports streaming at once in the worker (memory per export)
#   PARTITIONS=2 WORKERS=2 bash bench/export/run.sh   # also 2 partitions exported in parallel
#
# One gunicorn worker per backend (WORKERS) (the repository's gunicorn.conf.py: 4 threads, at most 2
# exports at once), restarted per backend so its VmHWM (peak RSS) belongs to that backend;
# CONCURRENT exports run at once in it. Loopback only; every process
# started here is stopped here, by its PID. Results: bench/export/results/<date>/.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BENCH="$(dirname "$HERE")"
ROOT="$(dirname "$BENCH")"
ANCHORS="$(cd "${ANCHORS:-$ROOT/../shared/anchors/bench}" && pwd)"
PY=${PY:-$ROOT/.venv/bin/python}
RUNS=${RUNS:-3}
CONCURRENT=${CONCURRENT:-1}
PARTITIONS=${PARTITIONS:-0}
WORKERS=${WORKERS:-1}
BACKENDS=${BACKENDS:-"pg sqlite"}
PORT=${PORT:-8831}
OUT=${RESULTS_DIR:-$HERE/results/$(date +%F)}
export BENCH_SQLITE_PATH=${BENCH_SQLITE_PATH:-$BENCH/data/legacy.db}
export LEGACY_BRIDGE_CONFIG=${LEGACY_BRIDGE_CONFIG:-$BENCH/legacy-bridge.yaml}
export LEGACY_BRIDGE_LOG_LEVEL=WARNING
mkdir -p "$OUT"
LOG="$OUT/results.jsonl"
: > "$LOG"
declare -A RESOURCE=([pg]=customers [sqlite]=customers-sqlite)
declare -A EXTRA=([pg]="UseDeclareFetch=1;Fetch=10000;" [sqlite]="StepAPI=1;")
[ -f "$BENCH_SQLITE_PATH" ] || { echo "no $BENCH_SQLITE_PATH: run bash bench/run.sh data" >&2; exit 1; }

# 2 partitions in parallel (issue 13, part 1's `GET /v1/<r>/partitions?n=N` and `?partition=<token>`):
# PARTITIONS=2 WORKERS=2 exports the N partitions at once, one fetch.py each; the summary adds
# their rows up over the slowest one's time ("partitions-<backend>" lines). Skipped, and said so,
# while the resource answers no partitions.
partitions() {
  local backend=$1 url=$2 tokens
  [ "$PARTITIONS" -gt 0 ] || return 0
  tokens=$(curl -gsf "http://127.0.0.1:$PORT/v1/${RESOURCE[$backend]}/partitions?n=$PARTITIONS" \
    | "$PY" -c 'import json,sys; print("\n".join(p["partition"] for p in json.load(sys.stdin)["data"]))' \
    2>/dev/null) || { echo "{\"label\": \"partitions-$backend\", \"skipped\": \"no partitions route\"}" >> "$LOG"; return 0; }
  for token in $tokens; do
    "$PY" "$HERE/fetch.py" "$url&partition=$token" --label "partitions-$backend" --log "$LOG" >&2 &
  done
  wait $(jobs -p | grep -v "^$GPID$")
}

# CPU seconds (user + system) the gunicorn workers used so far: the export's cost, whatever
# else the machine runs (wall-clock rates move with the load of a shared machine; CPU hardly does)
workers_cpu() {
  local tck total=0 pid
  tck=$(getconf CLK_TCK)
  for pid in $(pgrep -P "$GPID"); do
    # utime + stime: fields 14 and 15, counted after the ")" that ends the process name
    total=$((total + $(sed 's/.*) //' "/proc/$pid/stat" | awk '{print $12 + $13}')))
  done
  awk -v t="$total" -v k="$tck" 'BEGIN { printf "%.3f", t / k }'
}

GPID=""
stop() { [ -n "$GPID" ] && kill -TERM "$GPID" 2>/dev/null && wait "$GPID" 2>/dev/null; GPID=""; }
trap stop EXIT

for backend in $BACKENDS; do
  "$PY" -m gunicorn -c "$ROOT/gunicorn.conf.py" -w "$WORKERS" -b "127.0.0.1:$PORT" --timeout 600 --no-control-socket \
      --chdir "$ROOT" wsgi:app >"$OUT/gunicorn-$backend.log" 2>&1 &
  GPID=$!
  for _ in $(seq 60); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.5; done
  url="http://127.0.0.1:$PORT/v1/${RESOURCE[$backend]}/export?format=ndjson"
  curl -gsf -o /dev/null "$url&id[lte]=1000"                      # warm: pools, imports
  # the floor's fixed cost (interpreter, imports, connect): one row, subtracted from its CPU per row
  (cd "$ANCHORS" && "$PY" "$HERE/cpu.py" --label "floor-start-cpu-$backend" --log "$LOG" -- "$PY" raw_odbc_fetch.py \
      --backend "$backend" --mode convert --limit 1 --odbc-extra "${EXTRA[$backend]}") >/dev/null 2>&1
  for run in $(seq "$RUNS"); do
    (cd "$ANCHORS" && "$PY" "$HERE/cpu.py" --label "floor-cpu-$backend" --log "$LOG" -- "$PY" raw_odbc_fetch.py \
        --backend "$backend" --mode convert --odbc-extra "${EXTRA[$backend]}" --label "floor-$backend" --log "$LOG") >&2
    before=$(workers_cpu)
    for _ in $(seq "$CONCURRENT"); do
      "$PY" "$HERE/fetch.py" "$url" --label "export-$backend" --log "$LOG" >&2 &
    done
    wait $(jobs -p | grep -v "^$GPID$")
    echo "{\"label\": \"export-cpu-$backend\", \"cpu_s\": $(awk -v a="$(workers_cpu)" -v b="$before" 'BEGIN { printf "%.3f", a - b }')}" >> "$LOG"
    partitions "$backend" "$url"
  done
  for w in $(pgrep -P "$GPID"); do
    hwm=$(awk '/VmHWM/ {print $2}' "/proc/$w/status")
    echo "{\"label\": \"rss-$backend\", \"worker_vmhwm_kib\": $hwm}" >> "$LOG"
  done
  stop
done
"$PY" "$HERE/summarize.py" "$LOG" | tee "$OUT/summary.md"
