#!/usr/bin/env bash
# legacy-bridge beside sandman2 on the anchors' generated LGCY_CUST table, in one run.
#
#   bash bench/run.sh                        # everything: setup data pg sqlite summary
#   ROWS=100000 WRK_DURATION=3s RUNS=1 bash bench/run.sh      # a quick check of the harness
#   bash bench/run.sh sqlite summary         # only some steps (same RESULTS_DIR)
#   BASE_ROOT=/tmp/lb-base bash bench/run.sh setup data ab summary
#                                            # this tree against another checkout (its own .venv), A/B
#   bash bench/run.sh setup data embed summary  # list with ?embed=orders (~5 per customer) vs without
#
# Reuses ../shared/anchors/bench by path (make_dataset.py, benchconf.py, sandman2_wsgi.py,
# wrk/*.lua): nothing of it is copied. Results: bench/results/<date>/ (RESULTS_DIR overrides).
# Loopback only; every process started here is stopped here, by its PID.
set -euo pipefail
BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$BENCH")"
ANCHORS="$(cd "${ANCHORS:-$ROOT/../shared/anchors/bench}" && pwd)"
VENV=${VENV:-$ROOT/.venv}
SM2VENV=${SM2VENV:-/tmp/venv-sandman2}
ROWS=${ROWS:-1000000}
RUNS=${RUNS:-3}
WRK_DURATION=${WRK_DURATION:-15s}
WRK_THREADS=${WRK_THREADS:-2}
WRK_CONNECTIONS=${WRK_CONNECTIONS:-16}
WORKERS=${WORKERS:-2}
THREADS=${THREADS:-4}
LB_PORT=${LB_PORT:-8811}
SM2_PORT=${SM2_PORT:-8812}
BASE_PORT=${BASE_PORT:-8813}
BASE_ROOT=${BASE_ROOT:-}
LIMIT=100
EXPORT_ROWS=${EXPORT_ROWS:-100000}   # the embed step's export: customers 1..EXPORT_ROWS
RESULTS_DIR=${RESULTS_DIR:-$BENCH/results/$(date +%F)}
export BENCH_SQLITE_PATH=${BENCH_SQLITE_PATH:-$BENCH/data/legacy.db}
export ANCHORS_WRK="$ANCHORS/wrk"
export LEGACY_BRIDGE_CONFIG=${LEGACY_BRIDGE_CONFIG:-$BENCH/legacy-bridge.yaml}
PY="$VENV/bin/python"
# legacy-bridge runs with its production settings (JSON access log, metrics); the anchors
# (sandman2) with gunicorn's defaults, as their own harness runs them
LB_GUNICORN_CONF=${LB_GUNICORN_CONF:-$ROOT/gunicorn.conf.py}
LAST_PAGE=$(( (ROWS + LIMIT - 1) / LIMIT ))
PAGE=$(( LAST_PAGE < 10000 ? LAST_PAGE : 10000 ))     # "page 10,000" (the last page of 1M rows)
mkdir -p "$RESULTS_DIR" "$(dirname "$BENCH_SQLITE_PATH")"

log() { printf '\n== %s  %s\n' "$(date +%T)" "$*" >&2; }
die() { echo "run.sh: $*" >&2; exit 1; }

# -- processes --------------------------------------------------------------------------
declare -A PID=() LOGFILE=()    # server name -> gunicorn master PID / its log

stop_server() {  # name
  local name=$1 pid=${PID[$1]:-}
  [ -n "$pid" ] || return 0
  unset "PID[$name]"
  kill -TERM "$pid" 2>/dev/null || true          # the gunicorn master stops its own workers
  for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "gunicorn $pid ($name) did not stop in 15 s: SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  # one JSON access line per request: ~100 MB per full run, ~10 MB gzipped
  if [ -s "${LOGFILE[$name]}" ]; then gzip -f "${LOGFILE[$name]}"; fi
}
stop_all() { local name; for name in "${!PID[@]}"; do stop_server "$name"; done; }
trap stop_all EXIT
trap 'exit 130' INT TERM

