#!/usr/bin/env bash
# bonawitz-v1 phases resume after a crash: the aggregator is killed (SIGKILL) while advancing a
# phase and while importing, a contributor while sharing, confirming and unmasking. After every kill the
# store or ledger is intact and in the old or the new phase, and running the command again
# ends exactly where an uninterrupted run ends (the same bytes: every message is deterministic).
. "$(dirname "$0")/lib.sh"

make_catalogue "$T/cat.json"
setup_keys || e2e_finish
make_roster "$T/roster.json" "$T/keys/coord.key" || e2e_finish
for o in $ORGS; do make_export "$T/in/$o.csv" "$o"; done
open_round "$T/agg.db" "$T/roster.json" "$T/round.json" --masking bonawitz-v1 --t 2 || e2e_finish
CK=(--key "$T/keys/coord.key" --insecure-plaintext-key)
CP=(--coordinator-key "$T/keys/coord.pub")
CA=(--ca "$T/ca/ca.pem")
party() {
    P=(--roster "$T/roster.json" --round "$T/round.json" --coordinator-key "$T/keys/coord.pub"
        --key "$T/keys/$1.key" --insecure-plaintext-key --policy "$T/policies/$1.json" \
        --ledger "${LEDGER:-$T/ledger-$1.db}")
}
phase_of() { # phase_of DB
    "$A" round status --db "$1" "${CP[@]}" --json | python3 -c '
import json, sys
print(json.load(sys.stdin).get("phase", ""))'
}
copy_db() { rm -f "$2" "$2-wal" "$2-shm"; cp "$1" "$2"; [ -f "$1-wal" ] && cp "$1-wal" "$2-wal"; return 0; }

mkdir -p "$T/adv" "$T/ref" "$T/share" "$T/sub" "$T/conf" "$T/unm"
for o in $ORGS; do
    party "$o"
    run "$C" advertise "${P[@]}" --out "$T/adv/$o.json"
