#!/usr/bin/env bash
# `make demo` stays true: the demo script runs a whole round for each shipped region on
# synthetic data and ends with the auditor's OK.
. "$(dirname "$0")/lib.sh"

TOP=$(cd "$(dirname "$0")/../.." && pwd)
for region in midden-utrecht gooi-en-vechtstreek; do
    run env BIN="$BIN" REGION="$region" OUT="$T/demo-$region" "$TOP/tools/demo"
    expect_rc 0 "demo for $region"
    expect_out_contains "OK: release of round $region" "the auditor verifies the $region release"
    expect_present "$T/demo-$region/release/release.html" "the report for raadsleden ($region)"
done

e2e_finish
