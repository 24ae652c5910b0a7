#!/bin/sh
# Contributor ingest throughput and memory, in one run: mijlpaal-contributor check (full
# validation, pseudonymisation, distinct counting over the Midden-Utrecht catalogue), the plain
# Python 3 baseline doing the same per-row work (bench/baseline_ingest.py), and `cat FILE
# >/dev/null` as the raw-read floor, on synthetic UWV exports of 100k, 1M and 5M rows.
#
# For every command and size: the median over RUNS runs of the CPU time (user + sys) and of the
# wall time, the CPU time of the fastest run (the least disturbed by other work on a shared
# machine), rows per second of CPU, and the peak RSS, all from GNU time (/usr/bin/time). Then
# the CPU ratio python/contributor per size and the contributor's memory per distinct person
# (the growth of its peak RSS between two sizes over the growth in distinct persons, which
# `check --json` reports). The table goes into docs/performance.md by hand.
#
#   make bench            (or: BIN=build/bin ./bench/ingest.sh; SIZES="100000 1000000" RUNS=5)
set -eu
TOP=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$TOP/build/bin}
OUT=$TOP/bench/out
SIZES=${SIZES:-100000 1000000 5000000}
RUNS=${RUNS:-3}
REGION=$TOP/data/regions/midden-utrecht.json
mkdir -p "$OUT"
[ -x /usr/bin/time ] || "$TOP/tools/install-deps" time
cd "$OUT"

# A fresh round to check against, on the region's trust set up as the demo does it
# (tools/demo-lib.sh: test CA, certified keys, policies, agreed roster; plaintext keys:
# benchmark only); the exports are kept.
rm -rf ca keys bindings policies cosigs ledgers roster-draft.json roster.json round.json \
  agg.db agg.db-wal agg.db-shm
REGION_ID=midden-utrecht
ORGS="utrecht stichtse-vecht lekstroom fermwerk rsd-krh uwv"
. "$TOP/tools/demo-lib.sh"
{
  # shellcheck disable=SC2086
  REGION=$REGION_ID SERIES_BUDGET=2 setup_trust "$REGION" $ORGS
  "$BIN/mijlpaal-aggregator" round open --db agg.db --roster roster.json \
    --catalogue "$TOP/data/catalogues/midden-utrecht.json" --period 2026-01-01:2026-06-30 \
    --deadline 2099-01-01T00:00:00Z --rho 0.5 --series-rho 2 --key keys/coordinator.key \
    --insecure-plaintext-key --out round.json
} >setup.log 2>&1 || {
  cat setup.log >&2
  echo "ingest.sh: setting up the round failed (above)" >&2
  exit 1
}

# measure NAME ROWS CMD...: RUNS runs under GNU time, one line "NAME ROWS cpu wall rss" with
# the medians (seconds, seconds, KiB) appended to results.txt.
measure() {
  name=$1 rows=$2
  shift 2
  : >runs.txt
  i=0
  while [ $i -lt "$RUNS" ]; do
    /usr/bin/time -f "%U %S %e %M" -o time.txt "$@" >/dev/null 2>&1 || {
      echo "ingest.sh: $name failed on $rows rows" >&2
      exit 1
    }
    awk '{printf "%.3f %.3f %d\n", $1 + $2, $3, $4}' time.txt >>runs.txt
    i=$((i + 1))
  done
  awk -v n="$name" -v r="$rows" '{c[NR] = $1; w[NR] = $2; m[NR] = $3}
    function med(a, k,   i, j, t) { for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++)
      if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }; return a[int((k + 1) / 2)] }
    END { printf "%s %s %.3f %.3f %d", n, r, med(c, NR), med(w, NR), med(m, NR);
          printf " %.3f\n", c[1] }' \
    runs.txt >>results.txt
}

: >results.txt
: >persons.txt
for rows in $SIZES; do
  f=uwv-$rows.csv
  if [ ! -f "$f" ]; then
    mkdir -p gen-$rows
    "$BIN/mijlpaal-synth" --region "$REGION" --out-dir gen-$rows --org uwv --rows "$rows" \
      --seed 7 >/dev/null
    mv gen-$rows/uwv.csv "$f"
    rm -rf gen-$rows
  fi
  n=$(($(wc -l <"$f") - 1))
  echo "== $f: $n rows, $(du -h "$f" | cut -f1)" >&2
  cat "$f" >/dev/null # into the page cache, for every command alike
  check="$BIN/mijlpaal-contributor check --input $f --roster roster.json --round round.json \
    --coordinator-key keys/coordinator.pub --policy policies/uwv.json --org uwv"
  # shellcheck disable=SC2086
  $check --json 2>/dev/null | python3 -c 'import json, sys; print(sys.argv[1], json.load(sys.stdin)["persons"])' "$n" >>persons.txt
  measure cat "$n" cat "$f"
  # shellcheck disable=SC2086
  measure contributor "$n" $check
  measure python "$n" python3 "$TOP/bench/baseline_ingest.py" "$f" "$REGION"
done

python3 - results.txt persons.txt <<'PY'
import sys
res, persons = {}, {}
for line in open(sys.argv[1]):
    n, r, cpu, wall, rss, cmin = line.split()
    res[(n, int(r))] = (float(cpu), float(wall), int(rss), float(cmin))
for line in open(sys.argv[2]):
    r, p = line.split()
    persons[int(r)] = int(p)
sizes = sorted({r for _, r in res})
print("| rows | distinct persons | command | CPU s (user+sys), median | CPU s, fastest run | wall s | rows/s (median CPU) | peak RSS MiB |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
for r in sizes:
    for n in ("cat", "contributor", "python"):
        if (n, r) not in res:
            continue
        cpu, wall, rss, cmin = res[(n, r)]
        rate = f"{r / cpu:,.0f}" if cpu > 0 else "-"
        label = {"cat": "cat", "contributor": "mijlpaal-contributor check",
                 "python": "python3 baseline"}[n]
        print(f"| {r:,} | {persons.get(r, 0):,} | {label} | {cpu:.3f} | {cmin:.3f} | {wall:.3f} | {rate} | {rss / 1024:.1f} |")
print()
for r in sizes:
    c, p = res.get(("contributor", r)), res.get(("python", r))
    if c and p and c[0] > 0 and c[3] > 0:
        print(f"CPU ratio python/contributor at {r:,} rows: {p[0] / c[0]:.1f}x (medians),"
              f" {p[3] / c[3]:.1f}x (fastest runs); contributor peak RSS {c[2] / 1024:.1f} MiB")
for a, b in zip(sizes, sizes[1:]):
    ca, cb = res.get(("contributor", a)), res.get(("contributor", b))
    if ca and cb and persons.get(b, 0) > persons.get(a, 0):
        per = (cb[2] - ca[2]) * 1024 / (persons[b] - persons[a])
        print(f"contributor memory per distinct person, {a:,} -> {b:,} rows: {per:.0f} bytes")
PY
