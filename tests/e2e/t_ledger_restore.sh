#!/usr/bin/env bash
# bonawitz-v1 per-round secrets in the contributor's ledger, with the real programs: drawn at
# advertise and sealed in the ledger (never in the clear, never in a message), read back by
# every later phase, wiped once the unmask message is stored or on `forget`. Ledgers restored
# from an earlier copy, or lost: copied before advertise and restored after it (detected at
# share, from the keys message), after sharing (detected at submit, from the shares message)
# or after submitting (detected at confirm, from the survivors list), each refused with the
# way out (`abandon`, after which the round is refused for good); copied after advertise and
# restored after share (submit says to share again, which gives the same bytes), copied after
# share and restored after submit (confirm says to submit again: the same bytes, the noise
# comes from the sealed seed), copied after confirm and restored after unmask (the same unmask
# message): harmless.
. "$(dirname "$0")/lib.sh"

make_catalogue "$T/cat.json"
setup_keys || e2e_finish
make_roster "$T/roster.json" "$T/keys/coord.key" || e2e_finish
for o in $ORGS; do make_export "$T/in/$o.csv" "$o"; done
CK=(--key "$T/keys/coord.key" --insecure-plaintext-key)
CP=(--coordinator-key "$T/keys/coord.pub")
party() { # party ROUNDFILE ORG [LEDGER]
    P=(--roster "$T/roster.json" --round "$1" --coordinator-key "$T/keys/coord.pub"
        --key "$T/keys/$2.key" --insecure-plaintext-key --policy "$T/policies/$2.json"
        --ledger "${3:-$T/ledger-$2.db}")
}
import() { run "$A" round import --db "$T/agg.db" "${CP[@]}" "$@"; }
advance() { run "$A" round advance --db "$T/agg.db" "${CK[@]}" --round "$1" --out-dir "$2"; }
share_all() { # share_all ROUNDFILE ROUND DIR ORG...: they share (keys.json in DIR); advance
    local rf=$1 r=$2 d=$3 o
    shift 3
    for o in "$@"; do
        party "$rf" "$o"
        run "$C" share "${P[@]}" --keys "$d/keys.json" --out "$d/share-$o.json"
        expect_rc 0 "share $o in $r"
    done
    import "$d"/share-*.json
    advance "$r" "$d"
    expect_rc 0 "advance $r to submit"
}
copy_db() { rm -f "$2" "$2-wal" "$2-shm"; cp "$1" "$2"; [ -f "$1-wal" ] && cp "$1-wal" "$2-wal"; return 0; }
secrets_len() { # secrets_len LEDGER ROUND: bytes of the sealed secrets ("" when wiped)
    python3 - "$1" "$2" <<'PYEOF'
import sqlite3, sys
v = sqlite3.connect(sys.argv[1]).execute(
    "SELECT secrets FROM sa_rounds WHERE round_id = ?", (sys.argv[2],)).fetchone()
print("" if v is None or v[0] is None else len(v[0]))
PYEOF
}

section "advertise: fresh secrets, sealed in the ledger before the message is written"
open_round "$T/agg.db" "$T/roster.json" "$T/r1.json" --round-id r1 --masking bonawitz-v1 \
    --t 2 || e2e_finish
mkdir -p "$T/m" "$T/out"
for o in $ORGS; do
    party "$T/r1.json" "$o"
    run "$C" advertise "${P[@]}" --out "$T/m/adv-$o.json"
    expect_rc 0 "advertise $o"
done
check "the sealed secrets are 201 bytes in the ledger" test "$(secrets_len "$T/ledger-utrecht.db" r1)" = 201
# The same keystore in another round, or another ledger row, never gives the same mask key.
open_round "$T/agg.db" "$T/roster.json" "$T/r2.json" --round-id r2 --masking bonawitz-v1 \
    --t 2 || e2e_finish
party "$T/r2.json" utrecht
run "$C" advertise "${P[@]}" --out "$T/m/adv2-utrecht.json"
party "$T/r1.json" utrecht "$T/other-utrecht.db"
run "$C" advertise "${P[@]}" --out "$T/m/adv-utrecht-other.json"
check "mask keys differ between rounds and between two ledgers of one keystore" python3 - \
    "$T/m/adv-utrecht.json" "$T/m/adv2-utrecht.json" "$T/m/adv-utrecht-other.json" <<'PYEOF'
