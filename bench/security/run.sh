#!/usr/bin/env bash
# What auth + metrics + access logging cost on the list endpoint, in one run with wrk.
#
#   bash bench/security/run.sh                       # 3 rounds x 2 builds x 15 s
#   ROUNDS=1 WRK_DURATION=3s bash bench/security/run.sh     # a quick check of the harness
#
# The same build and gunicorn.conf.py serve one SQLite table twice, side by side:
#   full: an auth: section (Bearer key, scope customers:read), Prometheus metrics in
#         multiprocess mode, one JSON access line per request (written to a file);
#   bare: no auth: section, service.metrics: false, LEGACY_BRIDGE_LOG_LEVEL=WARNING.
# Rounds alternate (bare, full / full, bare) so drift on a shared machine hits both.
# Target: full's median req/s >= 90 % of bare's. Results: bench/security/results/<date>/.
# Loopback only; both servers are stopped here, by their PIDs.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PY=${VENV:-$ROOT/.venv}/bin/python
ROUNDS=${ROUNDS:-3}
WRK_DURATION=${WRK_DURATION:-15s}
WRK_THREADS=${WRK_THREADS:-2}
WRK_CONNECTIONS=${WRK_CONNECTIONS:-16}
WORKERS=${WORKERS:-2}
THREADS=${THREADS:-4}
ROWS=${ROWS:-10000}
LIMIT=${LIMIT:-100}
OUT=${RESULTS_DIR:-$HERE/results/$(date +%F)}
mkdir -p "$OUT"
command -v wrk >/dev/null || { echo "wrk is not installed" >&2; exit 1; }

"$PY" "$HERE/setup.py" "$OUT" "$ROWS" >"$OUT/key.txt"
KEY=$(cat "$OUT/key.txt")

declare -A PID=() PORT=()
stop_all() {
  local name pid
  for name in "${!PID[@]}"; do
    pid=${PID[$name]}
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  done
}
trap stop_all EXIT
trap 'exit 130' INT TERM

start() {  # name port log-level
  local name=$1 port=$2
  PORT[$name]=$port
  (cd "$ROOT" && LEGACY_BRIDGE_CONFIG="$OUT/$name.yaml" LEGACY_BRIDGE_LOG_LEVEL=$3 \
     GUNICORN_BIND="127.0.0.1:$port" WEB_CONCURRENCY=$WORKERS GUNICORN_THREADS=$THREADS \
     PROMETHEUS_MULTIPROC_DIR="$OUT/metrics-$name" \
     exec "$PY" -m gunicorn -c gunicorn.conf.py wsgi:app) >"$OUT/gunicorn-$name.log" 2>&1 &
  PID[$name]=$!
  for _ in $(seq 120); do
    curl -sf -o /dev/null "http://127.0.0.1:$port/healthz" && return 0
    kill -0 "${PID[$name]}" 2>/dev/null || { echo "$name exited; see $OUT/gunicorn-$name.log" >&2; exit 1; }
    sleep 0.25
  done
  echo "$name did not come up" >&2; exit 1
}

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
mkdir -p "$OUT/metrics-full" "$OUT/metrics-bare"
start bare "$(free_port)" WARNING
start full "$(free_port)" INFO

URL_PATH="/v1/customers?limit=$LIMIT"
# each build answers as expected before it is measured
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${PORT[full]}$URL_PATH")" = 401 ]
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KEY" "http://127.0.0.1:${PORT[full]}$URL_PATH")" = 200 ]
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${PORT[bare]}$URL_PATH")" = 200 ]
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${PORT[bare]}/metrics")" = 404 ]

measure() {  # name round
  local name=$1 headers=()
  [ "$name" = full ] && headers=(-H "Authorization: Bearer $KEY")
  wrk -t"$WRK_THREADS" -c"$WRK_CONNECTIONS" -d"$WRK_DURATION" --latency "${headers[@]}" \
      "http://127.0.0.1:${PORT[$name]}$URL_PATH" >"$OUT/wrk-$name-$2.txt"
  echo "$name round $2: $(grep 'Requests/sec' "$OUT/wrk-$name-$2.txt")" >&2
}
WARM=(-t1 -c4 -d2s)   # warm-up: pools, prepared statements, imports
wrk "${WARM[@]}" "http://127.0.0.1:${PORT[bare]}$URL_PATH" >/dev/null
wrk "${WARM[@]}" -H "Authorization: Bearer $KEY" "http://127.0.0.1:${PORT[full]}$URL_PATH" >/dev/null
for round in $(seq "$ROUNDS"); do
  if (( round % 2 )); then order=(bare full); else order=(full bare); fi
  for name in "${order[@]}"; do measure "$name" "$round"; done
done
curl -s "http://127.0.0.1:${PORT[full]}/metrics" >"$OUT/metrics-full.txt"
stop_all
trap - EXIT
PID=()
"$PY" "$HERE/summarize.py" "$OUT" | tee "$OUT/summary.md"
