#!/usr/bin/env bash
# Submissions the aggregator must refuse at import (exit 1, with a reason, the store unchanged):
# altered bytes, another round, an unknown key, a duplicate, a late one. Closing with a
# participant missing and publishing before close are refused too. Afterwards the round still
# completes, so the refusals did not damage the store.
. "$(dirname "$0")/lib.sh"

setup_round || e2e_finish
submit_all || e2e_finish
DB=$T/agg.db
CK=$T/keys/coord.pub

# refused_import DESCRIPTION WORD FILE...: import must exit 1, name the file, mention WORD, and
# leave the store's dump unchanged.
refused_import() {
    local what=$1 word=$2 before
    shift 2
    before=$(db_sha "$DB")
    run "$A" round import --db "$DB" --coordinator-key "$CK" "$@"
    expect_rc 1 "$what: import refused"
    expect_err_contains "$(basename "$1")" "$what: the refused file is named"
    [ -z "$word" ] || expect_err_contains "$word" "$what: reason"
    expect_db_unchanged "$DB" "$before" "$what"
}

# flip FILE FIELD OUT: copy FILE with one character inside the JSON string FIELD replaced by
# another valid base64 character (so that only the content, not the encoding, is wrong).
flip() {
    python3 - "$@" <<'EOF'
import sys
src, field, out = sys.argv[1:4]
s = open(src).read()
start = s.index('"%s":"' % field) + len(field) + 4
end = s.index('"', start)
i = start + (end - start) // 2
c = s[i]
s = s[:i] + ("B" if c != "B" else "C") + s[i + 1:]
open(out, "w").write(s)
EOF
}

section "altered submissions"
flip "$T/sub/utrecht.json" masked "$T/flip-masked.json"
check "flip-masked.json differs from the original in one byte" \
    [ "$(cmp -l "$T/sub/utrecht.json" "$T/flip-masked.json" | wc -l)" -eq 1 ]
refused_import "one byte changed in 'masked'" "signature" "$T/flip-masked.json"
flip "$T/sub/utrecht.json" sig "$T/flip-sig.json"
check "flip-sig.json differs from the original in one byte" \
    [ "$(cmp -l "$T/sub/utrecht.json" "$T/flip-sig.json" | wc -l)" -eq 1 ]
refused_import "one byte changed in 'sig'" "signature" "$T/flip-sig.json"
sed 's/"org":"utrecht"/"org":"uwv"/' "$T/sub/utrecht.json" >"$T/org-swapped.json"
refused_import "org field changed to another participant" "" "$T/org-swapped.json"
head -c 200 "$T/sub/utrecht.json" >"$T/truncated.json"
refused_import "truncated file" "" "$T/truncated.json"

section "a submission for another round"
# Another round (its own id) in another store, with the same roster and keys.
open_round "$T/other.db" "$T/roster.json" "$T/round-other.json" --round-id e2e-other-round
submit utrecht "$T/in/utrecht.csv" "$T/round-other.json" "$T/sub-other.json" "$T/ledger-other.db"
[ "$RC" -eq 0 ] || { fail "setup: submit for the other round"; show_output; }
refused_import "submission for a round this store does not hold" "e2e-other-round" "$T/sub-other.json"
# The same round id, but another signed version of the round (opened in another store).
MIJLPAAL_NOW=2026-07-15T12:30:00Z open_round "$T/version2.db" "$T/roster.json" "$T/round-v2.json"
check "round-v2.json has the same round id as round.json" grep -q "\"round_id\":\"$ROUND_ID\"" "$T/round-v2.json"
submit utrecht "$T/in/utrecht.csv" "$T/round-v2.json" "$T/sub-v2.json" "$T/ledger-v2.db"
[ "$RC" -eq 0 ] || { fail "setup: submit for round version 2"; show_output; }
refused_import "submission for another version of the same round" "version" "$T/sub-v2.json"

section "a submission signed by an unknown key"
# A second coordinator with its own roster, in which 'utrecht' has a rogue key.
mkdir -p "$T/keys2"
run "$A" keygen --org coordinator --secret-key "$T/keys2/coord.key" --public-key "$T/keys2/coord.pub" \
    --insecure-plaintext-key
for o in $ORGS; do
    run "$C" keygen --org "$o" --secret-key "$T/keys2/$o.key" --public-key "$T/keys2/$o.pub" \
        --insecure-plaintext-key