import json, sys
keys = [json.load(open(p))["body"]["mask_pk"] for p in sys.argv[1:]]
sys.exit(0 if len(set(keys)) == 3 else 1)
PYEOF
import "$T"/m/adv-utrecht.json "$T"/m/adv-stichtse-vecht.json "$T"/m/adv-lekstroom.json \
    "$T"/m/adv-fermwerk.json "$T"/m/adv-rsd-krh.json "$T"/m/adv-uwv.json
expect_rc 0 "six advertisements"
advance r1 "$T/k"
expect_rc 0 "keys message"
share_all "$T/r1.json" r1 "$T/k" $ORGS

section "a ledger restored from a copy taken after sharing: the same submission, byte for byte"
copy_db "$T/ledger-utrecht.db" "$T/backup-utrecht.db"
party "$T/r1.json" utrecht
run "$C" submit --input "$T/in/utrecht.csv" "${P[@]}" --shares "$T/k/shares-utrecht.json" \
    --out "$T/m/sub-utrecht.json"
expect_rc 0 "submit utrecht"
copy_db "$T/backup-utrecht.db" "$T/ledger-utrecht.db"
run "$C" submit --input "$T/in/utrecht.csv" "${P[@]}" --shares "$T/k/shares-utrecht.json" \
    --out "$T/m/sub-utrecht-again.json"
expect_rc 0 "submit again from the restored ledger"
check "the two submissions are the same bytes (same masks, same noise, same date)" cmp -s \
    "$T/m/sub-utrecht.json" "$T/m/sub-utrecht-again.json"
for o in stichtse-vecht lekstroom fermwerk rsd-krh uwv; do
    party "$T/r1.json" "$o"
    run "$C" submit --input "$T/in/$o.csv" "${P[@]}" --shares "$T/k/shares-$o.json" \
        --out "$T/m/sub-$o.json"
    expect_rc 0 "submit $o"
done
import "$T"/m/sub-*.json
expect_rc 1 "the second copy is refused as a replay, the six others are stored"
expect_err_contains "sub-utrecht-again.json" "the refused one is named"
advance r1 "$T/k"
expect_rc 0 "survivors list"
check "the sealed secrets are still there before unmask" test "$(secrets_len "$T/ledger-utrecht.db" r1)" = 201

section "the secrets are wiped once the unmask message is stored"
for o in $ORGS; do
    party "$T/r1.json" "$o"
    run "$C" confirm "${P[@]}" --survivors "$T/k/survivors.json" --out "$T/m/conf-$o.json"
    expect_rc 0 "confirm $o"
done
import "$T"/m/conf-*.json
advance r1 "$T/k"
expect_rc 0 "unmask request"
party "$T/r1.json" utrecht
run "$C" unmask "${P[@]}" --request "$T/k/unmask-request.json" --out "$T/m/unm-utrecht.json"
expect_rc 0 "unmask utrecht"
check "utrecht's ledger no longer holds the secrets of r1" test -z "$(secrets_len "$T/ledger-utrecht.db" r1)"
check "nor does the write-ahead log" test ! -s "$T/ledger-utrecht.db-wal"
run "$C" unmask "${P[@]}" --request "$T/k/unmask-request.json" --out "$T/m/unm-utrecht-2.json"
expect_rc 0 "unmask again after the wipe"
check "unmasking again writes the same message" cmp -s "$T/m/unm-utrecht.json" "$T/m/unm-utrecht-2.json"