start_server() {  # name port venv chdir module probe-path [gunicorn config file]
  local name=$1 port=$2 venv=$3 dir=$4 module=$5 probe=$6 conf=${7:-} extra=()
  if curl -s -o /dev/null "http://127.0.0.1:$port/"; then die "port $port is already in use"; fi
  # gunicorn >= 27 opens a control socket at one fixed path per user unless told not to
  "$venv/bin/gunicorn" --help | grep -q -- --no-control-socket && extra+=(--no-control-socket)
  # gunicorn reads ./gunicorn.conf.py of its working directory unless -c names one: each
  # product starts in its own folder, and only legacy-bridge is given one
  LOGFILE[$name]="$RESULTS_DIR/gunicorn-$name.log"
  # legacy-bridge: its production gunicorn.conf.py (worker class, JSON logs, metrics) with
  # WORKERS x THREADS; the anchors: gunicorn's defaults with WORKERS sync workers
  local run=(-w "$WORKERS" -k sync)
  [ -n "$conf" ] && run=(-c "$conf")
  (cd "$dir" && WEB_CONCURRENCY=$WORKERS GUNICORN_THREADS=$THREADS exec "$venv/bin/gunicorn" "${run[@]}" \
      -b "127.0.0.1:$port" \
      ${extra[@]+"${extra[@]}"} "$module") >"${LOGFILE[$name]}" 2>&1 &
  PID[$name]=$!
  for _ in $(seq 120); do
    if curl -sf -o /dev/null "http://127.0.0.1:$port$probe"; then
      sleep 0.5   # let the second worker finish booting too
      [ "$(pgrep -P "${PID[$name]}" | wc -l)" -ge "$WORKERS" ] && return 0
    fi
    kill -0 "${PID[$name]}" 2>/dev/null || die "$name exited at start-up; see ${LOGFILE[$name]}"
    sleep 0.5
  done
  die "$name did not come up on 127.0.0.1:$port"
}

