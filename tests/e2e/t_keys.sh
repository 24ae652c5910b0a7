#!/usr/bin/env bash
# Key handling: an encrypted keystore is private (0600) and needs the right passphrase; a
# plaintext key needs --insecure-plaintext-key; keygen never overwrites a key; a secret key
# readable by others is refused.
. "$(dirname "$0")/lib.sh"

make_catalogue "$T/cat.json"
setup_keys || e2e_finish
for o in $ORGS; do make_export "$T/in/$o.csv" "$o"; done
PASS_OK=e2e-correct-horse-battery
mkdir -p "$T/enc"

section "encrypted keystore"
MIJLPAAL_PASSPHRASE=$PASS_OK run "$C" keygen --org utrecht --secret-key "$T/enc/utrecht.key" \
    --public-key "$T/enc/utrecht.pub" --kdf interactive
expect_rc 0 "keygen with a passphrase from MIJLPAAL_PASSPHRASE"
mode=$(stat -c %a "$T/enc/utrecht.key")
check "the encrypted keystore has mode 0600 (found $mode)" [ "$mode" = 600 ]
check "the keystore does not contain the passphrase" bash -c '! grep -qaF "$1" "$2"' _ "$PASS_OK" "$T/enc/utrecht.key"
check "the keystore says it is encrypted" grep -q "encrypted" "$T/enc/utrecht.key"
check "the public key file is written" [ -s "$T/enc/utrecht.pub" ]

# A roster and round with the encrypted key enrolled for utrecht.
for o in $ORGS; do
    [ "$o" = utrecht ] || cp -p "$T/keys/$o.pub" "$T/keys/$o.key" "$T/keys/$o.binding.json" "$T/enc/"
done
MIJLPAAL_PASSPHRASE=$PASS_OK make_roster "$T/roster.json" "$T/keys/coord.key" "$T/enc"
open_round "$T/agg.db" "$T/roster.json" "$T/round.json"
sargs=(--input "$T/in/utrecht.csv" --roster "$T/roster.json" --round "$T/round.json"
    --policy "$T/policies/utrecht.json"
    --coordinator-key "$T/keys/coord.pub" --key "$T/enc/utrecht.key")

MIJLPAAL_PASSPHRASE=not-the-passphrase run "$C" submit "${sargs[@]}" \
    --ledger "$T/ledger-wrong.db" --out "$T/sub-wrong.json"
expect_rc 2 "submit with the wrong passphrase"
expect_err_contains "wrong passphrase" "submit with the wrong passphrase"
expect_absent "$T/sub-wrong.json" "wrong passphrase"

printf '%s\n' "$PASS_OK" >"$T/enc/pass.txt"
chmod 600 "$T/enc/pass.txt"
run "$C" submit "${sargs[@]}" --passphrase-file "$T/enc/pass.txt" \
    --ledger "$T/ledger-utrecht.db" --out "$T/sub-utrecht.json"
expect_rc 0 "submit with the right passphrase (--passphrase-file)"
expect_present "$T/sub-utrecht.json" "submit with the encrypted key"

section "plaintext keys need --insecure-plaintext-key"
run "$C" submit --input "$T/in/stichtse-vecht.csv" --roster "$T/roster.json" --round "$T/round.json" \
    --coordinator-key "$T/keys/coord.pub" --key "$T/keys/stichtse-vecht.key" \
    --policy "$T/policies/stichtse-vecht.json" --ledger "$T/ledger-sv.db" --out "$T/sub-sv.json" </dev/null
