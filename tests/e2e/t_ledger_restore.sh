#!/usr/bin/env bash
# bonawitz-v1 per-round secrets in the contributor's ledger, with the real programs: drawn at
# advertise and sealed in the ledger (never in the clear, never in a message), read back by
# every later phase, wiped once the unmask message is stored or on `forget`; a ledger restored
# from a copy taken after advertise makes the byte-identical submission again (the noise comes
# from the sealed noise seed), so restoring it there is harmless.
. "$(dirname "$0")/lib.sh"

make_catalogue "$T/cat.json"
setup_keys || e2e_finish
make_roster "$T/roster.json" "$T/keys/coord.key" || e2e_finish
for o in $ORGS; do make_export "$T/in/$o.csv" "$o"; done
CK=(--key "$T/keys/coord.key" --insecure-plaintext-key)
CP=(--coordinator-key "$T/keys/coord.pub")
party() { # party ROUNDFILE ORG [LEDGER]
    P=(--roster "$T/roster.json" --round "$1" --coordinator-key "$T/keys/coord.pub"
        --key "$T/keys/$2.key" --insecure-plaintext-key --ledger "${3:-$T/ledger-$2.db}")
}
import() { run "$A" round import --db "$T/agg.db" "${CP[@]}" "$@"; }
advance() { run "$A" round advance --db "$T/agg.db" "${CK[@]}" --round "$1" --out-dir "$2"; }
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
check "the sealed secrets are 169 bytes in the ledger" test "$(secrets_len "$T/ledger-utrecht.db" r1)" = 169
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
expect_rc 0 "keys messages"

section "a ledger restored from a copy taken after advertise: the same submission, byte for byte"
copy_db "$T/ledger-utrecht.db" "$T/backup-utrecht.db"
party "$T/r1.json" utrecht
run "$C" submit --input "$T/in/utrecht.csv" "${P[@]}" --keys "$T/k/keys-utrecht.json" \
    --out "$T/m/sub-utrecht.json"
expect_rc 0 "submit utrecht"
copy_db "$T/backup-utrecht.db" "$T/ledger-utrecht.db"
run "$C" submit --input "$T/in/utrecht.csv" "${P[@]}" --keys "$T/k/keys-utrecht.json" \
    --out "$T/m/sub-utrecht-again.json"
expect_rc 0 "submit again from the restored ledger"
check "the two submissions are the same bytes (same masks, same noise, same date)" cmp -s \
    "$T/m/sub-utrecht.json" "$T/m/sub-utrecht-again.json"
for o in stichtse-vecht lekstroom fermwerk rsd-krh uwv; do
    party "$T/r1.json" "$o"
    run "$C" submit --input "$T/in/$o.csv" "${P[@]}" --keys "$T/k/keys-$o.json" \
        --out "$T/m/sub-$o.json"
    expect_rc 0 "submit $o"
done
import "$T"/m/sub-*.json
expect_rc 1 "the second copy is refused as a replay, the six others are stored"
expect_err_contains "sub-utrecht-again.json" "the refused one is named"
advance r1 "$T/k"
expect_rc 0 "survivors list"
check "the sealed secrets are still there before unmask" test "$(secrets_len "$T/ledger-utrecht.db" r1)" = 169

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
run "$C" submit --input "$T/in/utrecht.csv" "${P[@]}" --keys "$T/k/keys-utrecht.json" \
    --out "$T/m/x.json"
expect_rc 1 "submit after forget"
expect_err_contains "holds no secrets for round r2" "submit names the wiped secrets"
expect_absent "$T/m/x.json" "nothing written"
run "$C" forget --ledger "$T/ledger-utrecht.db" --round r2
expect_rc 0 "forget twice"
expect_err_contains "already wiped" "the second forget says so"
run "$C" forget --ledger "$T/ledger-utrecht.db" --round nope
expect_rc 1 "forget of a round the ledger does not have"

e2e_finish