rss_sample() {  # server product backend phase: VmHWM (peak) and VmRSS of every worker, in KiB
  local workers="" p hwm rss
  for p in $(pgrep -P "${PID[$1]}"); do
    hwm=$(awk '/^VmHWM/{print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
    rss=$(awk '/^VmRSS/{print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
    workers+="${workers:+,}{\"pid\":$p,\"hwm_kib\":${hwm:-0},\"rss_kib\":${rss:-0}}"
  done
  echo "{\"product\":\"$2\",\"backend\":\"$3\",\"phase\":\"$4\",\"workers\":[$workers]}" >>"$RESULTS_DIR/rss.jsonl"
}

worker_ticks() {  # server: CPU time (user + system, clock ticks) its workers have used so far
  local t=0 p
  for p in $(pgrep -P "${PID[$1]}"); do
    t=$(( t + $(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}' || echo 0) ))
  done
  echo "$t"
}
CLK_TCK=$(getconf CLK_TCK)

# -- measuring --------------------------------------------------------------------------
wrk_once() {  # server product backend scenario run script url [VAR=value ...] -> a line of wrk.jsonl
  local server=$1 product=$2 backend=$3 scenario=$4 run=$5 script=$6 url=$7; shift 7
  local txt="$RESULTS_DIR/wrk-$product-$backend-$scenario-$run.txt" ticks
  ticks=$(worker_ticks "$server")
  # cwd = the anchors' folder: their scripts find report.lua as ./wrk/report.lua
  (cd "$ANCHORS" && env "$@" wrk -t"$WRK_THREADS" -c"$WRK_CONNECTIONS" -d"$WRK_DURATION" --timeout 30s \
      --latency -s "$script" "$url") >"$txt"
  # worker CPU per request: robust where req/s is not (the machine is shared)
  ticks=$(( $(worker_ticks "$server") - ticks ))
  grep '^WRKJSON ' "$txt" | sed 's/^WRKJSON //' | "$PY" -c "
import json, sys
d = json.load(sys.stdin)
d.update(product='$product', backend='$backend', scenario='$scenario', run=$run, url='''$url''',
         worker_cpu_s=$ticks / $CLK_TCK)
print(json.dumps(d))" | tee -a "$RESULTS_DIR/wrk.jsonl" >&2
  rss_sample "$server" "$product" "$backend" "$scenario-$run"
}

forget() {  # product backend: a step run again replaces its earlier figures in RESULTS_DIR
  local f
  for f in wrk rss walk; do
    [ -f "$RESULTS_DIR/$f.jsonl" ] || continue
    "$PY" - "$RESULTS_DIR/$f.jsonl" "$1" "$2" <<'EOF'
import json, sys
path, product, backend = sys.argv[1:]
lines = [line for line in open(path) if line.strip()]
keep = [line for line in lines
        if (json.loads(line).get("product"), json.loads(line).get("backend")) != (product, backend)]
open(path, "w").writelines(keep)
EOF
  done
  rm -f "$RESULTS_DIR/wrk-$1-$2-"*.txt
}

warm_up() {  # script url [VAR=value ...]: 3 s, not recorded
  local script=$1 url=$2; shift 2
  (cd "$ANCHORS" && env "$@" wrk -t"$WRK_THREADS" -c"$WRK_CONNECTIONS" -d3s -s "$script" "$url") >/dev/null
}

check_url() {  # url python-expression-on-d: the JSON body must satisfy it
  local url=$1 expr=$2 body
  body=$(curl -sfg "$url") || die "GET $url failed: $(curl -sg "$url" | head -c 300)"
  printf '%s' "$body" | "$PY" -c "import json,sys; d=json.load(sys.stdin); assert $expr, d" \
    || die "GET $url: unexpected body"
}

# -- the two products -------------------------------------------------------------------
SM2_BASE="http://127.0.0.1:$SM2_PORT"
LB_BASE="http://127.0.0.1:$LB_PORT"

sandman2_start() {
  log "sandman2 (PostgreSQL, psycopg2) under gunicorn -w $WORKERS on 127.0.0.1:$SM2_PORT"
  start_server sandman2 "$SM2_PORT" "$SM2VENV" "$ANCHORS" sandman2_wsgi:app /lgcy_cust/1
  check_url "$SM2_BASE/lgcy_cust/1" "d['cust_no'] == 1"
  check_url "$SM2_BASE/lgcy_cust/?page=2&limit=$LIMIT&sort=cust_no" \
    "len(d['resources']) == $LIMIT and d['resources'][0]['cust_no'] == $((LIMIT + 1))"
  rss_sample sandman2 sandman2 pg start
}

sandman2_run() {  # scenario run
  case $1 in
    list) wrk_once sandman2 sandman2 pg list "$2" wrk/list_random.lua "$SM2_BASE" \
            WRK_PATH=/lgcy_cust/ WRK_MAX_PAGE="$LAST_PAGE" WRK_QUERY="limit=$LIMIT&sort=cust_no" ;;
    get)  wrk_once sandman2 sandman2 pg get "$2" wrk/get_random.lua "$SM2_BASE" \
            WRK_PATH=/lgcy_cust/ WRK_MAX_KEY="$ROWS" ;;
  esac
}

PAGE_URL=""
lb_start() {  # backend resource: serve, check, and walk the whole table (sets PAGE_URL)
  local backend=$1 path=/v1/$2 walk
  log "legacy-bridge ($backend) under gunicorn -w $WORKERS on 127.0.0.1:$LB_PORT"
  start_server "legacy-bridge-$backend" "$LB_PORT" "$VENV" "$ROOT" wsgi:app /healthz "$LB_GUNICORN_CONF"
  check_url "$LB_BASE/readyz" "d['status'] == 'ok'"
  check_url "$LB_BASE$path?id[gt]=$((ROWS - LIMIT))&limit=$LIMIT" \
    "len(d['data']) == $LIMIT and d['data'][0]['id'] == $((ROWS - LIMIT + 1)) and d['next'] is None"
  check_url "$LB_BASE$path/1" "d['id'] == 1 and d['name'] == d['name'].rstrip()"
  curl -sf "$LB_BASE$path?limit=2" >"$RESULTS_DIR/sample-$backend.json"
  rss_sample "legacy-bridge-$backend" legacy-bridge "$backend" start
  # one client reads the whole table page by page; its page $PAGE is what wrk asks below
  walk=$("$PY" "$BENCH/walk.py" --port "$LB_PORT" --path "$path" --rows "$ROWS" --limit "$LIMIT" --page "$PAGE")
  echo "$walk" | "$PY" -c "import json,sys; d=json.load(sys.stdin); d.update(product='legacy-bridge', backend='$backend'); print(json.dumps(d))" \
    | tee -a "$RESULTS_DIR/walk.jsonl" >&2
  rss_sample "legacy-bridge-$backend" legacy-bridge "$backend" walk
  PAGE_URL=$(echo "$walk" | "$PY" -c "import json,sys; print(json.load(sys.stdin)['page_url'])")
}

lb_run() {  # backend resource scenario run
  local backend=$1 path=/v1/$2 server=legacy-bridge-$1
  case $3 in
    list)  wrk_once "$server" legacy-bridge "$backend" list "$4" "$BENCH/wrk/keyset_random.lua" "$LB_BASE" \
             WRK_PATH="$path" WRK_MAX_KEY="$ROWS" WRK_LIMIT="$LIMIT" ;;
    get)   wrk_once "$server" legacy-bridge "$backend" get "$4" wrk/get_random.lua "$LB_BASE" \
             WRK_PATH="$path/" WRK_MAX_KEY="$ROWS" ;;
    # page 1 and page $PAGE back to back, so drift on a shared machine hits both alike
    pages) wrk_once "$server" legacy-bridge "$backend" page1 "$4" "$BENCH/wrk/fixed.lua" "$LB_BASE$path?limit=$LIMIT"
           wrk_once "$server" legacy-bridge "$backend" "page$PAGE" "$4" "$BENCH/wrk/fixed.lua" "$LB_BASE$PAGE_URL" ;;
  esac
}

