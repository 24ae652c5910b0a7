#!/bin/sh
# Contributor ingest throughput: mijlpaal-contributor check (full validation, pseudonymisation,
# distinct counting over the Midden-Utrecht catalogue) against a Python 3 standard-library
# baseline doing the same per-row work, and `cat FILE >/dev/null` as the raw-read ceiling, on
# 100k- and 1M-row synthetic exports. Medians from hyperfine, side by side in one run; peak
# memory from /usr/bin/time -v. Results go to docs/performance.md by hand.
#
#   make bench            (or: BIN=build/bin ./bench/ingest.sh)
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$TOP/build/bin}
OUT=$TOP/bench/out
mkdir -p "$OUT"
command -v hyperfine >/dev/null || "$TOP/tools/install-deps" hyperfine
[ -x /usr/bin/time ] || "$TOP/tools/install-deps" time
cd "$OUT"

# A fresh round to check against (plaintext keys: benchmark only); the exports are kept.
rm -f ./*.key ./*.pub roster.json round.json agg.db agg.db-wal agg.db-shm
{
  "$BIN/mijlpaal-aggregator" keygen --org coordinator --secret-key c.key --public-key c.pub \
    --insecure-plaintext-key 2>/dev/null
  m=""
  for o in utrecht stichtse-vecht lekstroom fermwerk rsd-krh uwv; do
    "$BIN/mijlpaal-contributor" keygen --org $o --secret-key $o.key --public-key $o.pub \
      --insecure-plaintext-key 2>/dev/null
    m="$m --member $o.pub"
  done
  # shellcheck disable=SC2086
  "$BIN/mijlpaal-aggregator" roster --region "$TOP/data/regions/midden-utrecht.json" \
    --key c.key --insecure-plaintext-key $m --out roster.json
  "$BIN/mijlpaal-aggregator" round open --db agg.db --roster roster.json \
    --catalogue "$TOP/data/catalogues/midden-utrecht.json" --period 2026-01-01:2026-06-30 \
    --deadline 2099-01-01T00:00:00Z --rho 0.5 --series-rho 2 --key c.key --insecure-plaintext-key \
    --out round.json
}

for rows in 100000 1000000; do
  f=uwv-$rows.csv
  if [ ! -f "$f" ]; then
    mkdir -p gen-$rows
    "$BIN/mijlpaal-synth" --region "$TOP/data/regions/midden-utrecht.json" --out-dir gen-$rows \
      --org uwv --rows $rows --seed 7 >/dev/null
    mv gen-$rows/uwv.csv "$f"
  fi
  echo "== $f: $(wc -l <"$f") lines, $(du -h "$f" | cut -f1)"
  hyperfine --warmup 1 --runs 5 --export-json "ingest-$rows.json" \
    -n "cat" "cat $f >/dev/null" \
    -n "mijlpaal-contributor check" \
    "$BIN/mijlpaal-contributor check --input $f --roster roster.json --round round.json --coordinator-key c.pub 2>/dev/null" \
    -n "python3 baseline" "python3 $TOP/bench/baseline_ingest.py $f $TOP/data/regions/midden-utrecht.json"
  python3 - "ingest-$rows.json" "$rows" <<'PY'
import json, sys
res = json.load(open(sys.argv[1]))["results"]
rows = int(sys.argv[2])
base = {r["command"]: r["median"] for r in res}
for r in res:
    print(f"  {r['command']:28s} median {r['median']*1000:9.1f} ms  {rows / r['median']:12,.0f} rows/s"
          f"  ({r['median'] / base['mijlpaal-contributor check']:.2f}x contributor)")
PY
  for cmd in "$BIN/mijlpaal-contributor check --input $f --roster roster.json --round round.json --coordinator-key c.pub" \
             "python3 $TOP/bench/baseline_ingest.py $f $TOP/data/regions/midden-utrecht.json"; do
    # shellcheck disable=SC2086
    /usr/bin/time -v $cmd 2>&1 >/dev/null | awk -v c="${cmd%% *}" \
      '/Maximum resident/ {printf "peak RSS %s: %.1f MiB\n", c, $6/1024}'
  done
done
