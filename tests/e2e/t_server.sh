#!/usr/bin/env bash
# mijlpaal-aggregator serve (mutual TLS) and mijlpaal-contributor run --server, pairwise-v1:
# refusals at the TLS layer, JSON refusals that leave the store unchanged, no submission lost
# when the server is killed, and a killed contributor resuming from its ledger.
. "$(dirname "$0")/lib.sh"
command -v curl >/dev/null 2>&1 || { echo "$TEST_NAME: curl is required" >&2; exit 2; }

setup_round || e2e_finish
"$REPO_DIR/tools/test-ca" server "$T/ca" server 127.0.0.1 || { fail "setup: server certificate"; e2e_finish; }
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL=https://127.0.0.1:$PORT
DB=$T/agg.db
SLOG=$T/log/server.log
: >"$SLOG"
SPID=

start_server() { # [EXTRA ARGS...]
    "$A" serve --db "$DB" --coordinator-key "$T/keys/coord.pub" --tls-cert "$T/ca/server.pem" \
        --tls-key "$T/ca/server.key" --ca "$T/ca/ca.pem" --listen "127.0.0.1:$PORT" \
        --release-dir "$T/releases" --max-body 100000 "$@" 2>>"$SLOG" &
    SPID=$!
    local i
    for i in $(seq 1 100); do
        [ "$(grep -c 'listening on' "$SLOG")" -ge "$NSTARTS" ] && return 0
        sleep 0.1
    done
    fail "server did not start"
    cat "$SLOG"
    return 1
}
NSTARTS=1
stop_server() { [ -n "$SPID" ] && kill -KILL "$SPID" 2>/dev/null; wait "$SPID" 2>/dev/null; SPID=; }
trap 'stop_server; e2e_cleanup' EXIT

# hit ORG METHOD WHAT [DATA-FILE]: curl as organisation ORG (its certificate); status in $CODE,
# body in $BODY_F.
BODY_F=$T/log/body.json
hit() {
    local org=$1 method=$2 what=$3 data=${4:-} args=()
    [ -n "$data" ] && args=(--data-binary "@$data" -H 'Content-Type: application/json')
    CODE=$(curl -s -o "$BODY_F" -w '%{http_code}' --cacert "$T/ca/ca.pem" \
        --cert "$T/ca/$org.pem" --key "$T/ca/$org.key" -X "$method" "${args[@]}" \
        "$URL/v1/rounds/$ROUND_ID/$what")
}
json_error() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["error"])' "$BODY_F" 2>/dev/null; }
expect_refusal() { # STATUS CODE DESCRIPTION
    if [ "$CODE" = "$1" ] && [ "$(json_error)" = "$2" ]; then
        pass "$3: HTTP $1 {\"error\":\"$2\"}"
    else
        fail "$3: expected HTTP $1 $2, got HTTP $CODE: $(head -c 300 "$BODY_F")"
    fi
}
requests_logged() { grep -c ' org=' "$SLOG"; }
contrib_run() { # ORG [EXTRA ARGS...]
    local org=$1
    shift
    run "$C" run --server "$URL" --round-id "$ROUND_ID" --input "$T/in/$org.csv" \
        --key "$T/keys/$org.key" --insecure-plaintext-key --coordinator-key "$T/keys/coord.pub" \
        --policy "$T/policies/$org.json" --ledger "$T/ledger-$org.db" \
        --tls-cert "$T/ca/$org.pem" --tls-key "$T/ca/$org.key" --ca "$T/ca/ca.pem" --yes "$@"
}
stored_sha() { # ORG: the submission_sha256 the aggregator stored for ORG
    python3 - "$DB" "$1" <<'EOF'
import sqlite3, sys
r = sqlite3.connect(sys.argv[1]).execute(
    "SELECT submission_sha256 FROM submissions WHERE org = ?", (sys.argv[2],)).fetchone()
print(r[0] if r else "none")
EOF
}

# run keeps the fetched roster and round in a temporary directory it removes however it ends
# (but a kill -9); here they would stay in the test's directory.
export TMPDIR=$T/tmp
mkdir -p "$TMPDIR"

start_server || e2e_finish

