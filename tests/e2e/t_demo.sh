#!/usr/bin/env bash
# `make demo` and `make demo-dropout` stay true: the demo scripts run a whole round for each
# shipped region on synthetic data and end with the auditor's OK.
. "$(dirname "$0")/lib.sh"

TOP=$REPO_DIR
for region in midden-utrecht gooi-en-vechtstreek; do
    run env BIN="$BIN" REGION="$region" OUT="$T/demo-$region" "$TOP/tools/demo"
    expect_rc 0 "demo for $region"
    expect_out_contains "OK: release of round $region-2026-01-01" "the auditor verifies the last $region release"
    expect_out_contains "OK: 3 releases verified" "the auditor verifies the $region series of three half-years"
    expect_present "$T/demo-$region/release/report.html" "the report for raadsleden ($region)"
    expect_present "$T/demo-$region/release/report.pdf" "the report as PDF ($region)"
    check "the $region report shows every milestone over the three half-years" python3 - \
        "$T/demo-$region/release/report.html" "$TOP/data/catalogues/$region.json" <<'EOF2'
import json, re, sys
html = open(sys.argv[1], encoding="utf-8").read()
cat = json.load(open(sys.argv[2]))
ids = [m["id"] for m in cat["metrics"]] + [r["id"] for r in cat["rates"]]
for i in ids:
    sec = re.search(r'<section class="milestone" id="m-%s".*?</section>' % i, html, re.S)
    if not sec or '<svg class="trend"' not in sec.group(0):
        sys.exit("no trend chart for " + i)
    body = re.search(r'<table class="series">.*?<tbody>(.*?)</tbody>', sec.group(0), re.S)
    if body.group(1).count("<tr>") != 3:
        sys.exit(i + ": not three half-years")
    for p in ("1e halfjaar 2025", "2e halfjaar 2025", "1e halfjaar 2026"):
        if p not in body.group(1):
            sys.exit(i + ": no " + p)
EOF2
    check "the $region report shows a target with its progress bar" grep -q 'class="progress"' \
        "$T/demo-$region/release/report.html"
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
