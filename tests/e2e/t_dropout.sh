#!/usr/bin/env bash
# Masking scheme bonawitz-v1 with the real programs: rounds that survive a dropout before
# advertising, after sending key shares and at the confirm phase (six participants, t = c = 2: the
# threshold 5 allows one dropout), thresholds that refuse to open an unsafe round or to advance
# a phase too early, a round signed with a threshold below the colluder bound that the
# contributor and the auditor refuse, messages in the wrong phase, replays, tampering and
# cross-round use, and an aggregator that lies about who submitted: the contributors refuse,
# and the liar cannot collect what it needs.
. "$(dirname "$0")/lib.sh"

make_catalogue "$T/cat.json"
setup_keys || e2e_finish
make_roster "$T/roster.json" "$T/keys/coord.key" || e2e_finish
for o in $ORGS; do make_export "$T/in/$o.csv" "$o"; done
CK=(--key "$T/keys/coord.key" --insecure-plaintext-key)
CP=(--coordinator-key "$T/keys/coord.pub")
CA=(--ca "$T/ca/ca.pem")

party() { # party ROUNDFILE ORG: the options of a contributor's phase commands
    P=(--roster "$T/roster.json" --round "$1" --coordinator-key "$T/keys/coord.pub"
        --key "$T/keys/$2.key" --insecure-plaintext-key --policy "$T/policies/$2.json" --ledger "$T/ledger-$2.db")
}
import() { run "$A" round import --db "${DB:-$T/agg.db}" "${CP[@]}" "$@"; }
advance() { run "$A" round advance --db "${DB:-$T/agg.db}" "${CK[@]}" --round "$1" --out-dir "$2"; }
share_all() { # share_all ROUNDFILE ROUND DIR: every advertiser shares (keys.json in DIR), advance
    local o
    for o in $ORGS; do
        party "$1" "$o"
        run "$C" share "${P[@]}" --keys "$3/keys.json" --out "$3/share-$o.json"
        expect_rc 0 "share $o in $2"
    done
    import "$3"/share-*.json
    expect_rc 0 "import the share messages of $2"
    advance "$2" "$3"
    expect_rc 0 "advance $2 to submit"
}

section "round open: parameters that protect nobody are refused"
for bad in "--threshold 4 --t 2:does not resist 2 colluders" \
    "--threshold 3 --t 1:does not resist 1 colluders" \
    "--threshold 7:more than the 6 participants" \
    "--threshold 5 --t 2 --colluders 1:fewer than the t = 2 the noise assumes" \
    "--threshold 5 --t 2 --colluders 4:does not resist 4 colluders" \
    "--threshold 4 --t 1:lets 2 of 6 participants drop out" \
    "--threshold 5 --t 2 --k-min 6:below k_min"; do
    args=${bad%%:*}
    # shellcheck disable=SC2086
    run "$A" round open --db "$T/agg.db" --roster "$T/roster.json" --catalogue "$T/cat.json" \
        --period "$PERIOD" --deadline "$DEADLINE" --rho 1 --series-rho 1000 "${CK[@]}" \
        --masking bonawitz-v1 $args --round-id bad --out "$T/bad.json"
    expect_rc 1 "round open with $args"
    expect_err_contains "${bad#*:}" "round open with $args"
    expect_absent "$T/bad.json" "round open with $args"
done
expect_absent "$T/agg.db" "refused opens create no store"

section "round A: one never advertises (threshold 5 of 6, t = 2, resisting 2 colluders)"
open_round "$T/agg.db" "$T/roster.json" "$T/rA.json" --round-id ra --masking bonawitz-v1 \
    --t 2 || e2e_finish
check "the round says bonawitz-v1 with the default threshold 5 and 2 colluders" python3 - \
    "$T/rA.json" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))["body"]["masking"]
sys.exit(0 if m == {"scheme": "bonawitz-v1", "threshold": 5, "colluders": 2} else 1)
EOF
mkdir -p "$T/a" "$T/fromA"
for o in utrecht stichtse-vecht lekstroom; do
    party "$T/rA.json" "$o"
    run "$C" advertise "${P[@]}" --out "$T/a/adv-$o.json"
    expect_rc 0 "advertise $o"
