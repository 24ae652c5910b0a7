#!/usr/bin/env bash
# make demo-attacks stays true: every attack of the coordinator on the organisations (keys under
# another name, rosters with a member missing or added or shown differently, rounds outside an
# organisation's policy, a threshold below the colluder bound, a ledger restored mid-round, two
# survivors lists with a colluding member, releases on rosters nobody agreed to) is refused with
# its reason and
# changes no store. And the harness itself can fail: with a policy that allows four
# participants, the four-participant round is no longer refused and demo-attacks says so.
. "$(dirname "$0")/lib.sh"

FORGE=${FORGE:-$(cd "$BIN/../tools" 2>/dev/null && pwd)/forge}
run env BIN="$BIN" FORGE="$FORGE" OUT="$T/attacks" "$REPO_DIR/tools/demo-attacks"
expect_rc 0 "demo-attacks: every attack refused"
for what in "under fermwerk's name (own certificate)" "under fermwerk's name (its real binding)" \
    "roster without" "sybil member" "lacking uwv's co-signature" "shown another roster (forged" \
    "over the policy's rho" "4 participants" "t = 0" "does not declare" \
    "budget raised after first sight" "same data period" "below the colluder bound" \
    "ledger restored from before the round" "victim shown a second survivors list" \
    "two survivors lists, one colluder" "auditor given a roster" "auditor with a CA"; do
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
expect_out_contains "does not resist 2 colluders" "reason: colluder bound"
expect_out_contains "this ledger has no record of round" "reason: restored ledger"
expect_out_contains "3 confirmations of the survivors list, the threshold is 5" "reason: two lists"

run env BIN="$BIN" FORGE="$FORGE" OUT="$T/attacks-weak" MIN_PARTICIPANTS=4 \
    "$REPO_DIR/tools/demo-attacks"
check "with a policy allowing four participants, that attack succeeds and demo-attacks fails (exit $RC)" \
    [ "$RC" -ne 0 ]
expect_out_contains "SUCCEEDED" "the succeeded attack is named"
e2e_finish
