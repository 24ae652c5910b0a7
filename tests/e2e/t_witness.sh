#!/usr/bin/env bash
# Contributors witness the region's transparency log: before a submission is recorded or sent
# they cosign the log's latest checkpoint, after checking it extends the one they cosigned
# before. A coordinator that shows an organisation another history (a fork: a second log under
# the same key with other entries) is refused, both checkpoints are printed, and neither the
# ledger nor the log changes. An auditor requiring every organisation's cosignature sees them.
. "$(dirname "$0")/lib.sh"

make_catalogue "$T/cat.json"
setup_keys || e2e_finish
make_roster "$T/roster.json" "$T/keys/coord.key" || e2e_finish
for o in $ORGS; do make_export "$T/in/$o.csv" "$o"; done
L=$T/log
open_round "$T/agg.db" "$T/roster.json" "$T/round.json" --log-dir "$L" || e2e_finish

section "every organisation witnesses the log as it submits"
mkdir -p "$T/sub"
for o in $ORGS; do
    submit "$o" "$T/in/$o.csv" "$T/round.json" "$T/sub/$o.json" "$T/ledger-$o.db" --log-dir "$L"
    expect_rc 0 "$o submits, witnessing the log"
done
expect_err_contains "witnessed the log" "the data officer is told"
w=()
for o in $ORGS; do w+=(--witness-key "$T/keys/$o.pub"); done
run "$AU" log verify --log-dir "$L" --coordinator-key "$T/keys/coord.pub" "${w[@]}" --min-cosigners 6
expect_rc 0 "the checkpoint of the open round is cosigned by all six"
expect_out_contains "cosigned by 6 of 6" "all six cosigned"

section "a fork: the coordinator shows utrecht another history under the same key"
# A second store and log: the same coordinator key and origin, another round at the same size.
open_round "$T/agg2.db" "$T/roster.json" "$T/round2.json" --log-dir "$T/fork" --round-id other \
    || e2e_finish
led=$(db_sha "$T/ledger-utrecht.db")
cp_before=$(sha "$T/fork/checkpoint")
run "$C" witness --log-dir "$T/fork" --coordinator-key "$T/keys/coord.pub" \
    --key "$T/keys/utrecht.key" --insecure-plaintext-key --ledger "$T/ledger-utrecht.db"
expect_rc 1 "utrecht refuses the forked log"
expect_err_contains "FORK" "the refusal says fork"
expect_err_contains "cosigned before:" "the checkpoint cosigned before is printed"
expect_err_contains "the log's latest checkpoint:" "the forked checkpoint is printed"
expect_db_unchanged "$T/ledger-utrecht.db" "$led" "a refused fork"
expect_sha "$T/fork/checkpoint" "$cp_before" "the forked log gets no cosignature"

section "the real log still extends what utrecht cosigned"
finish_round || e2e_finish
run "$A" log append --log-dir "$L" --key "$T/keys/coord.key" --insecure-plaintext-key "$T/rel"
run "$C" witness --log-dir "$L" --coordinator-key "$T/keys/coord.pub" \
    --key "$T/keys/utrecht.key" --insecure-plaintext-key --ledger "$T/ledger-utrecht.db"
expect_rc 0 "utrecht cosigns the grown log (consistency from its last checkpoint)"

section "a log not signed by the coordinator"
cp -r "$L" "$T/stranger"
run "$A" keygen --org coordinator --secret-key "$T/keys/evil.key" --public-key "$T/keys/evil.pub" \
    --insecure-plaintext-key
run "$C" witness --log-dir "$T/stranger" --coordinator-key "$T/keys/evil.pub" \
    --key "$T/keys/uwv.key" --insecure-plaintext-key --ledger "$T/ledger-uwv.db"
expect_rc 1 "a checkpoint that the trusted coordinator key did not sign is refused"
expect_err_contains "not signed by the coordinator" "reason"
e2e_finish
