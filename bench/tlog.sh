#!/bin/sh
# The transparency log's cost (protocol/log/tlog.h, tlog_dir.h): the Merkle tree at 10^6 entries
# (bench/tlog_bench.c: append, proofs, peak memory), then the log work of one demo round (the
# real programs: `aggregator log append` of the demo's release into a fresh log and `auditor
# log verify` of it) against the whole demo round (tools/demo, which itself publishes into a log
# and verifies it). Prints Markdown on stdout; results go to docs/performance.md by hand.
#
#   ./bench/tlog.sh              N = 10^6
#   ./bench/tlog.sh --n 100000   (arguments go to tlog_bench)
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
cd "$TOP"
make --no-print-directory BUILD="$BUILD" all >&2
# shellcheck disable=SC2046
cc -std=c17 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -O2 -Wall -Wextra -Werror \
$(for d in protocol/*/; do printf -- "-I%s " "${d%/}";  done) bench/tlog_bench.c "$BUILD/libmijlpaal.a" \
  $(pkg-config --cflags --libs libsodium openssl sqlite3 libcjson) -lm -pthread \
  -o "$BUILD/bench-tlog"
echo "tlog bench: $(nproc) CPUs, $(uname -srm), $(cc --version | head -n 1)" >&2

BIN=$TOP/$BUILD/bin
W=$(mktemp -d "${TMPDIR:-/tmp}/mijlpaal-bench-tlog.XXXXXX")
trap 'rm -rf "$W"' EXIT
ms() { echo $(( $(date +%s%N) / 1000000 )); }
# The whole demo round, three times (median): keys, roster, round, six exports of the real
# region's size ingested, masked and submitted, import, close, publish (with the log), audit.
times=""
for i in 1 2 3; do
  rm -rf "$W/demo"
  t0=$(ms)
  OUT=$W/demo BIN=$BIN ./tools/demo >/dev/null 2>&1
  times="$times $(( $(ms) - t0 ))"
done
round=$(echo $times | tr ' ' '\n' | sort -n | sed -n 2p)
"$BUILD/bench-tlog" "$@" --release "$W/demo/release" --key "$W/demo/keys/coordinator.key" \
  >"$W/out"
grep -v '^LOGWORK_MS' "$W/out"
work=$(sed -n 's/^LOGWORK_MS //p' "$W/out")
echo "| the whole demo round (tools/demo, median of 3 runs:$times ms) | $round ms |"
awk -v w="$work" -v r="$round" 'BEGIN { printf "| log work / whole round | %.2f%% |\n", 100 * w / r }'