done
make_roster "$T/roster2.json" "$T/keys2/coord.key" "$T/keys2"
COORD_KEY=$T/keys2/coord.key open_round "$T/rogue.db" "$T/roster2.json" "$T/round-rogue.json"
ROSTER_F=$T/roster2.json COORD_PUB=$T/keys2/coord.pub KEYDIR=$T/keys2 \
    submit utrecht "$T/in/utrecht.csv" "$T/round-rogue.json" "$T/sub-rogue.json" "$T/ledger-rogue.db"
[ "$RC" -eq 0 ] || { fail "setup: rogue submit"; show_output; }
refused_import "submission of another coordinator's set" "key" "$T/sub-rogue.json"
# The same coordinator signed a roster with a rogue 'utrecht' key (e.g. a stolen roster
# signing session); a submission made with it must not enter the real round.
mkdir -p "$T/keys3"
cp -p "$T/keys"/*.pub "$T/keys"/*.key "$T/keys"/*.binding.json "$T/keys3/"
cp -p "$T/keys2/utrecht.pub" "$T/keys2/utrecht.key" "$T/keys2/utrecht.binding.json" "$T/keys3/"
make_roster "$T/roster3.json" "$T/keys/coord.key" "$T/keys3"
open_round "$T/rogue3.db" "$T/roster3.json" "$T/round-rogue3.json"
ROSTER_F=$T/roster3.json KEYDIR=$T/keys2 \
    submit utrecht "$T/in/utrecht.csv" "$T/round-rogue3.json" "$T/sub-rogue3.json" "$T/ledger-rogue3.db"
[ "$RC" -eq 0 ] || { fail "setup: rogue3 submit"; show_output; }
refused_import "submission with a key not enrolled in this round's roster" "roster" "$T/sub-rogue3.json"

section "five good submissions, then a duplicate"
good=()
for o in utrecht stichtse-vecht lekstroom fermwerk rsd-krh; do good+=("$T/sub/$o.json"); done
run "$A" round import --db "$DB" --coordinator-key "$CK" "${good[@]}"
expect_rc 0 "import of five good submissions"
refused_import "the same submission imported twice" "imported before" "$T/sub/utrecht.json"
cp "$T/sub/lekstroom.json" "$T/copy-of-lekstroom.json"
refused_import "a copy of an imported submission under another name" "imported before" "$T/copy-of-lekstroom.json"

section "close with a participant missing, publish before close"
before=$(db_sha "$DB")
run "$A" round close --db "$DB" --coordinator-key "$CK"
expect_rc 1 "close with uwv missing is refused"
expect_err_contains "uwv" "close names the missing organisation"
expect_db_unchanged "$DB" "$before" "refused close"
run "$A" round status --db "$DB" --coordinator-key "$CK" --json
expect_rc 0 "round status --json"
check "status --json: state open, uwv missing, five submitted" python3 - "$OUT" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if d["state"] == "open" and d["missing"] == ["uwv"] and len(d["submitted"]) == 5 else 1)
EOF
run "$A" publish --db "$DB" --key "$T/keys/coord.key" --insecure-plaintext-key --out-dir "$T/rel-early"
expect_rc 1 "publish before close is refused"
expect_err_contains "close" "publish says the round must be closed"
expect_absent "$T/rel-early/release.json" "refused publish"
expect_db_unchanged "$DB" "$before" "refused publish"

section "after the deadline"
MIJLPAAL_NOW=$AFTER_DEADLINE refused_import "submission imported one second after the deadline" \
    "deadline" "$T/sub/uwv.json"

section "the refusals did no harm: the round completes"
run "$A" round import --db "$DB" --coordinator-key "$CK" "$T/sub/uwv.json"
expect_rc 0 "uwv imported before the deadline"
run "$A" round close --db "$DB" --coordinator-key "$CK"
expect_rc 0 "close"
run "$A" publish --db "$DB" --key "$T/keys/coord.key" --insecure-plaintext-key --out-dir "$T/rel"
expect_rc 0 "publish"
run "$AU" verify --ca "$T/ca/ca.pem" --coordinator-key "$CK" "$T/rel"
expect_rc 0 "auditor verifies"
cp "$T/sub/uwv.json" "$T/uwv-again.json"
refused_import "import into a closed round" "" "$T/uwv-again.json"

e2e_finish
