#!/bin/sh
# Utility of the noise: RMSE of the published figures of the Midden-Utrecht demo round at the
# demo budget (rho 0.5, t 1, max_orgs_per_person 2), for the distributed discrete Gaussian that
# mijlpaal runs, a trusted curator's central discrete Gaussian, the distributed mechanism with
# t = 0, and local protection by each organisation; post-processed at rounding 1 and 5. Prints
# markdown tables; results go to docs/performance.md by hand. Details in bench/utility.c.
#
#   ./bench/utility.sh                 (RUNS=50000 SEED=1 by default, ~25 s)
#   RUNS=2000 ./bench/utility.sh --rho 0.25 --t 2     (extra arguments go to the program)
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build} # relative to the repository root, as in the Makefile
RUNS=${RUNS:-50000}
SEED=${SEED:-1}
REGION=${REGION:-midden-utrecht}

cd "$TOP"
make --no-print-directory BUILD="$BUILD" "$BUILD/libmijlpaal.a" "$BUILD/bin/mijlpaal-synth" >&2
# shellcheck disable=SC2046
cc -std=c17 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -O2 $(for d in protocol/*/; do printf -- "-I%s " "${d%/}";  done) bench/utility.c \
  "$BUILD/libmijlpaal.a" $(pkg-config --cflags --libs libsodium openssl sqlite3 libcjson) -lm \
  -o "$BUILD/bench-utility"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/mijlpaal-utility.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM
# The demo's exports (tools/demo: seed 2026, period 2026-01-01:2026-06-30).
if ! "$BUILD/bin/mijlpaal-synth" --region "data/regions/$REGION.json" --out-dir "$TMP/exports" \
  --seed 2026 --period-end 2026-06-30 >"$TMP/synth.log" 2>&1; then
  cat "$TMP/synth.log" >&2
  exit 1
fi
"$BUILD/bench-utility" --exports "$TMP/exports" --region "data/regions/$REGION.json" \
  --catalogue "data/catalogues/$REGION.json" --period 2026-01-01:2026-06-30 \
  --runs "$RUNS" --seed "$SEED" --rho 0.5 --t 1 --m 2 "$@"
