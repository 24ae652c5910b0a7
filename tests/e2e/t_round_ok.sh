#!/usr/bin/env bash
# A whole round that should pass: six organisations submit, the coordinator imports, closes and
# publishes, the auditor verifies. Checks the renderings, what `show` and the ledger say, and
# that a second submission for the round is refused while `resend` repeats the first exactly.
. "$(dirname "$0")/lib.sh"

section "full round"
full_round || e2e_finish

run "$AU" verify --ca "$T/ca/ca.pem" --coordinator-key "$T/keys/coord.pub" "$T/rel"
expect_rc 0 "auditor verifies the release"
if grep -q '^OK:' "$OUT" || grep -q '^OK:' "$ERR"; then
    pass "auditor prints a line starting with OK:"
else
    fail "auditor does not print 'OK:'"; show_output
fi

run "$AU" verify --ca "$T/ca/ca.pem" --coordinator-key "$T/keys/coord.pub" --json "$T/rel"
expect_rc 0 "auditor --json"
check "auditor --json prints valid JSON" python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$OUT"

section "release renderings"
for f in release.json release.csv report.html report.pdf roster.json round.json; do
    expect_present "$T/rel/$f" "publish"
done
n=$(ls "$T/rel/submissions"/*.json 2>/dev/null | wc -l)
check "release holds the 6 submissions (found $n)" [ "$n" -eq 6 ]

bom=$(head -c 3 "$T/rel/release.csv" | od -An -tx1 | tr -d ' \n')
check "release.csv starts with the UTF-8 BOM (found '$bom')" [ "$bom" = efbbbf ]
check "release.csv header uses ';' as separator" \
    bash -c 'head -n 1 "$1" | grep -q "^.*;.*;.*;"' _ "$T/rel/release.csv"
check "every release.csv line has the header's number of ';'" python3 - "$T/rel/release.csv" <<'EOF'
import sys
lines = open(sys.argv[1], encoding="utf-8-sig", newline="").read().splitlines()
lines = [l for l in lines if l]
n = lines[0].count(";")
sys.exit(0 if n >= 2 and len(lines) >= 9 and all(l.count(";") == n for l in lines) else 1)
EOF
check "release.csv names the metrics of the catalogue" grep -q "Uitstroom uit de bijstand naar werk" "$T/rel/release.csv"
check 'report.html contains lang="nl"' grep -q 'lang="nl"' "$T/rel/report.html"
check "report.html names the metrics" grep -q "Personen in de bijstand" "$T/rel/report.html"
check "release.json has the 8 cells of the catalogue" python3 - "$T/rel/release.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
names = [c["name"] for c in d["body"]["cells"]]
sys.exit(0 if names == ["uitstroom_werk", "uitstroom_werk.age.0", "uitstroom_werk.age.1",
    "uitstroom_werk.age.2", "bijstand_stand", "bijstand_stand.age.0", "bijstand_stand.age.1",
    "bijstand_stand.age.2"] else 1)
EOF

section "contributor show"
run "$C" show "$T/sub/utrecht.json"
expect_rc 0 "show"
expect_out_contains "$ROUND_ID" "show names the round"
if grep -qi "no BSN" "$OUT" "$ERR"; then
    pass "show says the file reveals no BSN"
else
    fail "show does not say that the file holds no BSN"; show_output
fi
run "$C" show "$T/sub/utrecht.json" --roster "$T/roster.json" --round "$T/round.json" \
    --coordinator-key "$T/keys/coord.pub" --policy "$T/policies/utrecht.json"
expect_rc 0 "show with roster, round and key"
expect_out_contains "verified" "show checks the signature"
expect_out_contains "bijstand_stand.age.2" "show names the cells"

section "ledger"
run "$C" ledger --ledger "$T/ledger-utrecht.db"
expect_rc 0 "ledger"
expect_out_contains "$ROUND_ID" "ledger lists the round"
run "$C" ledger --ledger "$T/ledger-utrecht.db" --json
expect_rc 0 "ledger --json"
check "ledger --json: every line is a JSON object naming the round" python3 - "$OUT" "$ROUND_ID" <<'EOF'
import json, sys
lines = [l for l in open(sys.argv[1]).read().splitlines() if l.strip()]
ok = len(lines) == 1
for l in lines:
    o = json.loads(l)
    ok = ok and isinstance(o, dict) and o.get("round_id") == sys.argv[2] and o.get("org") == "utrecht"
sys.exit(0 if ok else 1)
EOF
sub_sha=$(sha "$T/sub/utrecht.json")
check "ledger --json records the submission's sha256" grep -q "$sub_sha" "$OUT"

section "second submission and resend"
before=$(db_sha "$T/ledger-utrecht.db")
submit utrecht "$T/in/utrecht.csv" "$T/round.json" "$T/again.json" "$T/ledger-utrecht.db"
expect_rc 1 "a second submit for the same round is refused"
expect_err_contains "resend" "the refusal points to resend"
expect_absent "$T/again.json" "refused second submit"
expect_db_unchanged "$T/ledger-utrecht.db" "$before" "refused second submit"

run "$C" resend --ledger "$T/ledger-utrecht.db" --round "$ROUND_ID" --out "$T/resent.json"
expect_rc 0 "resend"
check "resend writes a byte-identical submission" cmp -s "$T/resent.json" "$T/sub/utrecht.json"
run "$C" resend --ledger "$T/ledger-utrecht.db" --round no-such-round --out "$T/resent2.json"
expect_rc 1 "resend of a round never submitted is refused"
expect_absent "$T/resent2.json" "refused resend"

e2e_finish