done
party "$T/rA.json" utrecht
run "$C" advertise "${P[@]}" --out "$T/a/adv-utrecht-again.json"
expect_rc 0 "advertise utrecht a second time"
check "a second advertise writes the same bytes" cmp -s "$T/a/adv-utrecht.json" \
    "$T/a/adv-utrecht-again.json"
run "$C" show "$T/a/adv-utrecht.json" --roster "$T/roster.json" --round "$T/rA.json" "${CP[@]}" \
    --policy "$T/policies/utrecht.json"
expect_rc 0 "show an advertisement"
expect_out_contains "verified against the roster" "show checks the advertisement's signature"
import "$T/a/adv-utrecht.json" "$T/a/adv-stichtse-vecht.json" "$T/a/adv-lekstroom.json"
expect_rc 0 "import three advertisements"
import "$T/a/adv-utrecht-again.json"
expect_rc 1 "the same advertisement again"
expect_err_contains "imported before (duplicate or replay)" "replayed advertisement"
party "$T/rA.json" fermwerk
run "$C" advertise "${P[@]}" --out "$T/a/adv-fermwerk.json"
import "$T/a/adv-fermwerk.json"
expect_rc 0 "import a fourth"
before=$(db_sha "$T/agg.db")
advance ra "$T/fromA"
expect_rc 1 "advance with 4 of 6 advertisements"
expect_err_contains "the threshold is 5" "advance below the threshold"
expect_db_unchanged "$T/agg.db" "$before" "after the refused advance"
party "$T/rA.json" rsd-krh
run "$C" advertise "${P[@]}" --out "$T/a/adv-rsd-krh.json"
import "$T/a/adv-rsd-krh.json"
expect_rc 0 "import a fifth (uwv never advertises)"
run "$A" round status --db "$T/agg.db" "${CP[@]}" --round ra
expect_out_contains "missing in advertise uwv" "status names who is missing in the phase"
advance ra "$T/fromA"
expect_rc 0 "advance: the advertise phase ends with 5"
expect_present "$T/fromA/keys.json" "the keys message for everyone"
party "$T/rA.json" uwv
run "$C" advertise "${P[@]}" --out "$T/a/adv-uwv.json"
import "$T/a/adv-uwv.json"
expect_rc 1 "an advertisement after the advertise phase"
expect_err_contains "belongs to the advertise phase" "late advertisement"

section "round A, share phase: key shares boxed to the round's box keys"
party "$T/rA.json" utrecht
run "$C" share "${P[@]}" --out "$T/a/x.json"
expect_rc 2 "share without --keys"
cp "$T/fromA/keys.json" "$T/a/keys-tampered.json"
python3 - "$T/a/keys-tampered.json" <<'EOF'
import json, sys
p = sys.argv[1]
d = json.load(open(p))
a = d["body"]["advertised"]
a[1]["mask_pk"], a[2]["mask_pk"] = a[2]["mask_pk"], a[1]["mask_pk"]
open(p, "w").write(json.dumps(d))
EOF
run "$C" share "${P[@]}" --keys "$T/a/keys-tampered.json" --out "$T/a/x.json"
expect_rc 1 "share with a tampered keys message"
expect_err_contains "signature" "tampered keys message"
expect_absent "$T/a/x.json" "refused share"
for o in utrecht stichtse-vecht lekstroom fermwerk; do
    party "$T/rA.json" "$o"
    run "$C" share "${P[@]}" --keys "$T/fromA/keys.json" --out "$T/a/share-$o.json"
    expect_rc 0 "share $o"
done
party "$T/rA.json" utrecht
run "$C" share "${P[@]}" --keys "$T/fromA/keys.json" --out "$T/a/share-utrecht-again.json"
expect_rc 0 "share utrecht a second time"
check "a second share writes the same bytes" cmp -s "$T/a/share-utrecht.json" \
    "$T/a/share-utrecht-again.json"
