#!/usr/bin/env bash
# The privacy budget is enforced by every party: the aggregator will not open (or publish) a
# round that takes a series over its budget, the contributor refuses a round that would exceed
# its own record of its organisation's spend (or its own cap), and the auditor recomputes the
# spend of a series from the signed rounds of several releases.
. "$(dirname "$0")/lib.sh"

make_catalogue "$T/cat.json"
setup_keys || e2e_finish
make_roster "$T/roster.json" "$T/keys/coord.key" || e2e_finish
for o in $ORGS; do make_export "$T/in/$o.csv" "$o"; done

section "aggregator: the series budget"
RHO=1 SERIES_RHO=2.5 open_round "$T/agg.db" "$T/roster.json" "$T/r1.json" --round-id r1 \
    --series mu || e2e_finish
RHO=1 SERIES_RHO=2.5 open_round "$T/agg.db" "$T/roster.json" "$T/r2.json" --round-id r2 \
    --series mu || e2e_finish
check "the second round declares the first one's spend" python3 - "$T/r2.json" <<'EOF2'
import json, sys
p = json.load(open(sys.argv[1]))["body"]["privacy"]
sys.exit(0 if p["series_spent"] == "1" and p["rho"] == "1" else 1)
EOF2
before=$(db_sha "$T/agg.db")
run "$A" round open --db "$T/agg.db" --roster "$T/roster.json" --catalogue "$T/cat.json" \
    --period "$PERIOD" --deadline "$DEADLINE" --rho 1 --series-rho 2.5 --series mu \
    --round-id r3 --key "$T/keys/coord.key" --insecure-plaintext-key --out "$T/r3.json"
expect_rc 1 "a third round of rho 1 in a series of 2.5 after two of 1"
expect_err_contains "over budget" "round open over budget"
expect_absent "$T/r3.json" "no round file for the refused round"
expect_db_unchanged "$T/agg.db" "$before" "aggregator store after the refused round"
run "$A" round open --db "$T/agg.db" --roster "$T/roster.json" --catalogue "$T/cat.json" \
    --period "$PERIOD" --deadline "$DEADLINE" --rho 0.5 --series-rho 2.5 --series mu \
    --round-id r3 --key "$T/keys/coord.key" --insecure-plaintext-key --out "$T/r3.json"
expect_rc 0 "a round that uses exactly the rest of the budget"
run "$A" round open --db "$T/agg.db" --roster "$T/roster.json" --catalogue "$T/cat.json" \
    --period "$PERIOD" --deadline "$DEADLINE" --rho 1 --series-rho 2.5 --series other \
    --round-id r4 --key "$T/keys/coord.key" --insecure-plaintext-key --out "$T/r4.json"
expect_rc 0 "another series has its own budget"

section "contributor: its own record of the spend"
submit utrecht "$T/in/utrecht.csv" "$T/r1.json" "$T/s1.json" "$T/ledger.db"
expect_rc 0 "utrecht submits round r1 (rho 1)"
# A second coordinator store that does not know about r1 opens a round that claims the series
# spent nothing: the organisation's own ledger knows better.
RHO=2 SERIES_RHO=2.5 open_round "$T/other.db" "$T/roster.json" "$T/lie.json" --round-id lie \
    --series mu || e2e_finish
ledger_before=$(db_sha "$T/ledger.db")
submit utrecht "$T/in/utrecht.csv" "$T/lie.json" "$T/s-lie.json" "$T/ledger.db"
expect_rc 1 "a round whose rho 2 on top of the organisation's 1 exceeds the series budget 2.5"
expect_err_contains "over budget" "contributor over budget"
expect_absent "$T/s-lie.json" "no submission for the refused round"
expect_db_unchanged "$T/ledger.db" "$ledger_before" "ledger after the refusal"

run "$C" budget --ledger "$T/ledger.db" --series mu --rho 1.5
expect_rc 0 "the organisation sets its own cap of 1.5 for the series"
expect_out_contains "spent rho 1" "budget shows the spend so far"
submit utrecht "$T/in/utrecht.csv" "$T/r2.json" "$T/s2.json" "$T/ledger.db"
expect_rc 1 "round r2 (rho 1) would take the organisation to 2, above its own cap"
expect_err_contains "own cap" "the refusal names the organisation's own cap"
run "$C" budget --ledger "$T/ledger.db" --series mu --rho 2.5
submit utrecht "$T/in/utrecht.csv" "$T/r2.json" "$T/s2.json" "$T/ledger.db"
expect_rc 0 "with the cap raised to 2.5, round r2 is accepted"
run "$C" budget --ledger "$T/ledger.db" --series mu --json
check "budget --json reports the spend 2" python3 - "$OUT" <<'EOF2'
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if d["series"] == "mu" and d["spent"] == 2 and d["cap"] == "2.5" else 1)
EOF2

section "auditor: spend recomputed over several releases"
# Two complete rounds of one series, published in order.
publish_round() { # publish_round DB ROUND_JSON ROUND_ID OUTDIR
    local db=$1 round=$2 id=$3 dir=$4 o
    mkdir -p "$T/sub-$id"
    for o in $ORGS; do
        submit "$o" "$T/in/$o.csv" "$round" "$T/sub-$id/$o.json" "$T/ledger-$id-$o.db"
        [ "$RC" -eq 0 ] || { fail "setup: submit $o $id"; show_output; return 1; }
    done
    run "$A" round import --db "$db" --coordinator-key "$T/keys/coord.pub" "$T/sub-$id"/*.json
    run "$A" round close --db "$db" --coordinator-key "$T/keys/coord.pub" --round "$id"
    run "$A" publish --db "$db" --key "$T/keys/coord.key" --insecure-plaintext-key \
        --round "$id" --out-dir "$dir"
    [ "$RC" -eq 0 ] || { fail "setup: publish $id"; show_output; return 1; }
}
RHO=1 SERIES_RHO=2 open_round "$T/s.db" "$T/roster.json" "$T/a.json" --round-id a \
    --series s || e2e_finish
publish_round "$T/s.db" "$T/a.json" a "$T/rel-a" || e2e_finish
MIJLPAAL_NOW=2026-07-15T12:00:05Z RHO=1 SERIES_RHO=2 open_round "$T/s.db" "$T/roster.json" \
    "$T/b.json" --round-id b --series s || e2e_finish
MIJLPAAL_NOW=2026-07-15T12:00:05Z publish_round "$T/s.db" "$T/b.json" b "$T/rel-b" || e2e_finish
run "$AU" verify --ca "$T/ca/ca.pem" --coordinator-key "$T/keys/coord.pub" "$T/rel-a" "$T/rel-b"
expect_rc 0 "two releases of a series, within its budget"
expect_out_contains "within every series budget" "series verdict"

# A coordinator that hides release a from the accounting of a round in the same series.
RHO=1 SERIES_RHO=2 open_round "$T/hide.db" "$T/roster.json" "$T/c.json" --round-id c \
    --series s || e2e_finish
MIJLPAAL_NOW=2026-07-15T12:00:10Z publish_round "$T/hide.db" "$T/c.json" c "$T/rel-c" || e2e_finish
run "$AU" verify --ca "$T/ca/ca.pem" --coordinator-key "$T/keys/coord.pub" "$T/rel-c"
expect_rc 0 "on its own, release c verifies"
run "$AU" verify --ca "$T/ca/ca.pem" --coordinator-key "$T/keys/coord.pub" "$T/rel-a" "$T/rel-b" "$T/rel-c"
expect_rc 1 "with a and b, release c shows the series was spent twice over"
expect_err_contains "declared" "the auditor names the understated spend"

e2e_finish
