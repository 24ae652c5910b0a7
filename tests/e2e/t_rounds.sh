#!/usr/bin/env bash
# Round management: round list, a signed deadline extension honoured by contributors and the
# aggregator, several rounds open in one store (the older one published while the newer is
# open), and cancellation: before anyone submitted (no organisation is charged and a new round
# over the same period is accepted), after submissions (the round stays charged: the
# coordinator cannot cancel and re-run a period to average the noise away), imports refused
# afterwards with the store unchanged, a cancellation signed by another key refused, and the
# auditor's budget over the transparency log agreeing with the contributors.
. "$(dirname "$0")/lib.sh"

POLICY_MAX_RHO_PERIOD=1 # one round of rho 1 per data period and series, as a data officer would
export POLICY_MAX_RHO_PERIOD
make_catalogue "$T/cat.json"
setup_keys || e2e_finish
make_roster "$T/roster.json" "$T/keys/coord.key" || e2e_finish
for o in $ORGS; do make_export "$T/in/$o.csv" "$o"; done
CK=(--key "$T/keys/coord.key" --insecure-plaintext-key)
PUB=(--coordinator-key "$T/keys/coord.pub")
Q1=2026-01-01:2026-03-31

# cancel_rec ORG ROUND_JSON CANCELLATION LEDGER: the contributor records a cancellation.
cancel_rec() {
    run "$C" cancel --cancellation "$3" --roster "$T/roster.json" --round "$2" "${PUB[@]}" \
        --key "$T/keys/$1.key" --insecure-plaintext-key --policy "$T/policies/$1.json" \
        --ledger "$4"
}

section "round list and round extend"
open_round "$T/agg.db" "$T/roster.json" "$T/a.json" --round-id a --series mu \
    --log-dir "$T/tlog" || e2e_finish
run "$A" round list --db "$T/agg.db"
expect_rc 0 "round list"
expect_out_contains "pairwise-v1" "round list names the masking"
run "$A" round extend --db "$T/agg.db" "${CK[@]}" --round a --deadline 2026-10-01T00:00:00Z \
    --out "$T/a-extend.json" --log-dir "$T/tlog"
expect_rc 0 "round extend moves the deadline later"
run "$A" round list --db "$T/agg.db" --json
check "round list --json shows the extended deadline" python3 - "$OUT" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
a = [x for x in r if x["round_id"] == "a"][0]
sys.exit(0 if len(r) == 1 and a["state"] == "open" and a["deadline"] == "2026-10-01T00:00:00Z"
         and a["extended"] is True and a["period_start"] == "2026-01-01" and a["series"] == "mu"
         and a["masking"] == "pairwise-v1" and a["submissions"] == 0 else 1)
EOF
before=$(db_sha "$T/agg.db")
run "$A" round extend --db "$T/agg.db" "${CK[@]}" --round a --deadline 2026-09-15T00:00:00Z \
    --out "$T/a-earlier.json"
expect_rc 1 "a deadline never moves earlier"
expect_err_contains "only moves later" "the refusal says why"
expect_absent "$T/a-earlier.json" "no document for the refused extension"
expect_db_unchanged "$T/agg.db" "$before" "store after the refused extension"

section "the extension is honoured by contributors and the aggregator"
export MIJLPAAL_NOW=2026-09-20T12:00:00Z # after the round's own deadline, before the extension
mkdir -p "$T/sub-a"
submit utrecht "$T/in/utrecht.csv" "$T/a.json" "$T/sub-a/utrecht.json" "$T/l-utrecht.db"
expect_rc 1 "without the extension the deadline has passed"
expect_err_contains "deadline" "the contributor names the deadline"
python3 - "$T/a-extend.json" "$T/forged-ext-body.json" <<'EOF'
import json, sys
b = json.load(open(sys.argv[1]))["body"]
b["deadline"] = "2027-01-01T00:00:00Z"
json.dump(b, open(sys.argv[2], "w"))
EOF
sign_body round-extend "$T/forged-ext-body.json" "$T/keys/utrecht.key" "$T/forged-ext.json"
submit utrecht "$T/in/utrecht.csv" "$T/a.json" "$T/sub-a/utrecht.json" "$T/l-utrecht.db" \
    --extension "$T/forged-ext.json"
