#!/bin/sh
# bench/server.sh - request cost of `mijlpaal-aggregator serve` on loopback (not a test).
# Runs make demo-server's round first (its store, certificates and keys), then starts the
# service on that store and times GET status over one keep-alive connection and over a new
# mutual-TLS connection per request. Prints the figures; nothing is compared.
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$TOP/build/bin}
OUT=${OUT:-$TOP/bench/out/server}
N=${N:-500}
NCONN=${NCONN:-50}
OUT=$OUT BIN=$BIN "$TOP/tools/demo-server" >/dev/null 2>&1
cd "$OUT"
rid=$(python3 -c 'import json; print(json.load(open("round.json"))["body"]["round_id"])')
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
: >logs/bench-server.log
"$BIN/mijlpaal-aggregator" serve --db aggregator.db --coordinator-key keys/coordinator.pub \
  --tls-cert ca/aggregator.pem --tls-key ca/aggregator.key --ca ca/ca.pem \
  --listen "127.0.0.1:$port" --rate 1000000 --burst 1000000 2>>logs/bench-server.log &
spid=$!
trap 'kill -TERM $spid 2>/dev/null || true' EXIT
until grep -q listening logs/bench-server.log; do sleep 0.05; done
url=https://127.0.0.1:$port/v1/rounds/$rid/status
tls="--cacert ca/ca.pem --cert ca/utrecht.pem --key ca/utrecht.key"
urls=$(i=0; while [ $i -lt "$N" ]; do printf -- '-o /dev/null %s ' "$url"; i=$((i + 1)); done)
t0=$(date +%s.%N)
# shellcheck disable=SC2086
curl -sf $tls $urls
t1=$(date +%s.%N)
i=0
while [ $i -lt "$NCONN" ]; do
  # shellcheck disable=SC2086
  curl -sf -o /dev/null $tls "$url"
  i=$((i + 1))
done
t2=$(date +%s.%N)
kill -TERM $spid
wait $spid
trap - EXIT
ok=$(grep -c ' 200$' logs/bench-server.log)
python3 - "$t0" "$t1" "$t2" "$N" "$NCONN" "$ok" <<'PY'
import sys
t0, t1, t2 = map(float, sys.argv[1:4]); n, nc, ok = map(int, sys.argv[4:7])
print(f"GET status, one keep-alive connection: {n} requests in {t1-t0:.2f} s = {n/(t1-t0):.0f}/s")
print(f"GET status, a new mutual-TLS connection each (curl start-up included): {nc} in {t2-t1:.2f} s = {1000*(t2-t1)/nc:.1f} ms each")
print(f"answered 200: {ok} of {n+nc}")
PY