party "$T/rA.json" uwv
run "$C" share "${P[@]}" --keys "$T/fromA/keys.json" --out "$T/a/share-uwv.json"
expect_rc 1 "share by the one that never advertised"
run "$C" show "$T/a/share-utrecht.json" --roster "$T/roster.json" --round "$T/rA.json" "${CP[@]}" \
    --policy "$T/policies/utrecht.json"
expect_rc 0 "show a share message"
expect_out_contains "key of this round can open" "show says the boxes are for the round keys"
import "$T/a/share-utrecht.json" "$T/a/share-stichtse-vecht.json" "$T/a/share-lekstroom.json" \
    "$T/a/share-fermwerk.json"
expect_rc 0 "import four share messages"
import "$T/a/share-utrecht-again.json"
expect_rc 1 "the same share message again"
before=$(db_sha "$T/agg.db")
advance ra "$T/fromA"
expect_rc 1 "advance with 4 of 5 share messages"
expect_err_contains "4 of 5 advertised participants sent key shares; the threshold is 5" \
    "share phase below the threshold"
expect_db_unchanged "$T/agg.db" "$before" "after the refused advance"
party "$T/rA.json" rsd-krh
run "$C" share "${P[@]}" --keys "$T/fromA/keys.json" --out "$T/a/share-rsd-krh.json"
import "$T/a/share-rsd-krh.json"
expect_rc 0 "import the fifth share message"
run "$A" round status --db "$T/agg.db" "${CP[@]}" --round ra
expect_out_contains "5 shared" "status counts the share messages"
advance ra "$T/fromA"
expect_rc 0 "advance: the share phase ends with 5"
expect_present "$T/fromA/shares-utrecht.json" "shares message for utrecht"
expect_absent "$T/fromA/shares-uwv.json" "no shares message for the one that did not advertise"

mkdir -p "$T/subA"
party "$T/rA.json" utrecht
run "$C" submit --input "$T/in/utrecht.csv" "${P[@]}" --out "$T/subA/x.json"
expect_rc 2 "submit without --shares in a bonawitz-v1 round"
expect_err_contains "--shares" "submit without shares"
run "$C" submit --input "$T/in/utrecht.csv" "${P[@]}" --shares "$T/fromA/shares-lekstroom.json" \
    --out "$T/subA/x.json"
expect_rc 1 "submit with another organisation's shares message"
expect_err_contains "addressed to lekstroom" "shares for someone else"
expect_absent "$T/subA/x.json" "refused submit"
cp "$T/fromA/shares-utrecht.json" "$T/a/shares-tampered.json"
python3 - "$T/a/shares-tampered.json" <<'EOF'
import json, sys
p = sys.argv[1]
d = json.load(open(p))
d["body"]["boxes"][1], d["body"]["boxes"][2] = d["body"]["boxes"][2], d["body"]["boxes"][1]
open(p, "w").write(json.dumps(d))
EOF
run "$C" submit --input "$T/in/utrecht.csv" "${P[@]}" --shares "$T/a/shares-tampered.json" \
    --out "$T/subA/x.json"
expect_rc 1 "submit with reordered boxes in the shares message"
expect_err_contains "signature" "reordered shares message"
for o in utrecht stichtse-vecht lekstroom fermwerk; do
    party "$T/rA.json" "$o"
    run "$C" submit --input "$T/in/$o.csv" "${P[@]}" --shares "$T/fromA/shares-$o.json" \
        --out "$T/subA/$o.json"
    expect_rc 0 "submit $o"
done
party "$T/rA.json" uwv
run "$C" submit --input "$T/in/uwv.csv" "${P[@]}" --shares "$T/fromA/shares-utrecht.json" \
    --out "$T/subA/uwv.json"
