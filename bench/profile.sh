#!/bin/sh
# Profile a gramstack server under the benchmark workload with py-spy.
# Usage: bench/profile.sh [DATA_DIR] [SECONDS] [MIX]
#   DATA_DIR  a seeded data directory (seeded with the defaults if empty; default var/bench)
#   SECONDS   measured seconds of load (default 20)
#   MIX       the bench's --mix (default feed=100: profile GET /feed alone)
# Writes bench/results/profile-<time>/: server.collapsed (py-spy's raw
# collapsed stacks; flamegraph.pl or speedscope.app read them), the bench
# report, and feed-top.md, the top of the profile within the feed handler.
set -eu
DATA=${1:-var/bench}
LOAD_S=${2:-20}
MIX=${3:-feed=100}
PORT=${PORT:-8765}
WORKERS=${WORKERS:-1}
BIN=${BIN:-.venv/bin}
OUT=bench/results/profile-$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$OUT"

test -f "$DATA/gramstack.db" || "$BIN/gramstack" seed --data-dir "$DATA"
"$BIN/gramstack" serve --data-dir "$DATA" --workers "$WORKERS" --port "$PORT" >"$OUT/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true' EXIT
"$BIN/python" -c "
import time, httpx
for _ in range(300):
    try:
        httpx.get('http://127.0.0.1:$PORT/healthz', timeout=1); break
    except httpx.HTTPError:
        time.sleep(0.1)
"
# --subprocesses follows the gunicorn master into its workers; the bench's
# hello-world phase runs in other processes, so only the mixed phase shows.
# py-spy stops and writes its file on SIGINT, once the bench is done.
"$BIN/py-spy" record --subprocesses --pid "$SERVER" --rate 200 --nonblocking \
    --format raw --output "$OUT/server.collapsed" >"$OUT/py-spy.log" 2>&1 &
SPY=$!
"$BIN/gramstack" bench --url "http://127.0.0.1:$PORT" --seconds "$LOAD_S" --mix "$MIX" \
    --workers "$WORKERS" --out "$OUT" --quiet
kill -INT $SPY
wait $SPY || true
"$BIN/python" bench/profile_top.py "$OUT/server.collapsed" --within home_feed | tee "$OUT/feed-top.md"
echo "profile: $OUT"
