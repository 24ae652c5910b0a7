#!/bin/sh
# Coverage of the published 95% intervals (docs/privacy.md, "Accuracy"): repeated simulated
# rounds with known truth at rho 0.1, 0.5 and 2, for three synthetic regions (Midden-Utrecht and
# Gooi en Vechtstreek as the demo generates them, and Gooi en Vechtstreek at a tenth of its
# size: a small region with many small cells), t 1, max_orgs_per_person 2, rounding 5 as in the
# demo. Prints a markdown table; results go to docs/privacy.md by hand. Details in
# bench/coverage.c.
#
#   ./bench/coverage.sh                  (RUNS=10000 SEED=1 by default, about 30 s)
#   RUNS=2000 ./bench/coverage.sh     (the issue's minimum)
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build} # relative to the repository root, as in the Makefile
RUNS=${RUNS:-10000}
SEED=${SEED:-1}
RHOS=${RHOS:-0.1 0.5 2}

cd "$TOP"
make --no-print-directory BUILD="$BUILD" "$BUILD/libmijlpaal.a" "$BUILD/bin/mijlpaal-synth" >&2
LIBS=$(pkg-config --cflags --libs libsodium openssl sqlite3 libcjson)
# shellcheck disable=SC2086
cc -std=c17 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -O2 $(for d in protocol/*/; do printf -- "-I%s " "${d%/}";  done) bench/utility.c \
  "$BUILD/libmijlpaal.a" $LIBS -lm -o "$BUILD/bench-utility"
# shellcheck disable=SC2086
cc -std=c17 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -O2 $(for d in protocol/*/; do printf -- "-I%s " "${d%/}";  done) bench/coverage.c \
  "$BUILD/libmijlpaal.a" $LIBS -lm -o "$BUILD/bench-coverage"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/mijlpaal-coverage.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM

# truth LABEL REGION SCALE: the true vector of the region's synthetic exports (the demo's seed
# and period), counted by the real ingest (bench/utility.c --truth-out).
truth() {
  if ! "$BUILD/bin/mijlpaal-synth" --region "data/regions/$2.json" --out-dir "$TMP/$1" \
    --seed 2026 --period-end 2026-06-30 --scale "$3" >"$TMP/$1.log" 2>&1; then
    cat "$TMP/$1.log" >&2
    exit 1
  fi
  "$BUILD/bench-utility" --exports "$TMP/$1" --region "data/regions/$2.json" \
    --catalogue "data/catalogues/$2.json" --period 2026-01-01:2026-06-30 \
    --truth-out "$TMP/$1.truth"
}
truth mu midden-utrecht 1
truth gv gooi-en-vechtstreek 1
truth gv-small gooi-en-vechtstreek 0.1

echo "Runs $RUNS per row, seed $SEED; coverage of [lower, upper] in % (cell-runs or rate-runs)."
echo
echo "| region | rho | noise sd | large | small | adjusted | rate | clamped (diagnostic) | old method | cells suppressed | rates suppressed | mean error true <= 5: old | new value | new x^ (n) |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for rho in $RHOS; do
  for r in "mu midden-utrecht" "gv gooi-en-vechtstreek" "gv-small gooi-en-vechtstreek"; do
    set -- $r
    "$BUILD/bench-coverage" --catalogue "data/catalogues/$2.json" --truth "$TMP/$1.truth" \
      --runs "$RUNS" --seed "$SEED" --rho "$rho" --t 1 --m 2 --rounding 5 --label "$1"
  done
done