section "TLS layer"
before=$(requests_logged)
curl -s -o /dev/null --cacert "$T/ca/ca.pem" "$URL/v1/rounds/$ROUND_ID/status"
rc=$?
check "a client without a certificate is refused at the TLS layer (curl exit $rc)" test "$rc" -ne 0
"$REPO_DIR/tools/test-ca" init "$T/ca2"
"$REPO_DIR/tools/test-ca" issue "$T/ca2" utrecht "$(test_oin 1)" "Nagemaakt Utrecht"
curl -s -o /dev/null --cacert "$T/ca/ca.pem" --cert "$T/ca2/utrecht.pem" --key "$T/ca2/utrecht.key" \
    "$URL/v1/rounds/$ROUND_ID/status"
rc=$?
check "a certificate from another CA (the right OIN) is refused at the TLS layer (curl exit $rc)" \
    test "$rc" -ne 0
check "no request was logged for either" test "$(requests_logged)" -eq "$before"

section "who may ask"
"$REPO_DIR/tools/test-ca" issue "$T/ca" outsider 99900000000000009999 "Buiten de regio"
hit outsider GET status
expect_refusal 403 not_a_member "a valid certificate whose OIN is not a member"
hit utrecht GET status
check "a member reads the status (HTTP $CODE)" test "$CODE" = 200
check "the status lists every participant as missing" \
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(d["state"]!="open" or len(d["missing"])!=6)' "$BODY_F"
hit utrecht GET round
check "the round is the signed document as stored" cmp -s "$BODY_F" "$T/round.json"
hit utrecht GET nothing
expect_refusal 404 not_found "an unknown endpoint"
hit utrecht DELETE status
expect_refusal 405 method_not_allowed "DELETE"

section "refused submissions change nothing"
submit utrecht "$T/in/utrecht.csv" "$T/round.json" "$T/utrecht.json" "$T/ledger-file-utrecht.db"
expect_rc 0 "utrecht makes a submission file"
dump=$(db_sha "$DB")
hit lekstroom POST submissions "$T/utrecht.json"
expect_refusal 403 not_your_message "lekstroom posts utrecht's submission"
expect_db_unchanged "$DB" "$dump" "another organisation's submission"
printf '{"body":' >"$T/malformed.json"
hit utrecht POST submissions "$T/malformed.json"
expect_refusal 400 malformed "a malformed body"
expect_db_unchanged "$DB" "$dump" "malformed"
python3 -c 'print("{\"x\":\"" + "a" * 150000 + "\"}")' >"$T/big.json"
hit utrecht POST submissions "$T/big.json"
expect_refusal 413 too_large "an oversized body"
expect_db_unchanged "$DB" "$dump" "oversized"
hit utrecht POST submissions "$T/round.json"
expect_refusal 400 wrong_type "a round document posted as a submission"
expect_db_unchanged "$DB" "$dump" "wrong type"
python3 - "$T/utrecht.json" "$T/tampered.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["sig"] = d["sig"][:10] + ("A" if d["sig"][10] != "A" else "B") + d["sig"][11:]
json.dump(d, open(sys.argv[2], "w"))
EOF
hit utrecht POST submissions "$T/tampered.json"
expect_refusal 422 refused "a submission with a broken signature"
expect_db_unchanged "$DB" "$dump" "bad signature"
hit utrecht POST submissions "$T/utrecht.json"
check "utrecht's own submission is accepted (HTTP $CODE)" test "$CODE" = 201
check "it is stored with its hash" test "$(stored_sha utrecht)" = "$(sha "$T/utrecht.json")"
dump=$(db_sha "$DB")
hit utrecht POST submissions "$T/utrecht.json"
expect_refusal 409 replay "the same submission again"
expect_db_unchanged "$DB" "$dump" "replay"

section "contributor run"
contrib_run stichtse-vecht
expect_rc 0 "stichtse-vecht runs the round against the service"
expect_err_contains "accepted and stored" "run reports the submission stored"
run "$C" resend --ledger "$T/ledger-stichtse-vecht.db" --round "$ROUND_ID" --out "$T/sv.json"
check "the server stored exactly the ledger's submission" \
    test "$(stored_sha stichtse-vecht)" = "$(sha "$T/sv.json")"
contrib_run stichtse-vecht
expect_rc 0 "running it again sends the stored submission"
expect_err_contains "sending that one again" "a second run resends from the ledger"
expect_err_contains "was stored already" "and the server says it holds it"
# setsid: no controlling terminal even when the tests run from one.
run setsid -w "$C" run --server "$URL" --round-id "$ROUND_ID" --input "$T/in/fermwerk.csv" \
    --key "$T/keys/fermwerk.key" --insecure-plaintext-key --coordinator-key "$T/keys/coord.pub" \
    --policy "$T/policies/fermwerk.json" --ledger "$T/ledger-fermwerk.db" \
    --tls-cert "$T/ca/fermwerk.pem" --tls-key "$T/ca/fermwerk.key" --ca "$T/ca/ca.pem" </dev/null
