#!/usr/bin/env bash
# What one nurse page request costs the server in CPU instructions, counted
# by valgrind's callgrind: whatever else the machine is doing, so two
# builds can be compared on a busy machine (wall-clock figures come from
# nurse-page.sh on a quiet one). Each run seeds fresh data with random ids,
# so runs of one build spread by about 0.5%: compare means of a few runs.
#
#   bench/nurse-page-instructions.sh [BINARY] [REQUESTS]
#
# Seeds the nurse page (25 patients x 20 observations, SQLite) with the
# server running normally, restarts it under callgrind, sends 3 requests to
# warm up, zeroes the counters, sends REQUESTS (default 20) one after another
# and prints the instructions per request, all threads included (the audit
# writer and the database too). CAREGRAPH_BENCH_AUDIT_OFF=1 is passed on.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
binary=${1:-target/release/caregraph}
requests=${2:-20}
for tool in valgrind callgrind_control curl python3; do
  command -v "$tool" >/dev/null || { echo "$tool is needed (apt-get install valgrind curl python3)" >&2; exit 1; }
done
work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export CAREGRAPH_DATABASE_URL="sqlite://$work/bench.db?mode=rwc"
export CAREGRAPH_LISTEN="127.0.0.1:$port"
export CAREGRAPH_LOG=warn
# The demo nurse logs in with her password alone (no second factor).
export CAREGRAPH_MFA_ROLES=
url="http://127.0.0.1:$port"
wait_healthy() {
  for _ in $(seq 1 600); do
    curl -fs "$url/healthz" >/dev/null && return
    sleep 0.2
  done
  echo "the server did not come up" >&2
  exit 1
}
"$binary" seed-demo >/dev/null
"$binary" serve &
server=$!
wait_healthy
token=$(python3 "$here/seed_nurse_page.py" "$url/graphql")
kill "$server"
wait "$server" 2>/dev/null || true
valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" "$binary" serve 2>"$work/valgrind.log" &
server=$!
wait_healthy
page() {
  curl -fs -o /dev/null -H 'Content-Type: application/json' -H "Authorization: Bearer $token" \
    --data '{"query":"{ patients(first: 25) { nodes { id givenName familyName observations { kind value recordedAt } } } }"}' \
    "$url/graphql"
}
for _ in 1 2 3; do page; done
callgrind_control --zero "$server" >/dev/null 2>&1
for _ in $(seq 1 "$requests"); do page; done
callgrind_control --dump=nurse-page "$server" >/dev/null 2>&1
# The dump holds what ran since the counters were zeroed; the file written
# at exit (shutdown) is not read.
dump=$(ls "$work"/callgrind.out.* | head -n 1)
# CALLGRIND_OUT=FILE keeps the dump, for callgrind_annotate.
if [ -n "${CALLGRIND_OUT:-}" ]; then cp "$dump" "$CALLGRIND_OUT"; fi
total=$(awk '/^(summary|totals):/ {print $2; exit}' "$dump")
python3 - "$total" "$requests" <<'PY'
import sys
total, requests = int(sys.argv[1]), int(sys.argv[2])
print(f"instructions per nurse page request: {total / requests / 1e6:.2f} M ({requests} requests)")
PY
