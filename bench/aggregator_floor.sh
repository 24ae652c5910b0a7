#!/bin/sh
# The aggregator's whole bonawitz-v1 round (n = 1000, d = 10 008, 10% dropouts by default)
# against the crypto floor it cannot avoid, measured in the same run; details in
# bench/aggregator_floor.c. Builds a copy of the library into build-floor/ that admits the
# 278-metric catalogue (MP_MAX_METRICS=320, decision F1); the contributor messages are made once
# into build-floor/floor-cache/ (several minutes at n = 1000) and replayed by every run.
#
#   ./bench/aggregator_floor.sh                 3 runs, medians on stdout (Markdown)
#   ./bench/aggregator_floor.sh --runs 5 --drop 30
#   PERF=1 ./bench/aggregator_floor.sh --runs 1 record with perf ($BUILD/perf.data)
#
# Every measurement is on one thread (MIJLPAAL_THREADS=1 for the aggregator's open).
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build-floor}
cd "$TOP"
make --no-print-directory BUILD="$BUILD" EXTRA_CFLAGS=-DMP_MAX_METRICS=320 \
  "$BUILD/libmijlpaal.a" >/dev/null
# shellcheck disable=SC2046
cc -std=c17 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -DMP_MAX_METRICS=320 -O2 -g -Wall \
  -Wextra -Werror -pthread $(for d in protocol/*/; do printf -- "-I%s " "${d%/}"; done) \
  bench/aggregator_floor.c "$BUILD/libmijlpaal.a" \
  $(pkg-config --cflags --libs libsodium openssl sqlite3 libcjson pangocairo cairo-pdf) -lm \
  -pthread -o "$BUILD/bench-aggregator-floor"
echo "aggregator floor bench: $(nproc) CPUs, $(uname -srm), $(cc --version | head -n 1)" >&2
export MIJLPAAL_THREADS=1
if [ -n "${PERF:-}" ]; then
  exec perf record -o "$BUILD/perf.data" "$BUILD/bench-aggregator-floor" --cache "${FLOOR_CACHE:-build-floor/floor-cache}" "$@"
fi
exec "$BUILD/bench-aggregator-floor" --cache "${FLOOR_CACHE:-build-floor/floor-cache}" "$@"
