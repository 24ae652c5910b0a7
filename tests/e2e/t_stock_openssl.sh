#!/usr/bin/env bash
# The stock-openssl recipe of docs/guide-auditor.md, run exactly as written (the block between
# its marker comments) on a release published with --cms-cert/--cms-key and --log-dir: it
# passes, and fails after a one-byte edit of release.json. Test certificates come from
# tools/test-ca (stock openssl commands).
. "$(dirname "$0")/lib.sh"
command -v openssl >/dev/null 2>&1 || { echo "t_stock_openssl: openssl is required" >&2; exit 2; }

GUIDE=$REPO_DIR/docs/guide-auditor.md
RECIPE=$T/recipe.sh
sed -n '/<!-- stock-openssl-recipe:begin -->/,/<!-- stock-openssl-recipe:end -->/p' "$GUIDE" |
    sed '1,2d;$d' | sed '$d' >"$RECIPE"
check "the recipe was extracted" grep -q '^openssl cms -verify' "$RECIPE"

setup_round || e2e_finish # makes the region's test CA in $T/ca too
run "$REPO_DIR/tools/test-ca" issue "$T/ca" coordinator 00000001003214345000
expect_rc 0 "test-ca issue"
check "the key file is mode 0600" test "$(stat -c %a "$T/ca/coordinator.key")" = 600
check "the subject carries the OIN" bash -c \
    'openssl x509 -in "$1" -noout -subject -nameopt sep_comma_plus,sname | grep -q "organizationIdentifier=00000001003214345000.*serialNumber=00000001003214345000"' \
    _ "$T/ca/coordinator.pem"

submit_all "$T/sub" || e2e_finish
run "$A" round import --db "$T/agg.db" --coordinator-key "$T/keys/coord.pub" "$T"/sub/*.json
run "$A" round close --db "$T/agg.db" --coordinator-key "$T/keys/coord.pub"
run "$A" publish --db "$T/agg.db" --key "$T/keys/coord.key" --insecure-plaintext-key \
    --out-dir "$T/rel" --log-dir "$T/tlog" --cms-cert "$T/ca/coordinator.pem" \
    --cms-key "$T/ca/coordinator.key"
expect_rc 0 "publish with a CMS signature and the log"
expect_present "$T/rel/release.json.p7s" "detached CMS signature"
expect_present "$T/rel/chain.pem" "certificate chain"

# recipe DIR: the block verbatim, in DIR, with the CA and the log at hand
recipe() {
    cp "$T/ca/ca.pem" "$1/ca.pem"
    run env LOG="$T/tlog" sh -ec "cd '$1' && . '$RECIPE'"
}

recipe "$T/rel"
expect_rc 0 "the guide's recipe on the published release"
expect_err_contains "CMS Verification successful" "openssl cms"
leaf=$( { printf '\000'; cat "$T/tlog/entries/00000008"; } | openssl dgst -sha256 -r | cut -d' ' -f1)
expect_out_contains "$leaf" "the release's leaf hash is printed"

rm -rf "$T/edited"
cp -r "$T/rel" "$T/edited"
python3 - "$T/edited/release.json" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
i = b.index(b'"published":"') + len('"published":"')
b[i] = ord("1") if b[i] != ord("1") else ord("2")   # one byte of the publication date
open(p, "wb").write(bytes(b))
PY
check "exactly one byte differs" test "$(cmp -l "$T/rel/release.json" "$T/edited/release.json" | wc -l)" = 1
recipe "$T/edited"
check "the recipe on a release with one byte edited fails (exit $RC)" test "$RC" -ne 0
expect_err_contains "CMS Verification failure" "openssl cms refuses it"
# The log steps alone (from "# 2." on) refuse it too: no entry names its hash.
sed -n '/^# 2\./,$p' "$RECIPE" >"$T/recipe-log.sh"
check "the log steps were extracted" grep -q 'grep -l' "$T/recipe-log.sh"
run env LOG="$T/tlog" sh -ec "cd '$T/edited' && . '$T/recipe-log.sh'"
check "the log steps on the edited release fail (exit $RC)" test "$RC" -ne 0
run env LOG="$T/tlog" sh -ec "cd '$T/rel' && . '$T/recipe-log.sh'"
expect_rc 0 "the log steps on the published release pass"

# The auditor checks the same signature with --ca.
run "$AU" verify --coordinator-key "$T/keys/coord.pub" --ca "$T/ca/ca.pem" "$T/rel"
expect_rc 0 "auditor verify --ca"
expect_out_contains "release.json.p7s is a CMS signature" "auditor verify --ca"
cp "$T/rel/release.json.p7s" "$T/edited/"
run "$AU" verify --coordinator-key "$T/keys/coord.pub" --ca "$T/ca/ca.pem" "$T/edited"
expect_rc 1 "auditor verify --ca of the edited release"
expect_err_contains "does not verify" "auditor verify --ca of the edited release"

# Another CA is refused.
run "$REPO_DIR/tools/test-ca" init "$T/ca2"
cp "$T/ca2/ca.pem" "$T/rel/ca.pem"
run sh -c "cd '$T/rel' && openssl cms -verify -binary -inform DER -in release.json.p7s -content release.json -CAfile ca.pem -out /dev/null"
expect_rc 4 "a certificate of another CA is refused by openssl"

e2e_finish