done
run "$A" round import --db "$T/agg.db" "${CP[@]}" "$T"/adv/*.json
expect_rc 0 "six advertisements"
copy_db "$T/agg.db" "$T/base.db"
run "$A" round advance --db "$T/agg.db" "${CK[@]}" --out-dir "$T/ref"
expect_rc 0 "reference advance"

section "aggregator killed while advancing from advertise to share"
bad=0
for delay in 1000 3000 6000 10000 15000 25000 40000; do
    copy_db "$T/base.db" "$T/c.db"
    rm -rf "$T/out"
    kill_after "$delay" "$A" round advance --db "$T/c.db" "${CK[@]}" --out-dir "$T/out"
    integrity "$T/c.db" || { bad=1; echo "  integrity failed after ${delay}us"; }
    ph=$(phase_of "$T/c.db")
    case "$ph" in
    advertise) cmd=advance ;;
    share) cmd=outbox ;;
    *) bad=1; echo "  phase '$ph' after ${delay}us"; continue ;;
    esac
    rm -rf "$T/out"
    "$A" round "$cmd" --db "$T/c.db" "${CK[@]}" --out-dir "$T/out" >/dev/null 2>&1 || {
        bad=1; echo "  round $cmd failed after a kill at ${delay}us"; }
    cmp -s "$T/ref/keys.json" "$T/out/keys.json" || { bad=1; echo "  keys.json differs (${delay}us)"; }
done
check "every kill left an intact store in the old or new phase, and the run resumed to the same keys message" test "$bad" = 0

section "contributor killed while sharing"
cp "$T/ledger-utrecht.db" "$T/lbase0.db"
party utrecht
run "$C" share "${P[@]}" --keys "$T/ref/keys.json" --out "$T/share/utrecht.json"
expect_rc 0 "reference share message"
bad=0
for delay in 1000 3000 6000 10000 15000 25000; do
    copy_db "$T/lbase0.db" "$T/l.db"
    rm -f "$T/x.json"
    LEDGER=$T/l.db party utrecht
    kill_after "$delay" "$C" share "${P[@]}" --keys "$T/ref/keys.json" --out "$T/x.json"
    integrity "$T/l.db" || { bad=1; echo "  ledger integrity failed after ${delay}us"; }
    rm -f "$T/x.json"
    "$C" share "${P[@]}" --keys "$T/ref/keys.json" --out "$T/x.json" >/dev/null 2>&1 ||
        { bad=1; echo "  share again failed after a kill at ${delay}us"; }
    cmp -s "$T/x.json" "$T/share/utrecht.json" || { bad=1; echo "  share message differs (${delay}us)"; }
done
check "every kill left an intact ledger, and sharing again gave the same share message" test "$bad" = 0
for o in stichtse-vecht lekstroom fermwerk rsd-krh uwv; do
    party "$o"
    run "$C" share "${P[@]}" --keys "$T/ref/keys.json" --out "$T/share/$o.json"
done
run "$A" round import --db "$T/agg.db" "${CP[@]}" "$T"/share/*.json
expect_rc 0 "six share messages"
copy_db "$T/agg.db" "$T/base1.db"
run "$A" round advance --db "$T/agg.db" "${CK[@]}" --out-dir "$T/ref"
expect_rc 0 "reference advance to submit"

section "aggregator killed while advancing from share to submit"
bad=0
for delay in 1000 3000 6000 10000 15000 25000 40000; do
    copy_db "$T/base1.db" "$T/c.db"
    rm -rf "$T/out"
    kill_after "$delay" "$A" round advance --db "$T/c.db" "${CK[@]}" --out-dir "$T/out"
    integrity "$T/c.db" || { bad=1; echo "  integrity failed after ${delay}us"; }
    ph=$(phase_of "$T/c.db")
    case "$ph" in
    share) cmd=advance ;;
    submit) cmd=outbox ;;
    *) bad=1; echo "  phase '$ph' after ${delay}us"; continue ;;
    esac
    rm -rf "$T/out"
    "$A" round "$cmd" --db "$T/c.db" "${CK[@]}" --out-dir "$T/out" >/dev/null 2>&1 || {
        bad=1; echo "  round $cmd failed after a kill at ${delay}us"; }
    for f in "$T"/ref/shares-*.json; do
        cmp -s "$f" "$T/out/$(basename "$f")" || { bad=1; echo "  $(basename "$f") differs (${delay}us)"; }
    done
done
check "every kill left an intact store in the old or new phase, and the run resumed to the same shares messages" test "$bad" = 0

for o in $ORGS; do
    party "$o"
    run "$C" submit --input "$T/in/$o.csv" "${P[@]}" --shares "$T/ref/shares-$o.json" \
        --out "$T/sub/$o.json"
    [ "$RC" -eq 0 ] || { fail "submit $o"; show_output; }
done
run "$A" round import --db "$T/agg.db" "${CP[@]}" "$T"/sub/*.json
run "$A" round advance --db "$T/agg.db" "${CK[@]}" --out-dir "$T/ref"
expect_rc 0 "survivors list"

section "contributor killed while confirming"
cp "$T/ledger-utrecht.db" "$T/lbase.db"
party utrecht
run "$C" confirm "${P[@]}" --survivors "$T/ref/survivors.json" --out "$T/conf/utrecht.json"
expect_rc 0 "reference confirmation"
bad=0
for delay in 1000 3000 6000 10000 15000 25000; do
    copy_db "$T/lbase.db" "$T/l.db"
    rm -f "$T/x.json"
    LEDGER=$T/l.db party utrecht
    kill_after "$delay" "$C" confirm "${P[@]}" --survivors "$T/ref/survivors.json" --out "$T/x.json"
    integrity "$T/l.db" || { bad=1; echo "  ledger integrity failed after ${delay}us"; }
    rm -f "$T/x.json"
    "$C" confirm "${P[@]}" --survivors "$T/ref/survivors.json" --out "$T/x.json" >/dev/null 2>&1 ||
        { bad=1; echo "  confirm again failed after a kill at ${delay}us"; }
    cmp -s "$T/x.json" "$T/conf/utrecht.json" || { bad=1; echo "  confirmation differs (${delay}us)"; }
done
check "every kill left an intact ledger, and confirming again gave the same confirmation" test "$bad" = 0

for o in stichtse-vecht lekstroom fermwerk rsd-krh uwv; do
    party "$o"
    run "$C" confirm "${P[@]}" --survivors "$T/ref/survivors.json" --out "$T/conf/$o.json"
done
run "$A" round import --db "$T/agg.db" "${CP[@]}" "$T"/conf/*.json
run "$A" round advance --db "$T/agg.db" "${CK[@]}" --out-dir "$T/ref"
expect_rc 0 "unmask request"
for o in $ORGS; do
    party "$o"
    run "$C" unmask "${P[@]}" --request "$T/ref/unmask-request.json" --out "$T/unm/$o.json"
    [ "$RC" -eq 0 ] || { fail "unmask $o"; show_output; }
done
party utrecht
run "$C" unmask "${P[@]}" --request "$T/ref/unmask-request.json" --out "$T/unm/utrecht-2.json"
check "unmasking again writes the same message" cmp -s "$T/unm/utrecht.json" "$T/unm/utrecht-2.json"
rm -f "$T/unm/utrecht-2.json"

section "aggregator killed while importing the unmask messages that close the round"
copy_db "$T/agg.db" "$T/base2.db"
bad=0
for delay in 2000 6000 12000 20000 35000 60000; do
    copy_db "$T/base2.db" "$T/c.db"
    kill_after "$delay" "$A" round import --db "$T/c.db" "${CP[@]}" "$T"/unm/*.json
    integrity "$T/c.db" || { bad=1; echo "  integrity failed after ${delay}us"; }
    "$A" round import --db "$T/c.db" "${CP[@]}" "$T"/unm/*.json >/dev/null 2>&1
    st=$("$A" round status --db "$T/c.db" "${CP[@]}" --json | python3 -c '
import json, sys
print(json.load(sys.stdin)["state"])')
    if [ "$st" = open ]; then
        "$A" round close --db "$T/c.db" "${CP[@]}" >/dev/null 2>&1 || {
            bad=1; echo "  close failed after a kill at ${delay}us"; }
    fi
    rm -rf "$T/rel"
    "$A" publish --db "$T/c.db" "${CK[@]}" --out-dir "$T/rel" >/dev/null 2>&1 &&
        "$AU" verify "${CA[@]}" "${CP[@]}" "$T/rel" >/dev/null 2>&1 || {
        bad=1; echo "  no verified release after a kill at ${delay}us"; }
done
check "after every kill the round closes, publishes and verifies" test "$bad" = 0
e2e_finish