check "without --yes and without a terminal nothing is sent (exit $RC)" test "$RC" -ne 0
expect_absent "$T/ledger-fermwerk.db" "no confirmation"

# On a terminal (script(1) gives it one): "n" sends nothing, "y" takes part.
confirm_run() { # ANSWER ORG
    local org=$2 cmd
    cmd="'$C' run --server '$URL' --round-id '$ROUND_ID' --input '$T/in/$org.csv' \
--key '$T/keys/$org.key' --insecure-plaintext-key --coordinator-key '$T/keys/coord.pub' \
--policy '$T/policies/$org.json' --ledger '$T/ledger-$org.db' --tls-cert '$T/ca/$org.pem' \
--tls-key '$T/ca/$org.key' --ca '$T/ca/ca.pem'"
    printf '%s\n' "$1" | script -qec "$cmd" /dev/null >"$T/log/confirm-$org.out" 2>&1
}
confirm_run n fermwerk
rc=$?
check "answering n on the terminal refuses (exit $rc)" test "$rc" -eq 1
check "the question was asked" grep -q 'Take part in round' "$T/log/confirm-fermwerk.out"
expect_absent "$T/ledger-fermwerk.db" "answered n"
confirm_run y rsd-krh
rc=$?
check "answering y on the terminal takes part (exit $rc)" test "$rc" -eq 0
check "and the submission is stored" test "$(stored_sha rsd-krh)" != none

section "kill -9 of the server"
stop_server
NSTARTS=2
start_server || e2e_finish
hit utrecht GET status
check "after kill -9 and restart every accepted submission is there" \
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(sorted(d["submitted"])!=["rsd-krh","stichtse-vecht","utrecht"])' "$BODY_F"
integrity "$DB" && pass "the store passes SQLite's integrity check" || fail "integrity check"

section "kill -9 of a contributor"
# A bucket of three requests refilled every 50 s: run fetches status, roster and round, records its
# submission in the ledger, and then waits (429 Retry-After) to POST: it is killed there.
stop_server
NSTARTS=3
start_server --burst 3 --rate 0.02 --timeout 1 || e2e_finish
"$C" run --server "$URL" --round-id "$ROUND_ID" --input "$T/in/lekstroom.csv" \
    --key "$T/keys/lekstroom.key" --insecure-plaintext-key --coordinator-key "$T/keys/coord.pub" \
    --policy "$T/policies/lekstroom.json" --ledger "$T/ledger-lekstroom.db" \
    --tls-cert "$T/ca/lekstroom.pem" --tls-key "$T/ca/lekstroom.key" --ca "$T/ca/ca.pem" --yes \
    2>"$T/log/lekstroom-run.err" &
cpid=$!
for _ in $(seq 1 200); do
    grep -q 'HTTP 429' "$T/log/lekstroom-run.err" && break
    sleep 0.1
done
kill -KILL "$cpid" 2>/dev/null
wait "$cpid" 2>/dev/null
check "the contributor was waiting to POST when killed" grep -q 'HTTP 429' "$T/log/lekstroom-run.err"
check "nothing reached the server" test "$(stored_sha lekstroom)" = none
for _ in 1 2 3 4; do hit utrecht GET status; done
expect_refusal 429 rate_limited "a fourth request within the bucket of three"
# A connection that sends nothing is closed after --timeout (1 s here).
check "a stalled connection is closed by the timeout" python3 - "$PORT" <<'EOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(10)
t = time.time()
try:
    closed = s.recv(1) == b""
except ConnectionResetError:
    closed = True
except socket.timeout:
    closed = False
sys.exit(0 if closed and time.time() - t < 8 else 1)
EOF
run "$C" resend --ledger "$T/ledger-lekstroom.db" --round "$ROUND_ID" --out "$T/lek-before.json"
expect_rc 0 "the ledger holds the submission made before the kill"
stop_server
NSTARTS=4
start_server || e2e_finish
contrib_run lekstroom
expect_rc 0 "running it again completes the round for lekstroom"
expect_err_contains "sending that one again" "it resumes from the ledger"
check "the server stored the same submission bytes as before the kill" \
    test "$(stored_sha lekstroom)" = "$(sha "$T/lek-before.json")"

