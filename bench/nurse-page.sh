#!/usr/bin/env bash
# The nurse page under load: 25 assigned patients x 20 observations each,
# `{ patients(first: 25) { nodes { id givenName familyName observations { kind value recordedAt } } } }`,
# driven by wrk over loopback against a release build on a fresh SQLite file.
#
#   bench/nurse-page.sh [BINARY] [SECONDS] [CONNECTIONS]
#
# BINARY defaults to target/release/caregraph (build it with
# `cargo build --release`). Prints wrk's summary and the server's CPU time
# per request. Timings live here, never in the test suite.
#
# BENCH_DATABASE=postgres runs on a fresh database on 127.0.0.1:5432 (as the
# user postgres, dropped afterwards) instead of SQLite.
# CAREGRAPH_BENCH_AUDIT_OFF=1 switches the audit trail off, to measure what
# auditing costs (for benchmarks only).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
binary=${1:-target/release/caregraph}
seconds=${2:-10}
connections=${3:-16}
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
work=$(mktemp -d)
database=""
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  if [ -n "$database" ]; then
    psql -h 127.0.0.1 -U postgres -q -c "DROP DATABASE IF EXISTS $database" >/dev/null
  fi
  rm -rf "$work"
}
server=""
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
if [ "${BENCH_DATABASE:-sqlite}" = postgres ]; then
  database="caregraph_bench_$$"
  psql -h 127.0.0.1 -U postgres -q -c "CREATE DATABASE $database" >/dev/null
  export CAREGRAPH_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$database"
else
  export CAREGRAPH_DATABASE_URL="sqlite://$work/bench.db?mode=rwc"
fi
export CAREGRAPH_LISTEN="127.0.0.1:$port"
export CAREGRAPH_LOG=${CAREGRAPH_LOG:-warn}
# The demo nurse logs in with her password alone (no second factor).
export CAREGRAPH_MFA_ROLES=
"$binary" seed-demo >/dev/null
"$binary" serve &
server=$!
for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
token=$(python3 "$here/seed_nurse_page.py" "http://127.0.0.1:$port/graphql")
cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
wrk.body = '{"query":"{ patients(first: 25) { nodes { id givenName familyName observations { kind value recordedAt } } } }"}'
LUA
ticks=$(getconf CLK_TCK)
cpu_before=$(awk '{print $14 + $15}' "/proc/$server/stat")
# The PostgreSQL backends serving this server (their CPU is part of what a
# request costs; on a busy machine CPU time is steadier than wall time).
backends_cpu() {
  if [ -n "$database" ]; then
    for pid in $(pgrep -f "postgres: .*$database" || true); do
      awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null
    done | awk '{s += $1} END {print s + 0}'
  else
    echo 0
  fi
}
pg_before=$(backends_cpu)
wrk -t2 -c"$connections" -d"${seconds}s" --latency -s "$work/post.lua" "http://127.0.0.1:$port/graphql" | tee "$work/wrk.out"
cpu_after=$(awk '{print $14 + $15}' "/proc/$server/stat")
pg_after=$(backends_cpu)
requests=$(awk '/requests in/ {print $1}' "$work/wrk.out")
rss=$(awk '/VmRSS/ {print $2}' "/proc/$server/status")
python3 - "$cpu_before" "$cpu_after" "$ticks" "$requests" "$rss" "$pg_before" "$pg_after" <<'PY'
import sys
before, after, ticks, requests, rss, pg_before, pg_after = map(float, sys.argv[1:])
print(f"caregraph CPU per request: {(after - before) / ticks / requests * 1000:.3f} ms; RSS {rss / 1024:.0f} MiB")
if pg_after > 0:
    print(f"PostgreSQL backends' CPU per request: {(pg_after - pg_before) / ticks / requests * 1000:.3f} ms")
PY
