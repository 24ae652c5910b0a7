#!/usr/bin/env bash
# Certificates as the CA decides them: a revoked certificate (with the CA's CRL configured), an
# expired one, a not-yet-valid one, and a key binding made with a certificate key that is not
# the certificate's, are each refused with a clear reason, by the contributor and the auditor;
# without a CRL a revoked certificate is not noticed, which is why the guides say to configure
# one.
. "$(dirname "$0")/lib.sh"

make_catalogue "$T/cat.json"
setup_keys || e2e_finish
make_roster "$T/roster.json" "$T/keys/coord.key" || e2e_finish
for o in $ORGS; do make_export "$T/in/$o.csv" "$o"; done
open_round "$T/agg.db" "$T/roster.json" "$T/round.json" || e2e_finish

section "a certificate key that is not the certificate's"
run "$C" certify --key "$T/keys/utrecht.key" --insecure-plaintext-key --cert "$T/ca/utrecht.pem" \
    --cert-key "$T/ca/uwv.key" --out "$T/wrong.binding.json"
expect_rc 1 "certify with another organisation's certificate key"
expect_err_contains "is not the private key of the certificate" "certify wrong key"
expect_absent "$T/wrong.binding.json" "certify wrong key"

section "revocation: the CA revoked lekstroom's certificate on 1 January 2026"
REVOKED_AT=260101000000Z "$REPO_DIR/tools/test-ca" revoke "$T/ca" lekstroom || fail "setup: revoke"
python3 - "$T/policies/utrecht.json" "$T/policies/utrecht-crl.json" "$T/ca/crl.pem" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
p["crl_file"] = sys.argv[3]
json.dump(p, open(sys.argv[2], "w"))
PY
before=$(db_sha "$T/ledger-utrecht.db" 2>/dev/null || echo none)
run "$C" check --input "$T/in/utrecht.csv" --roster "$T/roster.json" --round "$T/round.json" \
    --coordinator-key "$T/keys/coord.pub" --policy "$T/policies/utrecht-crl.json"
expect_rc 1 "with the CRL, a roster with a revoked member is refused"
expect_err_contains "lekstroom" "the revoked member is named"
expect_err_contains "certificate revoked" "the reason"
run "$C" check --input "$T/in/utrecht.csv" --roster "$T/roster.json" --round "$T/round.json" \
    --coordinator-key "$T/keys/coord.pub" --policy "$T/policies/utrecht.json"
expect_rc 0 "without a CRL the revocation is not noticed (documented)"

section "the auditor, with and without the CRL"
submit_all "$T/sub" && finish_round || e2e_finish
run "$AU" verify --ca "$T/ca/ca.pem" --coordinator-key "$T/keys/coord.pub" "$T/rel"
expect_rc 0 "without the CRL the release verifies"
run "$AU" verify --ca "$T/ca/ca.pem" --crl "$T/ca/crl.pem" --coordinator-key "$T/keys/coord.pub" "$T/rel"
expect_rc 1 "with the CRL: refused"
expect_err_contains "certificate revoked" "auditor: revoked"

section "a revocation dated after the round does not undo its release"
cp -r "$T/ca" "$T/ca-late"
sed -i -e "s|$T/ca/|$T/ca-late/|g" -e "s|= $T/ca\$|= $T/ca-late|" "$T/ca-late/ca.cnf"
sed -i 's/\t260101000000Z\t/\t261201000000Z\t/' "$T/ca-late/index.txt"
openssl ca -config "$T/ca-late/ca.cnf" -gencrl -out "$T/ca-late/crl.pem" 2>/dev/null ||
    fail "setup: late CRL"
run "$AU" verify --ca "$T/ca/ca.pem" --crl "$T/ca-late/crl.pem" --coordinator-key "$T/keys/coord.pub" "$T/rel"
expect_rc 0 "revoked on 1 December 2026, after the round opened (15 July): the release stands"

section "validity: an expired and a not-yet-valid certificate"
NOT_AFTER=20260101000000Z "$REPO_DIR/tools/test-ca" issue "$T/ca" old-utrecht "$(test_oin 1)" Utrecht
NOT_BEFORE=20270101000000Z "$REPO_DIR/tools/test-ca" issue "$T/ca" new-utrecht "$(test_oin 1)" Utrecht
for c in old new; do
    run "$C" certify --key "$T/keys/utrecht.key" --insecure-plaintext-key \
        --cert "$T/ca/$c-utrecht.pem" --cert-key "$T/ca/$c-utrecht.key" --out "$T/$c.binding.json"
    expect_rc 0 "certify with the $c certificate (the CA's dates are checked when it is used)"
    mkdir -p "$T/k-$c"
    cp -p "$T/keys"/*.key "$T/keys"/*.pub "$T/keys"/*.binding.json "$T/k-$c/"
    cp "$T/$c.binding.json" "$T/k-$c/utrecht.binding.json"
    members=()
    for o in $ORGS; do members+=(--member "$T/k-$c/$o.binding.json"); done
    run "$A" roster draft --region "$REGION" --ca "$T/ca/ca.pem" --key "$T/keys/coord.key" \
        --insecure-plaintext-key "${members[@]}" --out "$T/draft-$c.json"
    expect_rc 1 "the aggregator refuses to draft a roster with the $c certificate"
done
expect_err_contains "certificate is not yet valid" "not yet valid"
e2e_finish