section "forget: the data officer wipes a round's secrets; later phases are refused"
party "$T/r2.json" utrecht
run "$C" forget --ledger "$T/ledger-utrecht.db" --round r2
expect_rc 0 "forget round r2"
expect_err_contains "wiped the secrets of round r2" "forget says what it did"
check "r2's secrets are gone" test -z "$(secrets_len "$T/ledger-utrecht.db" r2)"
run "$C" advertise "${P[@]}" --out "$T/m/adv2-again.json"
expect_rc 0 "the advertisement can still be written again (it is public)"
check "the same advertisement" cmp -s "$T/m/adv2-utrecht.json" "$T/m/adv2-again.json"
run "$C" share "${P[@]}" --keys "$T/k/keys.json" --out "$T/m/x.json"
expect_rc 1 "share after forget"
expect_err_contains "holds no secrets for round r2" "share names the wiped secrets"
expect_absent "$T/m/x.json" "nothing written"
run "$C" forget --ledger "$T/ledger-utrecht.db" --round r2
expect_rc 0 "forget twice"
expect_err_contains "already wiped" "the second forget says so"
run "$C" forget --ledger "$T/ledger-utrecht.db" --round nope
expect_rc 1 "forget of a round the ledger does not have"

section "restored before advertise, after advertising: detected at share; abandon"
open_round "$T/agg.db" "$T/roster.json" "$T/r3.json" --round-id r3 --masking bonawitz-v1 \
    --t 2 || e2e_finish
mkdir -p "$T/r3" "$T/k3"
copy_db "$T/ledger-utrecht.db" "$T/utrecht-before-r3.db"
copy_db "$T/ledger-stichtse-vecht.db" "$T/stichtse-before-r3.db"
for o in $ORGS; do
    party "$T/r3.json" "$o"
    run "$C" advertise "${P[@]}" --out "$T/r3/adv-$o.json"
done
import "$T"/r3/adv-*.json
expect_rc 0 "six advertisements of r3"
advance r3 "$T/k3"
copy_db "$T/utrecht-before-r3.db" "$T/ledger-utrecht.db"
before=$(db_sha "$T/ledger-utrecht.db")
party "$T/r3.json" utrecht
run "$C" share "${P[@]}" --keys "$T/k3/keys.json" --out "$T/r3/x.json"
expect_rc 1 "share with a ledger restored from before advertise"
expect_err_contains "this ledger has no record of round r3, but the coordinator holds an advertisement of utrecht" \
    "share names the restored ledger"
expect_err_contains "abandon --round r3 --ledger $T/ledger-utrecht.db" "and how to abandon"
expect_absent "$T/r3/x.json" "nothing written"
expect_db_unchanged "$T/ledger-utrecht.db" "$before" "after the refused share"
rm -f "$T/ledger-gone.db"
party "$T/r3.json" utrecht "$T/ledger-gone.db"
run "$C" share "${P[@]}" --keys "$T/k3/keys.json" --out "$T/r3/x.json"
expect_rc 1 "share with a lost ledger (a new, empty file)"
expect_err_contains "has no record of round r3" "a lost ledger is detected the same way"
expect_absent "$T/ledger-gone.db" "the refused share creates no ledger"
party "$T/r3.json" utrecht
run "$C" advertise "${P[@]}" --out "$T/r3/adv-utrecht-2.json"
expect_rc 0 "advertising again draws new secrets (the contributor cannot know yet)"
check "a different advertisement" bash -c "! cmp -s '$T/r3/adv-utrecht.json' '$T/r3/adv-utrecht-2.json'"
import "$T/r3/adv-utrecht-2.json"
expect_rc 1 "the aggregator refuses the second advertisement"
run "$C" share "${P[@]}" --keys "$T/k3/keys.json" --out "$T/r3/x.json"
expect_rc 1 "share with the new secrets against the keys message"
expect_err_contains "the coordinator holds the earlier advertisement" "the mismatch names the restore"
run "$C" abandon --ledger "$T/ledger-utrecht.db" --round r3
expect_rc 0 "abandon round r3"
expect_err_contains "round r3 is abandoned" "abandon says what it did"
check "abandoning wipes the new secrets" test -z "$(secrets_len "$T/ledger-utrecht.db" r3)"
run "$C" share "${P[@]}" --keys "$T/k3/keys.json" --out "$T/r3/x.json"
expect_rc 1 "share in an abandoned round"
expect_err_contains "round r3 was abandoned in this ledger" "share refuses the abandoned round"
run "$C" advertise "${P[@]}" --out "$T/r3/x.json"
expect_rc 1 "advertise in an abandoned round"
run "$C" status --ledger "$T/ledger-utrecht.db" --round r3
expect_out_contains "abandoned" "status shows the round abandoned"
rm -f "$T/ledger-gone.db"
run "$C" abandon --ledger "$T/ledger-gone.db" --round r3
expect_rc 0 "abandon with a lost ledger records the round in a new one"
party "$T/r3.json" utrecht "$T/ledger-gone.db"
run "$C" share "${P[@]}" --keys "$T/k3/keys.json" --out "$T/r3/x.json"
expect_rc 1 "and refuses the round after that"
expect_err_contains "was abandoned" "abandoned in the new ledger"
# The others finish r3 without utrecht (its one dropout).
share_all "$T/r3.json" r3 "$T/k3" stichtse-vecht lekstroom fermwerk rsd-krh uwv
# stichtse-vecht: a copy from before advertise, restored after sharing: detected at submit.
copy_db "$T/ledger-stichtse-vecht.db" "$T/stichtse-now.db"
copy_db "$T/stichtse-before-r3.db" "$T/ledger-stichtse-vecht.db"
party "$T/r3.json" stichtse-vecht
run "$C" submit --input "$T/in/stichtse-vecht.csv" "${P[@]}" \
    --shares "$T/k3/shares-stichtse-vecht.json" --out "$T/r3/x.json"