lb_warm_up() {  # resource
  warm_up "$BENCH/wrk/keyset_random.lua" "$LB_BASE" WRK_PATH="/v1/$1" WRK_MAX_KEY="$ROWS" WRK_LIMIT="$LIMIT"
  warm_up wrk/get_random.lua "$LB_BASE" WRK_PATH="/v1/$1/" WRK_MAX_KEY="$ROWS"
}

# -- steps ------------------------------------------------------------------------------
do_setup() {
  [ -x "$PY" ] || die "no project venv at $VENV (scripts/bootstrap.sh sets it up)"
  "$PY" -c "import legacy_bridge" || die "legacy_bridge is not installed in $VENV"
  if [ ! -x "$SM2VENV/bin/gunicorn" ]; then
    log "sandman2 venv at $SM2VENV (pins of the anchors' run_bench.sh setup)"
    python3 -m venv "$SM2VENV"
    "$SM2VENV/bin/pip" install -q 'sandman2==1.2.3' 'Flask<2.1' 'Werkzeug<2.1' \
        'Flask-SQLAlchemy==2.4.0' 'SQLAlchemy==1.3.3' 'Flask-Admin<2' 'WTForms<3.1' \
        psycopg2-binary gunicorn
  fi
  if ! command -v wrk >/dev/null; then      # Debian's package, as scripts/bootstrap.sh installs its own
    log "installing wrk (Debian package)"
    local sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
    $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq wrk >/dev/null \
      || die "wrk is not installed and apt-get could not install it"
  fi
  "$PY" - "$RESULTS_DIR/meta.json" <<EOF
import json, os, platform, subprocess, sys
def out(*cmd, cwd=None):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd).stdout.strip()
    except OSError:
        return None
meta = {"date": out("date", "-Iseconds"), "rows": $ROWS, "runs": $RUNS, "wrk_duration": "$WRK_DURATION",
        "wrk": "-t$WRK_THREADS -c$WRK_CONNECTIONS --timeout 30s", "gunicorn_workers": $WORKERS,
        "commit": out("git", "rev-parse", "--short", "HEAD", cwd="$ROOT"),
        "dirty": bool(out("git", "status", "--porcelain", "--untracked-files=no", cwd="$ROOT")),
        "cpus": os.cpu_count(), "loadavg_at_start": os.getloadavg(), "python": platform.python_version(),
        "wrk_version": out("wrk", "-v").splitlines()[0] if out("wrk", "-v") else None,
        "sandman2_venv": "$SM2VENV", "venv": "$VENV", "anchors": "$ANCHORS",
        "gunicorn": {"legacy-bridge": "-c $LB_GUNICORN_CONF with WEB_CONCURRENCY=$WORKERS GUNICORN_THREADS=$THREADS",
                     "sandman2": "-w $WORKERS -k sync, no config file (gunicorn defaults)"}}
