#!/usr/bin/env bash
# `make demo` and `make demo-dropout` stay true: the demo scripts run a whole round for each
# shipped region on synthetic data and end with the auditor's OK.
. "$(dirname "$0")/lib.sh"

TOP=$REPO_DIR
for region in midden-utrecht gooi-en-vechtstreek; do
    run env BIN="$BIN" REGION="$region" OUT="$T/demo-$region" "$TOP/tools/demo"
    expect_rc 0 "demo for $region"
    expect_out_contains "OK: release of round $region" "the auditor verifies the $region release"
    expect_present "$T/demo-$region/release/release.html" "the report for raadsleden ($region)"
done

# The dropout demo: Midden-Utrecht (6 organisations, threshold 5) and Gooi en Vechtstreek
# (5 organisations, threshold 4): with t = c = 2, 2T > n + c leaves room for one dropout in
# each; there it drops out after submitting instead of after advertising.
for region in midden-utrecht gooi-en-vechtstreek; do
    drops=()
    [ "$region" = gooi-en-vechtstreek ] && drops=(DROP_AFTER_ADVERTISE= DROP_AFTER_SUBMIT=wijdemeren)
    run env BIN="$BIN" REGION="$region" OUT="$T/dropout-$region" "${drops[@]}" \
        "$TOP/tools/demo-dropout"
    expect_rc 0 "dropout demo for $region"
    expect_out_contains "survivors of bonawitz-v1 masking" "the auditor verifies the $region release"
    check "the release of $region includes all but the one that dropped out" python3 - \
        "$T/dropout-$region/release/release.json" "$region" <<'EOF2'
import json, sys
b = json.load(open(sys.argv[1]))["body"]
n1 = len(b["masking"]["shared"])
# Midden-Utrecht: lekstroom drops after sending its key shares (5 of the 6 that shared are
# included); Gooi en Vechtstreek: wijdemeren drops after submitting (all 5 included).
ok = len(b["included"]) == (n1 - 1 if sys.argv[2] == "midden-utrecht" else n1)
sys.exit(0 if ok else 1)
EOF2
done

e2e_finish