expect_rc 1 "submit with a ledger restored from before advertise, after sharing"
expect_err_contains "has no record of round r3, but the coordinator holds key shares of stichtse-vecht" \
    "submit names the restored ledger"
expect_absent "$T/r3/x.json" "nothing submitted"
copy_db "$T/stichtse-now.db" "$T/ledger-stichtse-vecht.db"
for o in stichtse-vecht lekstroom fermwerk rsd-krh uwv; do
    party "$T/r3.json" "$o"
    run "$C" submit --input "$T/in/$o.csv" "${P[@]}" --shares "$T/k3/shares-$o.json" \
        --out "$T/r3/sub-$o.json"
done
import "$T"/r3/sub-*.json
advance r3 "$T/k3"
for o in stichtse-vecht lekstroom fermwerk rsd-krh uwv; do
    party "$T/r3.json" "$o"
    run "$C" confirm "${P[@]}" --survivors "$T/k3/survivors.json" --out "$T/r3/conf-$o.json"
done
import "$T"/r3/conf-*.json
advance r3 "$T/k3"
for o in stichtse-vecht lekstroom fermwerk rsd-krh uwv; do
    party "$T/r3.json" "$o"
    run "$C" unmask "${P[@]}" --request "$T/k3/unmask-request.json" --out "$T/r3/unm-$o.json"
done
import "$T"/r3/unm-*.json
expect_rc 0 "r3 closes without utrecht"
expect_err_contains "closed" "closed by the fifth unmask message"

section "restores detected at confirm, and restores that are harmless"
open_round "$T/agg.db" "$T/roster.json" "$T/r4.json" --round-id r4 --masking bonawitz-v1 \
    --t 2 || e2e_finish
mkdir -p "$T/r4" "$T/k4"
copy_db "$T/ledger-lekstroom.db" "$T/lek-before.db"
for o in $ORGS; do
    party "$T/r4.json" "$o"
    run "$C" advertise "${P[@]}" --out "$T/r4/adv-$o.json"
done
import "$T"/r4/adv-*.json
advance r4 "$T/k4"
copy_db "$T/ledger-fermwerk.db" "$T/ferm-advertised.db"
share_all "$T/r4.json" r4 "$T/k4" $ORGS
# fermwerk: a copy from after advertise, restored after sharing: submit says to share again,
# which writes the same share message, and goes on.
copy_db "$T/ferm-advertised.db" "$T/ledger-fermwerk.db"
party "$T/r4.json" fermwerk
run "$C" submit --input "$T/in/fermwerk.csv" "${P[@]}" --shares "$T/k4/shares-fermwerk.json" \
    --out "$T/r4/x.json"
expect_rc 1 "submit with a ledger restored from between advertise and share"
expect_err_contains "names a share message of fermwerk for round r4 that this ledger has no record of" \
    "submit names the missing share message"