json.dump(meta, open(sys.argv[1], "w"), indent=1)
EOF
}

do_data() {
  log "dataset: $ROWS rows (SQLite $BENCH_SQLITE_PATH, PostgreSQL legacy_bench)"
  "$PY" "$BENCH/dataset.py" --anchors "$ANCHORS" --rows "$ROWS" ${FORCE_DATA:+--force} \
    | tee "$RESULTS_DIR/dataset.json"
}

do_pg() {  # sandman2 and legacy-bridge side by side, their wrk runs interleaved
  local i scen
  forget sandman2 pg
  forget legacy-bridge pg
  sandman2_start
  lb_start pg customers
  warm_up wrk/get_random.lua "$SM2_BASE" WRK_PATH=/lgcy_cust/ WRK_MAX_KEY="$ROWS"
  warm_up wrk/list_random.lua "$SM2_BASE" WRK_PATH=/lgcy_cust/ WRK_MAX_PAGE="$LAST_PAGE"
  lb_warm_up customers
  for i in $(seq "$RUNS"); do
    for scen in list get; do
      sandman2_run "$scen" "$i"
      lb_run pg customers "$scen" "$i"
    done
    lb_run pg customers pages "$i"
  done
  stop_all
}

do_sqlite() {  # legacy-bridge over the SQLite file, for reference
  local i scen
  forget legacy-bridge sqlite
  lb_start sqlite customers-sqlite
  lb_warm_up customers-sqlite
  for i in $(seq "$RUNS"); do
    for scen in list get pages; do lb_run sqlite customers-sqlite "$scen" "$i"; done
  done
  stop_all
}

do_ab() {  # this tree (legacy-bridge) against BASE_ROOT (legacy-bridge-base), wrk runs interleaved
  local i scen backend resource base="http://127.0.0.1:$BASE_PORT"
  [ -n "$BASE_ROOT" ] || die "ab needs BASE_ROOT: a checkout of the commit to compare with, with its own .venv"
  [ -x "$BASE_ROOT/.venv/bin/gunicorn" ] || die "no venv at $BASE_ROOT/.venv (python -m venv + pip install -e)"
  for backend in pg sqlite; do
    resource=customers; [ "$backend" = sqlite ] && resource=customers-sqlite
    forget legacy-bridge "$backend-ab"
    forget legacy-bridge-base "$backend-ab"
    log "A/B on $backend: this tree on 127.0.0.1:$LB_PORT, $BASE_ROOT on 127.0.0.1:$BASE_PORT"
    start_server "ab-new" "$LB_PORT" "$VENV" "$ROOT" wsgi:app /healthz "$LB_GUNICORN_CONF"
    # both trees serve this tree's bench config (BASE_CONFIG overrides): the same contract, the same work
    LEGACY_BRIDGE_CONFIG="${BASE_CONFIG:-$LEGACY_BRIDGE_CONFIG}" \
      start_server "ab-base" "$BASE_PORT" "$BASE_ROOT/.venv" "$BASE_ROOT" wsgi:app /healthz "$BASE_ROOT/gunicorn.conf.py"
    check_url "$LB_BASE/v1/$resource/1" "d['id'] == 1"
    check_url "$base/v1/$resource/1" "d['id'] == 1"
    lb_warm_up "$resource"
    warm_up wrk/get_random.lua "$base" WRK_PATH="/v1/$resource/" WRK_MAX_KEY="$ROWS"
    warm_up "$BENCH/wrk/keyset_random.lua" "$base" WRK_PATH="/v1/$resource" WRK_MAX_KEY="$ROWS" WRK_LIMIT="$LIMIT"
    for i in $(seq "$RUNS"); do
      for scen in get list; do
        order="base new"; [ $((i % 2)) -eq 0 ] && order="new base"     # neither always goes first
        for which in $order; do
          local server=ab-$which product=legacy-bridge url=$LB_BASE
          [ "$which" = base ] && { product=legacy-bridge-base; url=$base; }
          case $scen in
            get)  wrk_once "$server" "$product" "$backend-ab" get "$i" wrk/get_random.lua "$url" \
                    WRK_PATH="/v1/$resource/" WRK_MAX_KEY="$ROWS" ;;
            list) wrk_once "$server" "$product" "$backend-ab" list "$i" "$BENCH/wrk/keyset_random.lua" "$url" \
                    WRK_PATH="/v1/$resource" WRK_MAX_KEY="$ROWS" WRK_LIMIT="$LIMIT" ;;
          esac
        done
      done
    done
    stop_all
  done
}

