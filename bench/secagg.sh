#!/bin/sh
# Secure aggregation (masking scheme bonawitz-v1): contributor and aggregator time per phase and
# bytes per contributor for n in {6, 20, 100, 1000}, vector length d in {100, 10000} and
# dropout 0%, 10%, 30%; every opened sum is checked against the plain sum. Prints Markdown
# tables on stdout, progress on stderr; results go to docs/performance.md by hand. Details in
# bench/secagg_bench.c.
#
#   ./bench/secagg.sh            the whole grid (n = 1000 takes several minutes on 2 cores)
#   ./bench/secagg.sh quick      n <= 100 only (well under a minute)
#   ./bench/secagg.sh --n 500 --d 100000 --drop 0,10,30   (other arguments go to the program)
#
# SAMPLE (contributors timed one at a time, default 20) and THREADS (workers for the untimed
# contributor work, default 2) may be set in the environment.
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build} # relative to the repository root, as in the Makefile
SAMPLE=${SAMPLE:-20}
THREADS=${THREADS:-2}

cd "$TOP"
make --no-print-directory BUILD="$BUILD" "$BUILD/libmijlpaal.a" >&2
# shellcheck disable=SC2046
cc -std=c17 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -O2 -Wall -Wextra -Werror -pthread \
$(for d in protocol/*/; do printf -- "-I%s " "${d%/}";  done) bench/secagg_bench.c "$BUILD/libmijlpaal.a" \
  $(pkg-config --cflags --libs libsodium openssl sqlite3 libcjson) -lm -pthread \
  -o "$BUILD/bench-secagg"

if [ "${1:-}" = quick ]; then
  shift
  set -- --n 6,20,100 "$@"
fi
echo "secagg bench: $(nproc) CPUs, $(uname -srm), $(cc --version | head -n 1)" >&2
exec "$BUILD/bench-secagg" --sample "$SAMPLE" --threads "$THREADS" "$@"