check "contributor refuses a plaintext key without the flag (exit $RC)" [ "$RC" -ne 0 ]
expect_err_contains "--insecure-plaintext-key" "contributor plaintext key"
expect_absent "$T/sub-sv.json" "plaintext key refused"
run "$A" publish --db "$T/agg.db" --key "$T/keys/coord.key" --out-dir "$T/rel" </dev/null
check "aggregator refuses a plaintext key without the flag (exit $RC)" [ "$RC" -ne 0 ]
expect_err_contains "--insecure-plaintext-key" "aggregator plaintext key"
run "$A" round open --db "$T/agg2.db" --roster "$T/roster.json" --catalogue "$T/cat.json" \
    --period "$PERIOD" --deadline "$DEADLINE" --rho 1 --series-rho 1000 --key "$T/keys/coord.key" \
    --out "$T/round2.json" </dev/null
check "round open refuses a plaintext key without the flag (exit $RC)" [ "$RC" -ne 0 ]
expect_absent "$T/round2.json" "round open with a plaintext key"

section "keygen never overwrites"
sha_utrecht_key=$(sha "$T/enc/utrecht.key")
sha_utrecht_pub=$(sha "$T/enc/utrecht.pub")
MIJLPAAL_PASSPHRASE=$PASS_OK run "$C" keygen --org utrecht --secret-key "$T/enc/utrecht.key" \
    --public-key "$T/enc/new.pub" --kdf interactive
check "contributor keygen onto an existing secret key is refused (exit $RC)" [ "$RC" -ne 0 ]
expect_sha "$T/enc/utrecht.key" "$sha_utrecht_key" "existing secret key"
expect_absent "$T/enc/new.pub" "refused keygen"
MIJLPAAL_PASSPHRASE=$PASS_OK run "$C" keygen --org utrecht --secret-key "$T/enc/new.key" \
    --public-key "$T/enc/utrecht.pub" --kdf interactive
check "contributor keygen onto an existing public key is refused (exit $RC)" [ "$RC" -ne 0 ]
expect_sha "$T/enc/utrecht.pub" "$sha_utrecht_pub" "existing public key"
expect_absent "$T/enc/new.key" "refused keygen"
coord_sha=$(sha "$T/keys/coord.key")
run "$A" keygen --org coordinator --secret-key "$T/keys/coord.key" --public-key "$T/keys/c2.pub" \
    --insecure-plaintext-key
check "aggregator keygen onto an existing secret key is refused (exit $RC)" [ "$RC" -ne 0 ]
expect_sha "$T/keys/coord.key" "$coord_sha" "existing coordinator key"

section "a secret key readable by others"
cp "$T/keys/lekstroom.key" "$T/lek644.key"
chmod 644 "$T/lek644.key"
run "$C" submit --input "$T/in/lekstroom.csv" --roster "$T/roster.json" --round "$T/round.json" \
    --coordinator-key "$T/keys/coord.pub" --key "$T/lek644.key" --insecure-plaintext-key \
    --policy "$T/policies/lekstroom.json" --ledger "$T/ledger-lek.db" --out "$T/sub-lek.json"
check "a secret key with mode 0644 is refused (exit $RC)" [ "$RC" -ne 0 ]
expect_err_contains "chmod 600" "mode 0644"
expect_absent "$T/sub-lek.json" "mode 0644"
chmod 640 "$T/lek644.key"
run "$C" submit --input "$T/in/lekstroom.csv" --roster "$T/roster.json" --round "$T/round.json" \
    --coordinator-key "$T/keys/coord.pub" --key "$T/lek644.key" --insecure-plaintext-key \
    --policy "$T/policies/lekstroom.json" --ledger "$T/ledger-lek.db" --out "$T/sub-lek.json"
check "a secret key with mode 0640 is refused (exit $RC)" [ "$RC" -ne 0 ]
expect_err_contains "chmod 600" "mode 0640"
cp "$T/keys/coord.key" "$T/coord644.key"
chmod 644 "$T/coord644.key"
run "$A" publish --db "$T/agg.db" --key "$T/coord644.key" --insecure-plaintext-key --out-dir "$T/rel"
check "the aggregator refuses a coordinator key with mode 0644 (exit $RC)" [ "$RC" -ne 0 ]
expect_err_contains "chmod 600" "coordinator key mode 0644"

e2e_finish