do_embed() {  # ?embed=orders (~5 orders per customer from lgcy_ord) beside the same list without it
  local i order which extra scen secs
  forget legacy-bridge pg-embed
  rm -f "$RESULTS_DIR/embed-export.jsonl"
  log "embed: child table lgcy_ord in PostgreSQL (bench/embed/data.py)"
  "$PY" "$BENCH/embed/data.py" --anchors "$ANCHORS" --rows "$ROWS" | tee "$RESULTS_DIR/embed-data.json" >&2
  LEGACY_BRIDGE_CONFIG="$BENCH/embed/legacy-bridge.yaml" \
    start_server legacy-bridge-embed "$LB_PORT" "$VENV" "$ROOT" wsgi:app /healthz "$LB_GUNICORN_CONF"
  check_url "$LB_BASE/v1/customers?id[gt]=$((ROWS - LIMIT))&limit=$LIMIT&embed=orders" \
    "len(d['data']) == $LIMIT and all(4 <= len(r['orders']) <= 6 for r in d['data']) and d['next'] is None"
  curl -sf "$LB_BASE/v1/customers?limit=2&embed=orders" >"$RESULTS_DIR/sample-embed.json"
  rss_sample legacy-bridge-embed legacy-bridge pg-embed start
  for extra in "" "&embed=orders"; do
    warm_up "$BENCH/wrk/keyset_random.lua" "$LB_BASE" WRK_PATH=/v1/customers WRK_MAX_KEY="$ROWS" \
      WRK_LIMIT="$LIMIT" WRK_EXTRA="$extra"
  done
  for i in $(seq "$RUNS"); do
    order="list list-embed"; [ $((i % 2)) -eq 0 ] && order="list-embed list"   # neither always goes first
    for scen in $order; do
      extra=""; [ "$scen" = list-embed ] && extra="&embed=orders"
      wrk_once legacy-bridge-embed legacy-bridge pg-embed "$scen" "$i" "$BENCH/wrk/keyset_random.lua" "$LB_BASE" \
        WRK_PATH=/v1/customers WRK_MAX_KEY="$ROWS" WRK_LIMIT="$LIMIT" WRK_EXTRA="$extra"
    done
  done
  # an NDJSON export of EXPORT_ROWS customers with and without their orders: rows/s, and the
  # workers' peak memory after it (parents are read 1,000 at a time, each batch + its children)
  for extra in "" "&embed=orders"; do
    secs=$(curl -sfg -o /dev/null -w '%{time_total}' \
      "$LB_BASE/v1/customers/export?format=ndjson&id[lte]=$EXPORT_ROWS$extra") || die "export failed"
    echo "{\"embed\": \"${extra#&embed=}\", \"rows\": $EXPORT_ROWS, \"seconds\": $secs}" \
      | tee -a "$RESULTS_DIR/embed-export.jsonl" >&2
  done
  rss_sample legacy-bridge-embed legacy-bridge pg-embed export
  stop_all
}

do_summary() {
  log "summary -> $RESULTS_DIR/summary.md"
  "$PY" "$BENCH/summarize.py" "$RESULTS_DIR" | tee "$RESULTS_DIR/summary.md"
}

STEPS="setup data pg sqlite summary"
steps=("$@")
[ ${#steps[@]} -eq 0 ] && read -ra steps <<<"$STEPS"
for s in "${steps[@]}"; do
  [[ " $STEPS ab embed " == *" $s "* ]] || die "unknown step '$s'; steps: $STEPS ab embed"
done
for s in "${steps[@]}"; do "do_$s"; done
