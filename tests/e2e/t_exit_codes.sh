#!/usr/bin/env bash
# Exit codes (README): 1 when the input is refused (a forged signature, an altered document),
# 2 when the system fails (a path that cannot be read or written, a directory where a file is
# expected): a script must be able to tell "the release is false" from "try again". And --json
# output stays valid JSON whatever the names in it (a directory with a quote and a backslash).
. "$(dirname "$0")/lib.sh"

full_round || e2e_finish
CK=$T/keys/coord.pub

# copy NAME: a fresh copy of the release in $T/NAME (echoes its path)
copy() {
    rm -rf "${T:?}/$1"
    cp -r "$T/rel" "$T/$1"
    echo "$T/$1"
}

section "auditor: refused (1) versus system (2)"
run "$AU" verify --ca "$T/ca/ca.pem" --coordinator-key "$CK" "$T/rel"
expect_rc 0 "the untouched release verifies"

d=$(copy forged)
python3 - "$d/release.json" <<'PY'
import base64, json, sys
p = sys.argv[1]
env = json.load(open(p))
sig = bytearray(base64.b64decode(env["sig"]))
sig[0] ^= 1
env["sig"] = base64.b64encode(bytes(sig)).decode()
open(p, "w").write(json.dumps(env, separators=(",", ":")))
PY
run "$AU" verify --ca "$T/ca/ca.pem" --coordinator-key "$CK" "$d"
expect_rc 1 "a forged release signature is refused"

d=$(copy dir-for-file)
rm "$d/submissions/lekstroom.json"
mkdir "$d/submissions/lekstroom.json"
run "$AU" verify --ca "$T/ca/ca.pem" --coordinator-key "$CK" "$d"
expect_rc 2 "a directory where a submission file is expected is a system error"
expect_err_contains "not a regular file" "and says so"

d=$(copy missing)
rm "$d/submissions/lekstroom.json"
run "$AU" verify --ca "$T/ca/ca.pem" --coordinator-key "$CK" "$d"
expect_rc 1 "a submission missing from the release is refused"
expect_err_contains "missing from the release directory" "and says so"

run "$AU" verify --ca "$T/ca/ca.pem" --coordinator-key "$CK" --json "$d"
expect_rc 1 "--json: refused"
check "--json: the refusal is valid JSON naming the failure" python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
assert j["verified"] is False and "missing" in j["failure"], j' "$OUT"

section "aggregator and contributor: a path that cannot be written"
run "$A" keygen --org coordinator --secret-key "$T/rel/release.json/c.key" \
    --public-key "$T/rel/release.json/c.pub" --insecure-plaintext-key
expect_rc 2 "aggregator keygen under a file (not a directory) is a system error"
run "$C" keygen --org utrecht --secret-key "$T/no/such/dir/u.key" --public-key "$T/no/such/dir/u.pub" \
    --insecure-plaintext-key
expect_rc 2 "keygen into a missing directory is a system error"
run "$A" round import --db "$T/agg.db" --coordinator-key "$CK" "$T/sub"
expect_rc 2 "importing a directory as a submission file is a system error"

section "--json: names with a quote and a backslash"
W="$T/we\"ird\\dir"
run "$A" publish --db "$T/agg.db" --key "$T/keys/coord.key" --insecure-plaintext-key \
    --out-dir "$W" --json
expect_rc 0 "publish into a directory whose name has a quote and a backslash"
check "publish --json is valid JSON naming that directory" python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
assert j["out_dir"] == sys.argv[2], (j, sys.argv[2])' "$OUT" "$W"
run "$AU" verify --ca "$T/ca/ca.pem" --coordinator-key "$CK" --json "$W"
expect_rc 0 "the release there verifies"
check "auditor --json is valid JSON" python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
assert j["verified"] is True and j["submissions"] == 6, j' "$OUT"
rm "$W/release.csv"
run "$AU" verify --ca "$T/ca/ca.pem" --coordinator-key "$CK" --json "$W"
expect_rc 1 "without release.csv it is refused"
check "the refusal is valid JSON naming the path" python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
assert j["verified"] is False and sys.argv[2] in j["failure"], j' "$OUT" "$W"
for cmd in "round status" log; do
    # shellcheck disable=SC2086
    run "$A" $cmd --db "$T/agg.db" --coordinator-key "$CK" --json
    expect_rc 0 "$cmd --json"
    check "$cmd --json: every line is a JSON object" python3 -c '
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert lines and all(isinstance(json.loads(l), dict) for l in lines)' "$OUT"
done
run "$C" ledger --ledger "$T/ledger-utrecht.db" --json
check "ledger --json: one JSON object naming the round" python3 -c '
import json, sys
j = [json.loads(l) for l in open(sys.argv[1]).read().splitlines()]
assert len(j) == 1 and j[0]["org"] == "utrecht" and j[0]["rho"], j' "$OUT"
run "$C" budget --ledger "$T/ledger-utrecht.db" --series midden-utrecht --json
check "budget --json: series, spent (a number) and cap (null)" python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
assert j["series"] == "midden-utrecht" and isinstance(j["spent"], (int, float)) and j["cap"] is None, j' "$OUT"

e2e_finish
