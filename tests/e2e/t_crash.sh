#!/usr/bin/env bash
# Nothing lost: the aggregator is killed (SIGKILL) at arbitrary moments while importing and
# while publishing. After every kill the store is intact and in either the old or the new
# state, the release directory is either absent or complete (never present for a round that is
# not published), and running the command again resumes the round to the same end: a release
# the auditor verifies.
. "$(dirname "$0")/lib.sh"

setup_round || e2e_finish
submit_all "$T/sub" || e2e_finish

state_of() { # state_of DB: the round's state and number of submissions, as "state:n"
    "$A" round status --db "$1" --coordinator-key "$T/keys/coord.pub" --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
print("%s:%d" % (d["state"], len(d["submitted"])))'
}

section "killed while importing"
cp "$T/agg.db" "$T/base.db"
bad=0
for delay in 500 1500 3000 5000 8000 12000 20000 40000; do
    rm -f "$T/c.db" "$T/c.db-wal" "$T/c.db-shm"
    cp "$T/base.db" "$T/c.db"
    kill_after "$delay" "$A" round import --db "$T/c.db" --coordinator-key "$T/keys/coord.pub" \
        "$T"/sub/*.json
    integrity "$T/c.db" || { bad=1; echo "       integrity failed after ${delay}us"; }
    s=$(state_of "$T/c.db")
    case $s in open:[0-6]) ;; *) bad=1; echo "       unexpected state $s after ${delay}us" ;; esac
    # Resume: import everything again; what was stored is refused as a duplicate, the rest lands.
    "$A" round import --db "$T/c.db" --coordinator-key "$T/keys/coord.pub" "$T"/sub/*.json \
        >/dev/null 2>&1
    [ "$(state_of "$T/c.db")" = "open:6" ] || { bad=1; echo "       resume failed after ${delay}us"; }
done
check "after a kill at any of 8 moments the store is intact and a re-import completes it" \
    [ "$bad" -eq 0 ]

section "killed while publishing"
run "$A" round import --db "$T/agg.db" --coordinator-key "$T/keys/coord.pub" "$T"/sub/*.json
run "$A" round close --db "$T/agg.db" --coordinator-key "$T/keys/coord.pub"
expect_rc 0 "round closed"
cp "$T/agg.db" "$T/closed.db"
bad=0
published=0
for delay in 500 2000 4000 6000 9000 13000 20000 40000; do
    rm -rf "$T/c.db" "$T/c.db-wal" "$T/c.db-shm" "$T/rel-c" "$T"/rel-c.tmp.*
    cp "$T/closed.db" "$T/c.db"
    kill_after "$delay" "$A" publish --db "$T/c.db" --key "$T/keys/coord.key" \
        --insecure-plaintext-key --out-dir "$T/rel-c"
    integrity "$T/c.db" || { bad=1; echo "       integrity failed after ${delay}us"; }
    s=$(state_of "$T/c.db")
    case $s in
    closed:6)
        [ ! -e "$T/rel-c" ] || { bad=1; echo "       closed but a release directory exists"; } ;;
    published:6)
        published=$((published + 1))
        # Killed after the commit but before the files were in place: publish writes them
        # again from the stored release.
        [ -e "$T/rel-c" ] || "$A" publish --db "$T/c.db" --key "$T/keys/coord.key" \
            --insecure-plaintext-key --out-dir "$T/rel-c" >/dev/null 2>&1
        "$AU" verify --ca "$T/ca/ca.pem" --coordinator-key "$T/keys/coord.pub" "$T/rel-c" >/dev/null 2>&1 ||
            { bad=1; echo "       published but the release does not verify (${delay}us)"; } ;;
    *) bad=1; echo "       unexpected state $s after ${delay}us" ;;
    esac
    if [ "$s" = "closed:6" ]; then
        "$A" publish --db "$T/c.db" --key "$T/keys/coord.key" --insecure-plaintext-key \
            --out-dir "$T/rel-c" >/dev/null 2>&1
        "$AU" verify --ca "$T/ca/ca.pem" --coordinator-key "$T/keys/coord.pub" "$T/rel-c" >/dev/null 2>&1 ||
            { bad=1; echo "       resumed publish does not verify (${delay}us)"; }
    fi
done
check "after a kill at any of 8 moments: closed without a release, or published and verified" \
    [ "$bad" -eq 0 ]
echo "       ($published of 8 kills came after the commit)"

e2e_finish