expect_err_contains "Run share again" "and what to do"
run "$C" share "${P[@]}" --keys "$T/k4/keys.json" --out "$T/r4/share-fermwerk-again.json"
expect_rc 0 "share again from the restored ledger"
check "the same share message, byte for byte" cmp -s "$T/k4/share-fermwerk.json" \
    "$T/r4/share-fermwerk-again.json"
copy_db "$T/ledger-fermwerk.db" "$T/ferm-advertised.db"
for o in $ORGS; do
    party "$T/r4.json" "$o"
    run "$C" submit --input "$T/in/$o.csv" "${P[@]}" --shares "$T/k4/shares-$o.json" \
        --out "$T/r4/sub-$o.json"
done
import "$T"/r4/sub-*.json
expect_rc 0 "six submissions of r4"
advance r4 "$T/k4"
# lekstroom: a copy from before advertise, restored after submitting.
copy_db "$T/ledger-lekstroom.db" "$T/lek-now.db"
copy_db "$T/lek-before.db" "$T/ledger-lekstroom.db"
party "$T/r4.json" lekstroom
run "$C" confirm "${P[@]}" --survivors "$T/k4/survivors.json" --out "$T/r4/x.json"
expect_rc 1 "confirm with a ledger restored from before advertise"
expect_err_contains "has no record of round r4, but the coordinator holds a submission of lekstroom" \
    "confirm names the restored ledger"
expect_absent "$T/r4/x.json" "nothing confirmed"
copy_db "$T/lek-now.db" "$T/ledger-lekstroom.db"
# fermwerk: a copy from after sharing, restored after submitting: it submits again, the same
# bytes, and goes on.
copy_db "$T/ferm-advertised.db" "$T/ledger-fermwerk.db"
party "$T/r4.json" fermwerk
run "$C" confirm "${P[@]}" --survivors "$T/k4/survivors.json" --out "$T/r4/x.json"
expect_rc 1 "confirm with a ledger restored from between share and submit"
expect_err_contains "names a submission of fermwerk for round r4 that this ledger has no record of" \
    "confirm names the missing submission"
expect_err_contains "Run submit again" "and what to do"
run "$C" submit --input "$T/in/fermwerk.csv" "${P[@]}" --shares "$T/k4/shares-fermwerk.json" \
    --out "$T/r4/sub-fermwerk-again.json"
expect_rc 0 "submit again from the restored ledger"
check "the same submission, byte for byte" cmp -s "$T/r4/sub-fermwerk.json" \
    "$T/r4/sub-fermwerk-again.json"
for o in $ORGS; do
    party "$T/r4.json" "$o"
    run "$C" confirm "${P[@]}" --survivors "$T/k4/survivors.json" --out "$T/r4/conf-$o.json"
    expect_rc 0 "confirm $o in r4"
done
import "$T"/r4/conf-*.json
advance r4 "$T/k4"
copy_db "$T/ledger-rsd-krh.db" "$T/rsd-confirmed.db"
for o in $ORGS; do
    party "$T/r4.json" "$o"
    run "$C" unmask "${P[@]}" --request "$T/k4/unmask-request.json" --out "$T/r4/unm-$o.json"
done
# rsd-krh: a copy from after confirm, restored after unmasking: unmasking again is the same
# message (the sealed secrets are still in the copy; the shares are the same).
copy_db "$T/rsd-confirmed.db" "$T/ledger-rsd-krh.db"
party "$T/r4.json" rsd-krh
run "$C" unmask "${P[@]}" --request "$T/k4/unmask-request.json" --out "$T/r4/unm-rsd-again.json"
expect_rc 0 "unmask again from the restored ledger"
check "the same unmask message, byte for byte" cmp -s "$T/r4/unm-rsd-krh.json" \
    "$T/r4/unm-rsd-again.json"
import "$T"/r4/unm-*.json
run "$A" publish --db "$T/agg.db" "${CK[@]}" --round r4 --out-dir "$T/rel4"
expect_rc 0 "r4 closes and publishes"
run "$AU" verify --ca "$T/ca/ca.pem" "${CP[@]}" "$T/rel4"
expect_rc 0 "the auditor verifies r4"
e2e_finish
