#!/usr/bin/env bash
# legacy-bridge's copybook decoder beside the PyPI COBOL readers, same file, same run.
#
#   bash bench/copybook/run.sh [RUNS]      # default 3 interleaved runs
#
# Reuses the anchors' scripts in place (read-only, nothing copied): make_bigfile.py for the
# 1,000,000-record DTAR020 file and bench_one.py (speed mode) for the PyPI readers, which
# live in the venv their `run_all.sh setup` builds (CPY_VENV, default /tmp/venv-cpy).
# Env: CPY_ANCHORS, CPY_VENV, CPY_WORK (default /tmp/cpy), CPY_RESULTS, CPY_READERS,
#      BIG_BYTES (default 1000000000; 0 skips the 1 GB run), VENV (legacy-bridge's venv),
#      ARRAY_RECORDS (default 200000: the OCCURS arrays case, lb_bench.py arrays).
# Needs GNU time at /usr/bin/time (Debian package `time`).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
ANCHORS="${CPY_ANCHORS:-$ROOT/../shared/anchors/copybook}"
CPY_VENV="${CPY_VENV:-/tmp/venv-cpy}"
LB_PY="${VENV:-$ROOT/.venv}/bin/python"
export CPY_ANCHORS="$ANCHORS"
export CPY_WORK="${CPY_WORK:-/tmp/cpy}"
export CPY_TESTDATA="${CPY_TESTDATA:-$ROOT/../shared/testdata/cobol/cobol-to-csv/Examples}"
RESULTS="${CPY_RESULTS:-$HERE/results/$(date -u +%Y-%m-%d)}"
READERS="${CPY_READERS:-cobolio coboljsonifier pycobol2csv}"
BIG_BYTES="${BIG_BYTES:-1000000000}"
RUNS="${1:-3}"

[ -x "$CPY_VENV/bin/python" ] || bash "$ANCHORS/run_all.sh" setup
command -v /usr/bin/time >/dev/null || { echo "needs GNU time: apt-get install -y time"; exit 1; }
mkdir -p "$RESULTS/correct" "$RESULTS/speed" "$CPY_WORK"

(cd "$ANCHORS" && "$CPY_VENV/bin/python" make_bigfile.py)
{
  echo "date_utc: $(date -u +%FT%TZ)"
  echo "commit: $(git -C "$ROOT" rev-parse --short HEAD)"
  echo "python: $("$LB_PY" -VV | tr '\n' ' ')"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //') x $(nproc)"
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$RESULTS/machine.txt"
cat "$RESULTS/machine.txt"

echo "== correctness (379 records vs DTAR020_a.csv)"
"$LB_PY" "$HERE/lb_bench.py" correct > "$RESULTS/correct/legacy-bridge.json"
for r in $READERS; do
  (cd "$ANCHORS" && "$CPY_VENV/bin/python" bench_one.py "$r" correct) > "$RESULTS/correct/$r.json"
done
for f in "$RESULTS"/correct/*.json; do
  "$LB_PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print("  %-16s %s value-equal %s strict %s" % (d["reader"], d["status"], d.get("value_equal"), d.get("strict_equal")))' "$f"
done

echo "== speed: legacy-bridge + $READERS, $RUNS interleaved runs on $CPY_WORK/dtar020_1m.bin"
for i in $(seq 1 "$RUNS"); do
  base="$RESULTS/speed/legacy-bridge.run$i"
  /usr/bin/time -v -o "$base.time" "$LB_PY" "$HERE/lb_bench.py" speed > "$base.json"
  for r in $READERS; do
    base="$RESULTS/speed/$r.run$i"
    (cd "$ANCHORS" && /usr/bin/time -v -o "$base.time" "$CPY_VENV/bin/python" bench_one.py "$r" speed) > "$base.json"
  done
  for f in "$RESULTS"/speed/*.run"$i".json; do
    "$LB_PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print("  run %s %-16s %s rec/s" % (sys.argv[2], d["reader"], d.get("rec_per_s", d.get("error"))))' "$f" "$i"
  done
done

echo "== arrays: an OCCURS DEPENDING ON table as flat columns (today's decode) and as arrays"
"$LB_PY" "$HERE/lb_bench.py" arrays "${ARRAY_RECORDS:-200000}" > "$RESULTS/speed/legacy-bridge-arrays.json"
"$LB_PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print("  flat %(flat_rec_per_s)s rec/s, arrays %(arrays_rec_per_s)s rec/s (%(arrays_vs_flat)sx), variable-size V %(arrays_variable_V_rec_per_s)s rec/s" % d)' "$RESULTS/speed/legacy-bridge-arrays.json"

if [ "$BIG_BYTES" != 0 ]; then
  echo "== 1 GB file: DTAR020 repeated to $BIG_BYTES bytes, decoded by legacy-bridge"
  big="$("$LB_PY" "$HERE/lb_bench.py" bigfile "$BIG_BYTES")"
  cat "$big" > /dev/null        # warm the page cache like the 1M file
  /usr/bin/time -v -o "$RESULTS/speed/legacy-bridge-1g.time" \
    "$LB_PY" "$HERE/lb_bench.py" speed --file "$big" > "$RESULTS/speed/legacy-bridge-1g.json"
fi
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$RESULTS/machine.txt"
"$LB_PY" "$HERE/summarize.py" "$RESULTS"