expect_rc 1 "an extension signed by another key"
expect_err_contains "trusted coordinator key" "the forged extension is refused"
for o in $ORGS; do
    submit "$o" "$T/in/$o.csv" "$T/a.json" "$T/sub-a/$o.json" "$T/l-$o.db" \
        --extension "$T/a-extend.json"
    [ "$RC" -eq 0 ] || { fail "submit $o with the extension"; show_output; }
done
expect_present "$T/sub-a/uwv.json" "with the extension every organisation submits"
run "$A" round import --db "$T/agg.db" "${PUB[@]}" "$T"/sub-a/*.json
expect_rc 0 "the aggregator accepts them after the original deadline"

section "two rounds open at once; the older is published while the newer is open"
open_round "$T/agg.db" "$T/roster.json" "$T/b.json" --round-id b --series other \
    --period "$Q1" --deadline 2026-12-01T00:00:00Z --log-dir "$T/tlog" || e2e_finish
run "$A" round close --db "$T/agg.db" "${PUB[@]}"
expect_rc 1 "round close without --round with two rounds open"
expect_err_contains "a (open), b (open)" "the refusal lists the rounds"
run "$A" round close --db "$T/agg.db" "${PUB[@]}" --round a
expect_rc 0 "round close --round a"
run "$A" publish --db "$T/agg.db" "${CK[@]}" --round a --out-dir "$T/rel-a" --log-dir "$T/tlog"
expect_rc 0 "publish the older round while round b is open"
run "$AU" verify --ca "$T/ca/ca.pem" "${PUB[@]}" "$T/rel-a"
expect_rc 0 "the auditor verifies release a"
run "$A" round status --db "$T/agg.db" "${PUB[@]}"
expect_rc 0 "with a published, round b is the default again"
expect_out_contains "round b: open" "status defaults to the one round not finished"

section "cancel before anyone submitted: nobody is charged"
run "$A" round cancel --db "$T/agg.db" "${CK[@]}" --round b --reason "wrong catalogue" \
    --out "$T/b-cancel.json" --log-dir "$T/tlog"
expect_rc 0 "round cancel b"
run "$A" round list --db "$T/agg.db" --json
check "round list shows b cancelled with its reason" python3 - "$OUT" <<'EOF'
import json, sys
b = [x for x in json.load(open(sys.argv[1])) if x["round_id"] == "b"][0]
sys.exit(0 if b["state"] == "cancelled" and b["reason"] == "wrong catalogue"
         and b["cancelled"] else 1)
EOF
run "$A" round extend --db "$T/agg.db" "${CK[@]}" --round b --deadline 2026-12-31T00:00:00Z \
    --out "$T/b-ext.json"
expect_rc 1 "a cancelled round is not extended"
cancel_rec utrecht "$T/b.json" "$T/b-cancel.json" "$T/l-utrecht.db"
expect_rc 0 "utrecht records the cancellation"
expect_out_contains "not charged" "utrecht is not charged for round b"
mkdir -p "$T/sub-b"
submit utrecht "$T/in/utrecht.csv" "$T/b.json" "$T/sub-b/utrecht.json" "$T/l-utrecht.db"
expect_rc 1 "the contributor sends nothing more for a cancelled round"
expect_err_contains "round cancelled" "the refusal names the cancellation"
open_round "$T/agg.db" "$T/roster.json" "$T/b2.json" --round-id b2 --series other \
    --period "$Q1" --deadline 2026-12-01T00:00:00Z --log-dir "$T/tlog" || e2e_finish
check "round b2 declares nothing spent before it in series other" python3 - "$T/b2.json" <<'EOF'
import json, sys
sys.exit(0 if json.load(open(sys.argv[1]))["body"]["privacy"]["series_spent"] == "0" else 1)
EOF
submit utrecht "$T/in/utrecht.csv" "$T/b2.json" "$T/sub-b/utrecht.json" "$T/l-utrecht.db"
expect_rc 0 "utrecht takes part in a new round over the same period and series"
run "$C" budget --ledger "$T/l-utrecht.db" --series other --json
check "utrecht's budget: only b2 charged, b cancelled without charge" python3 - "$OUT" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if d["spent"] == 1 and d["cancelled_not_charged"] == 1
         and d["cancelled_charged"] == 0 else 1)
EOF

section "cancel after submissions: still charged"
open_round "$T/agg.db" "$T/roster.json" "$T/c.json" --round-id c --series s \
    --deadline 2026-12-01T00:00:00Z --log-dir "$T/tlog" || e2e_finish
mkdir -p "$T/sub-c"
for o in uwv fermwerk lekstroom; do
    submit "$o" "$T/in/$o.csv" "$T/c.json" "$T/sub-c/$o.json" "$T/lc-$o.db"
    [ "$RC" -eq 0 ] || { fail "submit $o to c"; show_output; }
done
run "$A" round import --db "$T/agg.db" "${PUB[@]}" "$T/sub-c/uwv.json" "$T/sub-c/fermwerk.json"
expect_rc 0 "two submissions of c imported"
run "$A" round cancel --db "$T/agg.db" "${CK[@]}" --round c --reason "re-run with new data" \
    --out "$T/c-cancel.json" --log-dir "$T/tlog"
expect_rc 0 "round cancel c after submissions"
cp -r "$T/tlog" "$T/tlog-lie" # the log as it stands right after the cancellation (below)
check "the cancellation names the submissions the store held" python3 - "$T/c-cancel.json" <<'EOF'
import json, sys
b = json.load(open(sys.argv[1]))["body"]
sys.exit(0 if b["version"] == 1 and [s["org"] for s in b["submissions"]] == ["fermwerk", "uwv"]
         else 1)
EOF
before=$(db_sha "$T/agg.db")
run "$A" round import --db "$T/agg.db" "${PUB[@]}" "$T/sub-c/lekstroom.json"
expect_rc 1 "import after the cancellation"
expect_err_contains "round cancelled" "the import names the cancellation"
expect_db_unchanged "$T/agg.db" "$before" "store after the refused import"
run "$A" publish --db "$T/agg.db" "${CK[@]}" --round c --out-dir "$T/rel-c"
expect_rc 1 "a cancelled round is never published"
run "$A" round cancel --db "$T/agg.db" "${CK[@]}" --round a --reason "too late" \
    --out "$T/a-cancel.json"
expect_rc 1 "a published round cannot be cancelled"

python3 - "$T/c-cancel.json" "$T/forged-cancel-body.json" <<'EOF'
import json, sys
json.dump(json.load(open(sys.argv[1]))["body"], open(sys.argv[2], "w"))
EOF
sign_body round-cancel "$T/forged-cancel-body.json" "$T/keys/utrecht.key" "$T/forged-cancel.json"
ledger_before=$(db_sha "$T/lc-uwv.db")
cancel_rec uwv "$T/c.json" "$T/forged-cancel.json" "$T/lc-uwv.db"
expect_rc 1 "a cancellation signed by a non-coordinator key"
expect_err_contains "trusted coordinator key" "the forged cancellation is refused"
expect_db_unchanged "$T/lc-uwv.db" "$ledger_before" "ledger after the forged cancellation"
cancel_rec uwv "$T/c.json" "$T/b-cancel.json" "$T/lc-uwv.db"
expect_rc 1 "the cancellation of another round"
cancel_rec uwv "$T/c.json" "$T/c-cancel.json" "$T/lc-uwv.db"
expect_rc 0 "uwv records the real cancellation"
expect_out_contains "stays charged" "uwv, whose input left, stays charged"
cancel_rec lekstroom "$T/c.json" "$T/c-cancel.json" "$T/lc-lekstroom.db"
expect_out_contains "stays charged" "lekstroom submitted (though never imported): charged"
cancel_rec rsd-krh "$T/c.json" "$T/c-cancel.json" "$T/lc-rsd-krh.db"
expect_out_contains "not charged" "rsd-krh never submitted: not charged"

# The coordinator re-runs the period it cancelled: whoever submitted to c refuses.
open_round "$T/agg.db" "$T/roster.json" "$T/c2.json" --round-id c2 --series s \
    --deadline 2026-12-01T00:00:00Z --log-dir "$T/tlog" || e2e_finish
check "round c2 declares c's spend (the store held submissions of it)" python3 - "$T/c2.json" <<'EOF'
import json, sys
sys.exit(0 if json.load(open(sys.argv[1]))["body"]["privacy"]["series_spent"] == "1" else 1)
EOF
ledger_before=$(db_sha "$T/lc-uwv.db")
submit uwv "$T/in/uwv.csv" "$T/c2.json" "$T/sub-c/uwv-2.json" "$T/lc-uwv.db"
expect_rc 1 "uwv refuses a second round over the period it was charged for"
expect_err_contains "max_rho_per_period" "the refusal names the period budget"
expect_absent "$T/sub-c/uwv-2.json" "no second submission"
expect_db_unchanged "$T/lc-uwv.db" "$ledger_before" "uwv's ledger after the refusal"
run "$C" budget --ledger "$T/lc-uwv.db" --series s --json
check "uwv's budget still shows c" python3 - "$OUT" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if d["spent"] == 1 and d["cancelled_charged"] == 1 else 1)
EOF
submit rsd-krh "$T/in/rsd-krh.csv" "$T/c2.json" "$T/sub-c/rsd-krh-2.json" "$T/lc-rsd-krh.db"
expect_rc 0 "rsd-krh, never charged for c, takes part in c2"

section "bonawitz-v1: a cancellation ends the round for the contributor and wipes its secrets"
open_round "$T/agg.db" "$T/roster.json" "$T/d.json" --round-id d --series mu \
    --period 2025-01-01:2025-06-30 --deadline 2026-12-01T00:00:00Z --masking bonawitz-v1 ||
    e2e_finish
SA=(--roster "$T/roster.json" --round "$T/d.json" "${PUB[@]}" --key "$T/keys/uwv.key"
    --insecure-plaintext-key --policy "$T/policies/uwv.json" --ledger "$T/ld-uwv.db")
run "$C" advertise "${SA[@]}" --out "$T/d-adv-uwv.json"
expect_rc 0 "uwv advertises in round d"
run "$A" round import --db "$T/agg.db" "${PUB[@]}" "$T/d-adv-uwv.json"
expect_rc 0 "the advertisement is imported"
run "$A" round cancel --db "$T/agg.db" "${CK[@]}" --round d --reason "test" --out "$T/d-cancel.json"
expect_rc 0 "round cancel d in its advertise phase"
run "$A" round advance --db "$T/agg.db" "${CK[@]}" --round d --out-dir "$T/d-out"
expect_rc 1 "a cancelled bonawitz-v1 round does not advance"
cancel_rec uwv "$T/d.json" "$T/d-cancel.json" "$T/ld-uwv.db"
expect_out_contains "not charged" "an advertisement carries no figure: not charged"
check "uwv's secrets for round d are wiped" python3 - "$T/ld-uwv.db" <<'EOF2'
import sqlite3, sys
r = sqlite3.connect(sys.argv[1]).execute(
    "SELECT phase, secrets IS NULL FROM sa_rounds WHERE round_id = 'd'").fetchone()
sys.exit(0 if r == ("abandoned", 1) else 1)
EOF2
run "$C" advertise "${SA[@]}" --out "$T/d-adv-uwv-2.json"
expect_rc 1 "nothing more of the cancelled round"
expect_err_contains "round cancelled" "advertise names the cancellation"

section "the auditor's budget over the log"
run "$AU" log verify --log-dir "$T/tlog" "${PUB[@]}" --json
expect_rc 0 "log verify"
check "cancelled rounds are not unpublished ones; c charged, b not" python3 - "$OUT" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
c = {x["round_id"]: x["charged"] for x in d["cancelled"]}
sys.exit(0 if sorted(d["unpublished"]) == ["b2", "c2"] and c == {"b": False, "c": True} else 1)
EOF
expect_err_contains "round c was cancelled" "the auditor notes the cancellation"
run "$AU" log verify --log-dir "$T/tlog" "${PUB[@]}"
expect_out_contains "2 cancelled" "summary counts the cancelled rounds"

# A coordinator that hides c's submissions from the accounting of its re-run: a store that
# never imported them opens round x over series s declaring nothing spent. The log holds c's
# submission hashes before its cancellation, so the auditor counts c and refuses.
open_round "$T/lie.db" "$T/roster.json" "$T/x.json" --round-id x --series s \
    --deadline 2026-12-01T00:00:00Z --log-dir "$T/tlog-lie" || e2e_finish
run "$AU" log verify --log-dir "$T/tlog-lie" "${PUB[@]}"
expect_rc 1 "a re-run that declares a charged cancelled round as unspent"
expect_err_contains "declared that series s had spent rho 0" "the auditor names the understated spend"

e2e_finish
