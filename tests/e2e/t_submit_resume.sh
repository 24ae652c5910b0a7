#!/usr/bin/env bash
# The contributor records a submission in its ledger before writing the file. When the file
# cannot be written, the submission is not lost and not made twice: the error says how to
# write it out, `resend` does so, and a second `submit` is refused.
. "$(dirname "$0")/lib.sh"

setup_round || e2e_finish
submit utrecht "$T/in/utrecht.csv" "$T/round.json" "$T/no-such-dir/utrecht.json" "$T/ledger.db"
expect_rc 2 "submit to a directory that does not exist"
expect_err_contains "resend" "the error says how to get the recorded submission"
expect_absent "$T/no-such-dir/utrecht.json" "no file"
run "$C" ledger --ledger "$T/ledger.db" --json
check "the ledger holds the submission" grep -q '"round_id"' "$OUT"
run "$C" resend --ledger "$T/ledger.db" --round "$(python3 -c '
import json, sys; print(json.load(open(sys.argv[1]))["body"]["round_id"])' "$T/round.json")" \
    --out "$T/utrecht.json"
expect_rc 0 "resend writes it"
run "$C" show "$T/utrecht.json" --roster "$T/roster.json" --round "$T/round.json" \
    --coordinator-key "$T/keys/coord.pub" --policy "$T/policies/utrecht.json"
expect_rc 0 "the resent submission verifies"
submit utrecht "$T/in/utrecht.csv" "$T/round.json" "$T/again.json" "$T/ledger.db"
expect_rc 1 "a second submit for the round is refused"
expect_absent "$T/again.json" "no second submission"

e2e_finish
