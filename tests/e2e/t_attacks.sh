#!/usr/bin/env bash
# make demo-attacks stays true: every attack of the coordinator on the organisations (keys under
# another name, rosters with a member missing or added or shown differently, rounds outside an
# organisation's policy, releases on rosters nobody agreed to) is refused with its reason and
# changes no store. And the harness itself can fail: with a policy that allows four
# participants, the four-participant round is no longer refused and demo-attacks says so.
. "$(dirname "$0")/lib.sh"

FORGE=${FORGE:-$(cd "$BIN/../tools" 2>/dev/null && pwd)/forge}
run env BIN="$BIN" FORGE="$FORGE" OUT="$T/attacks" "$REPO_DIR/tools/demo-attacks"
expect_rc 0 "demo-attacks: every attack refused"
for what in "under fermwerk's name (own certificate)" "under fermwerk's name (its real binding)" \
    "roster without" "sybil member" "lacking uwv's co-signature" "shown another roster (forged" \
    "over the policy's rho" "4 participants" "t = 0" "does not declare" \
    "budget raised after first sight" "same data period" "auditor given a roster" \
    "auditor with a CA"; do
    if grep -F -- "$what" "$OUT" | grep -q '^refused'; then
        pass "refused: $what"
    else
        fail "not refused: $what"; show_output
    fi
done
expect_out_contains "0 succeeded" "the summary line"
# The reasons a data officer reads.
expect_out_contains "the key under that name belongs to another organisation" "reason: own key"
expect_out_contains "a member nobody agreed to" "reason: sybil"
expect_out_contains "lacks the co-signature of uwv" "reason: co-signature"
expect_out_contains "a series' budget does not change" "reason: series budget"

run env BIN="$BIN" FORGE="$FORGE" OUT="$T/attacks-weak" MIN_PARTICIPANTS=4 \
    "$REPO_DIR/tools/demo-attacks"
check "with a policy allowing four participants, that attack succeeds and demo-attacks fails (exit $RC)" \
    [ "$RC" -ne 0 ]
expect_out_contains "SUCCEEDED" "the succeeded attack is named"
e2e_finish
