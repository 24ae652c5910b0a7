#!/usr/bin/env bash
# The transparency log with the real programs: publish --log-dir writes it, auditor log verify
# and verify --log-dir check it; a removed entry, an edited entry, a checkpoint signed by a
# key that is neither the coordinator's nor a witness's, a truncated or rolled-back log and a
# release whose bytes changed are each refused with a clear reason; a round opened and never
# published is named; log consistency catches two different histories.
. "$(dirname "$0")/lib.sh"

L=$T/tlog
CK=$T/keys/coord.pub
setup_round || e2e_finish
submit_all "$T/sub" || e2e_finish
run "$A" round import --db "$T/agg.db" --coordinator-key "$CK" "$T"/sub/*.json
run "$A" round close --db "$T/agg.db" --coordinator-key "$CK"
run "$A" publish --db "$T/agg.db" --key "$T/keys/coord.key" --insecure-plaintext-key \
    --out-dir "$T/rel" --log-dir "$L"
expect_rc 0 "publish --log-dir"
expect_err_contains "9 new entries" "roster, round, 6 submission hashes, release"
check "entries/00000008 holds the release" cmp -s <(tail -n +2 "$L/entries/00000008") "$T/rel/release.json"

section "untouched log"
run "$AU" log verify --log-dir "$L" --coordinator-key "$CK"
expect_rc 0 "log verify"
expect_out_contains "9 entries, 1 checkpoint(s)" "log verify summary"
run "$AU" verify --ca "$T/ca/ca.pem" --coordinator-key "$CK" --log-dir "$L" "$T/rel"
expect_rc 0 "verify --log-dir"
expect_out_contains "are in the log" "the release's inclusion"

section "publishing again adds nothing"
run "$A" log append --log-dir "$L" --key "$T/keys/coord.key" --insecure-plaintext-key "$T/rel"
expect_rc 0 "log append of a logged release"
expect_err_contains "0 new entries" "log append again"

section "a second round, opened with --log-dir and not published"
cp "$L/checkpoint" "$T/cp-9"
open_round "$T/agg.db" "$T/roster.json" "$T/round2.json" --round-id second-round --log-dir "$L"
expect_err_contains "1 new entries" "round open --log-dir logs the new round only"
run "$AU" log verify --log-dir "$L" --coordinator-key "$CK"
expect_rc 0 "log verify with an unpublished round"
expect_out_contains "2 checkpoint(s)" "history of two checkpoints"
expect_out_contains "1 consistency proof(s)" "consistency proof between them"
expect_err_contains "round second-round was opened" "the unpublished round is named"
run "$AU" log verify --log-dir "$L" --coordinator-key "$CK" --all-published
expect_rc 1 "--all-published refuses the unpublished round"
run "$AU" log verify --log-dir "$L" --coordinator-key "$CK" --json
expect_out_contains '"unpublished":["second-round"]' "json names it"
run "$AU" log consistency --log-dir "$L" --coordinator-key "$CK" "$T/cp-9" "$L/checkpoint"
expect_rc 0 "log consistency old -> new"
run "$AU" log consistency --log-dir "$L" --coordinator-key "$CK" "$L/checkpoint" "$T/cp-9"
expect_rc 1 "log consistency new -> old refused"

section "the budget recomputed over every round in the log"
# A coordinator that opens a round from a fresh store declares that nothing was spent yet;
# the log knows better (two rounds of rho 1 before it in series midden-utrecht).
cp -r "$L" "$T/budget"
open_round "$T/agg3.db" "$T/roster.json" "$T/round3.json" --round-id third-round \
    --log-dir "$T/budget"
run "$AU" log verify --log-dir "$T/budget" --coordinator-key "$CK"
expect_rc 1 "a round understating the spend of the rounds before it"
expect_err_contains "had spent rho 0, but the rounds before it in the log spent 2" "budget"
# (Over the series budget with an honest declaration cannot be opened by the aggregator;
# mp_roundlog_budget_check refuses it in the auditor all the same.)

# tampered NAME: a fresh copy of the log in $T/NAME (echoes its path)
tampered() {
    rm -rf "${T:?}/$1"
    cp -r "$L" "$T/$1"
    echo "$T/$1"
}
# refused DESCRIPTION TEXT LOGDIR [EXTRA...]: auditor log verify fails naming TEXT
refused() {
    local d=$1 text=$2 dir=$3
    shift 3
    run "$AU" log verify --log-dir "$dir" --coordinator-key "$CK" "$@"
    expect_rc 1 "$d: log verify refuses"
    expect_err_contains "$text" "$d"
    if grep -q '^OK' "$OUT"; then fail "$d: still prints OK"; else pass "$d: no OK"; fi
}

section "a removed entry"
d=$(tampered removed)
rm "$d/entries/00000003"
refused "entry 3 removed" "entries/00000003 is missing" "$d"

section "edited entries"
d=$(tampered edited)
sed -i 's/"k_min":3/"k_min":2/' "$d/entries/00000001"
check "the round's entry was edited" bash -c '! cmp -s "$1" "$2"' _ "$L/entries/00000001" "$d/entries/00000001"
refused "round entry edited" "sha256 differs" "$d"
d=$(tampered reframed)
python3 - "$d/entries/00000008" <<'EOF'
import hashlib, sys
p = sys.argv[1]
raw = open(p, "rb").read()
head, doc = raw.split(b"\n", 1)
doc = doc.replace(b'"value":', b'"value": ', 1) if b'"value":' in doc else doc + b" "
f = head.split(b" ")
f[2] = hashlib.sha256(doc).hexdigest().encode()
f[3] = str(len(doc)).encode()
open(p, "wb").write(b" ".join(f) + b"\n" + doc)
EOF
refused "release entry rewritten with a matching header" "do not hash to the root" "$d"

section "a checkpoint signed by another key"
# The same entries logged by someone else under the region's origin: the same checkpoint text,
# another signature.
mkdir -p "$T/mallory"
run "$A" keygen --org mallory --secret-key "$T/mallory/m.key" --public-key "$T/mallory/m.pub" \
    --insecure-plaintext-key
run "$A" log append --log-dir "$T/fake" --key "$T/mallory/m.key" --insecure-plaintext-key \
    --log-origin mijlpaal/midden-utrecht "$T/rel"
expect_rc 0 "mallory logs the same release"
run "$AU" log verify --log-dir "$T/fake" --coordinator-key "$CK"
expect_rc 1 "a log signed by mallory only"
expect_err_contains "not a trusted key" "mallory's log"
# Mallory's line added to the coordinator's checkpoint of the same tree.
d=$(tampered stranger)
cp "$L/checkpoints/00000009" "$d/checkpoint"
rm "$d/checkpoints/00000010"
tail -n 1 "$T/fake/checkpoint" >>"$d/checkpoint"
refused "an extra signature line of an unknown key" "not a trusted key" "$d"
# A witness key required: nobody cosigned yet.
run "$AU" log vkey --public-key "$T/keys/utrecht.pub" --witness
expect_rc 0 "log vkey --witness"
W=$(cat "$OUT")
check "vkey form" grep -qE '^utrecht\+[0-9a-f]{8}\+' "$OUT"
refused "a witness cosignature required" "cosigned by 0 witness(es), 1 required" "$L" \
    --witness-key "$W" --min-cosigners 1
run "$AU" log verify --log-dir "$L" --coordinator-key "$CK" --witness-key "$T/keys/utrecht.pub"
expect_rc 0 "a witness key given, none required"
run "$AU" verify --ca "$T/ca/ca.pem" --coordinator-key "$CK" --log-dir "$L" --witness-key "$W" --min-cosigners 1 "$T/rel"
expect_rc 1 "verify --log-dir --min-cosigners 1 with no cosignature"
run "$AU" log verify --log-dir "$L" --coordinator-key "$W"
expect_rc 2 "a witness key given as the coordinator's is a usage error"

section "truncated and rolled back"
d=$(tampered truncated)
rm "$d/entries/00000009"
refused "the last entry removed" "truncated" "$d"
d=$(tampered rolledback)
cp "$d/checkpoints/00000009" "$d/checkpoint"
refused "checkpoint rolled back to an older one" "rolled back" "$d"

section "a fork: another history of the same size"
run "$A" log append --log-dir "$T/fork" --key "$T/keys/coord.key" --insecure-plaintext-key "$T/rel"
mkdir -p "$T/other"
cp -r "$T/rel" "$T/other/rel"
printf '{"x":1}' >"$T/other/rel/survivors.json"
run "$A" log append --log-dir "$T/fork2" --key "$T/keys/coord.key" --insecure-plaintext-key \
    "$T/other/rel"
run "$AU" log consistency --log-dir "$T/fork2" --coordinator-key "$CK" "$T/fork/checkpoint" \
    "$T/fork2/checkpoint"
expect_rc 1 "a checkpoint of another history does not extend"
expect_err_contains "the two checkpoints" "both checkpoints are printed"

section "a release whose bytes changed"
rm -rf "$T/rel2"
cp -r "$T/rel" "$T/rel2"
sed -i 's/"published":"/"published":"X/' "$T/rel2/release.json"
run "$AU" verify --ca "$T/ca/ca.pem" --coordinator-key "$CK" --log-dir "$L" "$T/rel2"
expect_rc 1 "verify --log-dir of an edited release"
expect_err_contains "release.json is not in the log" "edited release"

e2e_finish