expect_rc 1 "submit by the one that never advertised"
import "$T"/subA/*.json
expect_rc 0 "import four submissions"
advance ra "$T/fromA"
expect_rc 1 "advance with 4 of 5 submissions"
expect_err_contains "4 of 5 participants that sent key shares submitted; the threshold is 5" \
    "submit phase below the threshold"
party "$T/rA.json" rsd-krh
run "$C" submit --input "$T/in/rsd-krh.csv" "${P[@]}" --shares "$T/fromA/shares-rsd-krh.json" \
    --out "$T/subA/rsd-krh.json"
import "$T/subA/rsd-krh.json"
expect_rc 0 "import the fifth submission"
run "$C" status --ledger "$T/ledger-utrecht.db" --round ra
expect_out_contains "confirm --survivors" "contributor status says what comes next"
advance ra "$T/fromA"
expect_rc 0 "advance: the submit phase ends with 5"
AWAKE="utrecht stichtse-vecht lekstroom fermwerk rsd-krh"
for o in $AWAKE; do
    party "$T/rA.json" "$o"
    run "$C" confirm "${P[@]}" --survivors "$T/fromA/survivors.json" --out "$T/a/conf-$o.json"
    expect_rc 0 "confirm $o"
done
run "$A" round close --db "$T/agg.db" "${CP[@]}" --round ra
expect_rc 1 "round close in the confirm phase"
expect_err_contains "closes once 5 unmask messages are in" "close before the unmask phase"
import "$T/a/conf-utrecht.json" "$T/a/conf-stichtse-vecht.json" "$T/a/conf-fermwerk.json" \
    "$T/a/conf-lekstroom.json"
advance ra "$T/fromA"
expect_rc 1 "advance with 4 of 5 confirmations"
import "$T/a/conf-rsd-krh.json"
advance ra "$T/fromA"
expect_rc 0 "advance: the confirm phase ends with 5"
for o in $AWAKE; do
    party "$T/rA.json" "$o"
    run "$C" unmask "${P[@]}" --request "$T/fromA/unmask-request.json" --out "$T/a/unm-$o.json"
    expect_rc 0 "unmask $o"
done
cp "$T/a/unm-fermwerk.json" "$T/a/unm-tampered.json"
sed -i 's/"shares":\["A/"shares":["B/' "$T/a/unm-tampered.json"
import "$T/a/unm-tampered.json"
expect_rc 1 "a tampered unmask message"
import "$T/a/unm-utrecht.json" "$T/a/unm-stichtse-vecht.json" "$T/a/unm-fermwerk.json" \
    "$T/a/unm-lekstroom.json"
expect_rc 0 "four unmask messages"
run "$A" round status --db "$T/agg.db" "${CP[@]}" --round ra --json
expect_out_contains '"state":"open"' "four unmask messages do not close the round"
import "$T/a/unm-rsd-krh.json"
expect_rc 0 "the fifth unmask message"
expect_err_contains "closed: the threshold of 5 unmask messages is reached" "closes by itself"
import "$T/a/conf-utrecht.json"
expect_rc 1 "a confirmation after the close"
run "$A" publish --db "$T/agg.db" "${CK[@]}" --round ra --out-dir "$T/relA"
expect_rc 0 "publish round A"
run "$AU" verify "${CA[@]}" "${CP[@]}" "$T/relA"
expect_rc 0 "auditor verifies round A"
check "the report tells raadsleden whose counts are missing" grep -q \
    "1 van de 6 organisaties ontbreekt in deze cijfers.</strong> De tellingen van UWV district Midden-Utrecht" \
    "$T/relA/report.html"
expect_out_contains "unmasked from the published shares" "the auditor recomputed the unmasking"

section "round B: all submit; a lying aggregator misleads one, which then cannot confirm the honest list"
open_round "$T/agg.db" "$T/roster.json" "$T/rB.json" --round-id rb --masking bonawitz-v1 \
    --t 2 || e2e_finish
mkdir -p "$T/b" "$T/fromB" "$T/subB" "$T/fromLie"
for o in $ORGS; do
    party "$T/rB.json" "$o"
    run "$C" advertise "${P[@]}" --out "$T/b/adv-$o.json"
done
import "$T"/b/adv-*.json
expect_rc 0 "six advertisements"
advance rb "$T/fromB"
expect_rc 0 "advance round B to share"
party "$T/rB.json" utrecht
run "$C" share "${P[@]}" --keys "$T/fromA/keys.json" --out "$T/b/x.json"
expect_rc 1 "a keys message of round A used in round B"
expect_err_contains "for round ra, not for round rb" "cross-round keys message"
share_all "$T/rB.json" rb "$T/fromB"
party "$T/rB.json" utrecht
run "$C" submit --input "$T/in/utrecht.csv" "${P[@]}" --shares "$T/fromA/shares-utrecht.json" \
    --out "$T/subB/x.json"
expect_rc 1 "a shares message of round A used in round B"
expect_err_contains "for round ra, not for round rb" "cross-round shares message"
for o in $ORGS; do
    party "$T/rB.json" "$o"
    run "$C" submit --input "$T/in/$o.csv" "${P[@]}" --shares "$T/fromB/shares-$o.json" \
        --out "$T/subB/$o.json"
    expect_rc 0 "submit $o in round B"
done
# The liar: a copy of the store that "lost" utrecht's submission.
cp "$T/agg.db" "$T/lie.db"
rm -f "$T/lie.db-wal" "$T/lie.db-shm"
import "$T"/subB/*.json
expect_rc 0 "the honest store imports all six"
DB=$T/lie.db import "$T/subB/stichtse-vecht.json" "$T/subB/lekstroom.json" \
    "$T/subB/fermwerk.json" "$T/subB/rsd-krh.json" "$T/subB/uwv.json"
expect_rc 0 "the lying store imports five"
advance rb "$T/fromB"
expect_rc 0 "honest survivors list"
DB=$T/lie.db advance rb "$T/fromLie"
expect_rc 0 "lying survivors list (utrecht left out)"
party "$T/rB.json" utrecht
run "$C" confirm "${P[@]}" --survivors "$T/fromLie/survivors.json" --out "$T/b/x.json"
expect_rc 1 "utrecht is told it did not submit"
expect_err_contains "says utrecht did not submit, but it did" "claimed dropout refused"
party "$T/rB.json" lekstroom
run "$C" confirm "${P[@]}" --survivors "$T/fromLie/survivors.json" --out "$T/b/lie-lek.json"
expect_rc 0 "lekstroom cannot tell and confirms the lying list"
run "$C" confirm "${P[@]}" --survivors "$T/fromB/survivors.json" --out "$T/b/x.json"
expect_rc 1 "lekstroom refuses a second, different list"
expect_err_contains "already confirmed another survivors list" "one list per round"
cp "$T/fromB/survivors.json" "$T/b/surv-tampered.json"
# One hex digit of uwv's submission hash changed (to another digit, whatever it was).
python3 - "$T/b/surv-tampered.json" <<'EOF'
import sys
p = sys.argv[1]
s = open(p).read()
key = '"org":"uwv","submission_sha256":"'
i = s.index(key) + len(key)
s = s[:i] + ("1" if s[i] == "0" else "0") + s[i + 1:]
open(p, "w").write(s)
EOF
party "$T/rB.json" uwv
run "$C" confirm "${P[@]}" --survivors "$T/b/surv-tampered.json" --out "$T/b/x.json"
expect_rc 1 "a tampered survivors list"
for o in utrecht stichtse-vecht fermwerk rsd-krh uwv; do
    party "$T/rB.json" "$o"
    run "$C" confirm "${P[@]}" --survivors "$T/fromB/survivors.json" --out "$T/b/conf-$o.json"
    expect_rc 0 "confirm $o (honest list)"
    run "$C" confirm "${P[@]}" --survivors "$T/fromLie/survivors.json" --out "$T/b/x.json"
    [ "$o" = utrecht ] || expect_rc 1 "$o refuses the lying list after the honest one"
done
DB=$T/lie.db import "$T/b/lie-lek.json"
expect_rc 0 "the liar stores its one confirmation"
DB=$T/lie.db import "$T/b/conf-uwv.json"
expect_rc 1 "a confirmation of the honest list is no use to the liar"
expect_err_contains "different list of survivors" "confirmation of another list"
DB=$T/lie.db advance rb "$T/fromLie"
expect_rc 1 "the liar cannot get its list confirmed by 5"
expect_err_contains "1 of 5 survivors confirmed" "the liar is short of confirmations"
# lekstroom was misled and cannot take part any more: the round's one dropout.
import "$T/b/conf-utrecht.json" "$T/b/conf-stichtse-vecht.json" "$T/b/conf-fermwerk.json" \
    "$T/b/conf-rsd-krh.json" "$T/b/conf-uwv.json"
expect_rc 0 "five confirmations of the honest list"
advance rb "$T/fromB"
expect_rc 0 "honest unmask request"
party "$T/rB.json" lekstroom
run "$C" unmask "${P[@]}" --request "$T/fromB/unmask-request.json" --out "$T/b/x.json"
expect_rc 1 "lekstroom refuses a request for a list it did not confirm"
expect_err_contains "different list of survivors" "unmask for another list"
expect_absent "$T/b/x.json" "no shares revealed"
for o in utrecht stichtse-vecht fermwerk rsd-krh uwv; do
    party "$T/rB.json" "$o"
    run "$C" unmask "${P[@]}" --request "$T/fromB/unmask-request.json" --out "$T/b/unm-$o.json"
    expect_rc 0 "unmask $o"
done
import "$T"/b/unm-*.json
expect_rc 0 "five unmask messages close round B"
import "$T/b/unm-uwv.json"
expect_rc 1 "an unmask message replayed after the close"
run "$A" publish --db "$T/agg.db" "${CK[@]}" --round rb --out-dir "$T/relB"
expect_rc 0 "publish round B"
run "$AU" verify "${CA[@]}" "${CP[@]}" "$T/relB"
expect_rc 0 "auditor verifies round B"
check "round B's release names the six and who unmasked" python3 - "$T/relB/release.json" <<'EOF'
import json, sys
b = json.load(open(sys.argv[1]))["body"]
ok = [i["org"] for i in b["included"]] == sorted("utrecht stichtse-vecht lekstroom fermwerk rsd-krh uwv".split())
ok = ok and b["masking"]["unmasked_by"] == ["fermwerk", "rsd-krh", "stichtse-vecht", "utrecht", "uwv"]
sys.exit(0 if ok else 1)
EOF

section "round C: one sends its key shares, then drops out (its pairwise masks come off with its rebuilt key)"
open_round "$T/agg.db" "$T/roster.json" "$T/rC.json" --round-id rc --masking bonawitz-v1 \
    --t 2 || e2e_finish
mkdir -p "$T/c" "$T/fromC"
for o in $ORGS; do
    party "$T/rC.json" "$o"
    run "$C" advertise "${P[@]}" --out "$T/c/adv-$o.json"
done
import "$T"/c/adv-*.json
advance rc "$T/fromC"
expect_rc 0 "advance round C to share"
share_all "$T/rC.json" rc "$T/fromC"
for o in $ORGS; do
    [ "$o" = lekstroom ] && continue
    party "$T/rC.json" "$o"
    run "$C" submit --input "$T/in/$o.csv" "${P[@]}" --shares "$T/fromC/shares-$o.json" \
        --out "$T/c/sub-$o.json"
    expect_rc 0 "submit $o in round C"
done
import "$T"/c/sub-*.json
advance rc "$T/fromC"
expect_rc 0 "five submissions: survivors list"
for o in $ORGS; do
    [ "$o" = lekstroom ] && continue
    party "$T/rC.json" "$o"
    run "$C" confirm "${P[@]}" --survivors "$T/fromC/survivors.json" --out "$T/c/conf-$o.json"
    expect_rc 0 "confirm $o in round C"
done
import "$T"/c/conf-*.json
advance rc "$T/fromC"
expect_rc 0 "unmask request of round C"
for o in $ORGS; do
    [ "$o" = lekstroom ] && continue
    party "$T/rC.json" "$o"
    run "$C" unmask "${P[@]}" --request "$T/fromC/unmask-request.json" --out "$T/c/unm-$o.json"
    expect_rc 0 "unmask $o in round C"
done
import "$T"/c/unm-*.json
expect_rc 0 "five unmask messages close round C"
run "$A" publish --db "$T/agg.db" "${CK[@]}" --round rc --out-dir "$T/relC"
expect_rc 0 "publish round C"
run "$AU" verify "${CA[@]}" "${CP[@]}" "$T/relC"
expect_rc 0 "auditor verifies round C (the dropout's mask key rebuilt from the shares)"
check "round C's report names lekstroom as missing" grep -q \
    "1 van de 6 organisaties ontbreekt in deze cijfers.</strong> De tellingen van Werk &amp; Inkomen Lekstroom" \
    "$T/relC/report.html"

section "a round signed with a threshold below the colluder bound: contributor and auditor refuse it"
# A coordinator that skips round open's checks writes T = 4 (2T = n + c) into round C's body by
# hand and signs it.
python3 - "$T/rC.json" "$T/rlow-body.json" <<'EOF'
import json, sys
b = json.load(open(sys.argv[1]))["body"]
b["masking"]["threshold"] = 4
json.dump(b, open(sys.argv[2], "w"))
EOF
sign_body round "$T/rlow-body.json" "$T/keys/coord.key" "$T/rlow.json"
check "the hand-signed round differs from round C only in the threshold" python3 - \
    "$T/rC.json" "$T/rlow.json" <<'EOF'
import json, sys
a, b = (json.load(open(p))["body"] for p in sys.argv[1:3])
a["masking"]["threshold"] = 4
sys.exit(0 if a == b else 1)
EOF
party "$T/rlow.json" utrecht
P[${#P[@]} - 1]=$T/ledger-low-utrecht.db
run "$C" advertise "${P[@]}" --out "$T/x-low.json"
expect_rc 1 "contributor advertise in a round with T below the bound"
expect_err_contains "does not resist 2 colluders" "the contributor names the colluder bound"
expect_absent "$T/x-low.json" "nothing advertised"
run "$C" show "$T/rlow.json" --roster "$T/roster.json" "${CP[@]}" --policy "$T/policies/utrecht.json"
expect_rc 1 "contributor show of that round"
cp -r "$T/relC" "$T/relLow"
cp "$T/rlow.json" "$T/relLow/round.json"
run "$AU" verify "${CA[@]}" "${CP[@]}" "$T/relLow"
expect_rc 1 "the auditor refuses a release of that round"
expect_err_contains "does not resist 2 colluders" "the auditor names the colluder bound"

section "auditor: the unmasking data must be there and unaltered"
cp -r "$T/relB" "$T/relB2"
rm "$T/relB2/unmask/uwv.json"
run "$AU" verify "${CA[@]}" "${CP[@]}" "$T/relB2"
expect_rc 1 "a missing unmask message"
cp -r "$T/relB" "$T/relB3"
cp "$T/b/unm-uwv.json" "$T/relB3/unmask/utrecht.json"
run "$AU" verify "${CA[@]}" "${CP[@]}" "$T/relB3"
expect_rc 1 "an unmask message under another organisation's name"
cp -r "$T/relB" "$T/relB4"
cp "$T/fromLie/survivors.json" "$T/relB4/survivors.json"
run "$AU" verify "${CA[@]}" "${CP[@]}" "$T/relB4"
expect_rc 1 "another survivors list"

section "no BSN in any message, output or store"
leaks=$(grep -rlaF -f "$T/in/bsns.txt" "$T" --exclude-dir=in 2>/dev/null)
if [ -z "$leaks" ]; then pass "no input BSN anywhere outside the exports"; else
    fail "BSNs found in: $leaks"; fi
e2e_finish
