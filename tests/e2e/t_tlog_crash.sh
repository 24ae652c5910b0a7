#!/usr/bin/env bash
# A log append killed (SIGKILL) at every point leaves the old checkpoint or the new one: the
# log then verifies at its old or its new size, or (killed between flushing the new history
# file and renaming the checkpoint) is refused with the instruction to append again; appending
# again always completes, with the very checkpoint an uninterrupted append writes.
. "$(dirname "$0")/lib.sh"

full_round || e2e_finish
CK=$T/keys/coord.pub
append() { # append LOGDIR
    "$A" log append --log-dir "$1" --key "$T/keys/coord.key" --insecure-plaintext-key "$T/rel"
}
run append "$T/ref"
expect_rc 0 "an uninterrupted append"
# Each log starts with a first checkpoint of 2 entries: the roster and round logged by round
# open. With the clock fixed (MIJLPAAL_NOW) and the parameters of the published round, that
# round.json is the release's byte for byte (Ed25519 is deterministic), so the append adds the
# other 7 documents and the log grows from 2 to 9 entries.
mkdir -p "$T/open"

states=""
for us in 0 1000 2000 3000 4000 5000 6000 7000 8000 10000 12000 15000 20000 30000; do
    L=$T/log-$us
    rm -rf "$L"
    run "$A" round open --db "$T/agg-$us.db" --roster "$T/rel/roster.json" --catalogue "$T/cat.json" \
        --period "$PERIOD" --deadline "$DEADLINE" --rho 1 --series-rho 1000 --key "$T/keys/coord.key" \
        --insecure-plaintext-key --out "$T/open/round-$us.json" --round-id "$ROUND_ID" --log-dir "$L"
    check "the opened round is the published one" cmp -s "$T/open/round-$us.json" "$T/rel/round.json"
    kill_after "$us" "$A" log append --log-dir "$L" --key "$T/keys/coord.key" \
        --insecure-plaintext-key "$T/rel"
    run "$AU" log verify --log-dir "$L" --coordinator-key "$CK"
    if [ "$RC" -eq 0 ]; then
        size=$(sed -n 2p "$L/checkpoint")
        states="$states $size"
        pass "killed after ${us}us: the log verifies at size $size"
    elif grep -q "appending again repairs" "$ERR"; then
        states="$states between"
        pass "killed after ${us}us: between the flush and the rename, the auditor says to append again"
    else
        fail "killed after ${us}us: the log is broken"
        show_output
    fi
    run append "$L"
    expect_rc 0 "killed after ${us}us: appending again completes"
    run "$AU" log verify --log-dir "$L" --coordinator-key "$CK"
    expect_rc 0 "killed after ${us}us: the repaired log verifies"
    check "killed after ${us}us: the repaired checkpoint is the uninterrupted one" \
        cmp -s "$L/checkpoints/00000009" "$T/ref/checkpoint"
    check "killed after ${us}us: the release is in the repaired log" \
        grep -q "^mijlpaal-log-entry/v1 release $(sha "$T/rel/release.json") " -r "$L/entries"
done
echo "  states seen after the kills:$states"

e2e_finish