section "the rest of the round, close, publish, release over HTTPS"
for o in fermwerk uwv; do
    contrib_run "$o"
    expect_rc 0 "$o runs the round"
done
run "$A" round close --db "$DB" --coordinator-key "$T/keys/coord.pub"
expect_rc 0 "the round closes while the service runs"
hit utrecht GET status
check "status says closed" python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["state"]!="closed")' "$BODY_F"
mkdir -p "$T/releases"
curl -s -o "$BODY_F" -w '%{http_code}' --cacert "$T/ca/ca.pem" --cert "$T/ca/utrecht.pem" \
    --key "$T/ca/utrecht.key" "$URL/v1/releases/$ROUND_ID/release.json" >"$T/code"
check "no release before publishing ($(cat "$T/code"))" test "$(cat "$T/code")" = 404
run "$A" publish --db "$DB" --key "$T/keys/coord.key" --insecure-plaintext-key \
    --out-dir "$T/releases/$ROUND_ID"
expect_rc 0 "publish"
curl -s -o "$T/got-release.json" --cacert "$T/ca/ca.pem" --cert "$T/ca/utrecht.pem" \
    --key "$T/ca/utrecht.key" "$URL/v1/releases/$ROUND_ID/release.json"
check "the published release is served as it was written" \
    cmp -s "$T/got-release.json" "$T/releases/$ROUND_ID/release.json"
code=$(curl -s -o "$BODY_F" -w '%{http_code}' --cacert "$T/ca/ca.pem" --cert "$T/ca/utrecht.pem" \
    --key "$T/ca/utrecht.key" "$URL/v1/releases/$ROUND_ID/..%2Fround.json")
check "a path outside the release is refused (HTTP $code)" test "$code" = 400 -o "$code" = 404
run "$AU" verify --coordinator-key "$T/keys/coord.pub" --ca "$T/ca/ca.pem" "$T/releases/$ROUND_ID"
expect_rc 0 "the auditor verifies the release of the round run over HTTPS"

section "bonawitz-v1 is not taken over HTTP (yet)"
open_round "$DB" "$T/roster.json" "$T/round-sa.json" --masking bonawitz-v1 --round-id srv-sa
SA_DUMP=$(db_sha "$DB")
CODE=$(curl -s -o "$BODY_F" -w '%{http_code}' --cacert "$T/ca/ca.pem" --cert "$T/ca/utrecht.pem" \
    --key "$T/ca/utrecht.key" --data-binary "@$T/utrecht.json" "$URL/v1/rounds/srv-sa/submissions")
expect_refusal 501 not_supported "a submission to a bonawitz-v1 round"
expect_db_unchanged "$DB" "$SA_DUMP" "bonawitz-v1 over HTTP"
run "$C" run --server "$URL" --round-id srv-sa --input "$T/in/utrecht.csv" \
    --key "$T/keys/utrecht.key" --insecure-plaintext-key --coordinator-key "$T/keys/coord.pub" \
    --policy "$T/policies/utrecht.json" --ledger "$T/ledger-sa-utrecht.db" \
    --tls-cert "$T/ca/utrecht.pem" --tls-key "$T/ca/utrecht.key" --ca "$T/ca/ca.pem" --yes
expect_rc 1 "contributor run on a bonawitz-v1 round"
expect_err_contains "pairwise-v1" "it says which rounds it takes"

check "run leaves no temporary files behind, except the one killed with -9" \
    test "$(find "$TMPDIR" -name 'mijlpaal-run.*' | wc -l)" -le 1

section "logs and shutdown"
check "one line per request: time, org, method, path, status" \
    grep -qE '^20[0-9-]+T[0-9:]+Z org=utrecht GET /v1/rounds/[^ ]+/status 200$' "$SLOG"
check "the log holds no masked vector or signature" \
    bash -c "! grep -qE '\"(masked|sig)\"' '$SLOG'"
kill -TERM "$SPID"
wait "$SPID"
rc=$?
SPID=
check "SIGTERM stops the server cleanly (exit $rc)" test "$rc" -eq 0
check "it says it closed the store" grep -q 'store closed' "$SLOG"
check "no sanitizer report from the server or a background contributor" \
    bash -c "! grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' '$SLOG' '$T/log/lekstroom-run.err' '$T'/log/confirm-*.out"

e2e_finish
