# Shared helpers for the end-to-end tests (sourced by every tests/e2e/t_*.sh; bash).
#
#   BIN     absolute directory holding mijlpaal-contributor, -aggregator and -auditor
#   KEEP=1  keep the temporary directory of a test (its path is printed) for debugging
#
# Every test works in its own fresh directory from mktemp -d, removed again on exit. The
# clock of the programs is pinned with MIJLPAAL_NOW so that the tests do not depend on the
# day they run; a test that needs another moment sets MIJLPAAL_NOW for one command.

set -u

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$E2E_DIR/../.." && pwd)
TEST_NAME=$(basename "$0" .sh)

if [ -z "${BIN:-}" ]; then
    echo "$TEST_NAME: BIN is not set (e.g. BIN=$REPO_DIR/build/bin)" >&2
    exit 2
fi
case "$BIN" in
/*) ;;
*) echo "$TEST_NAME: BIN must be an absolute directory, not '$BIN'" >&2; exit 2 ;;
esac
C=$BIN/mijlpaal-contributor
A=$BIN/mijlpaal-aggregator
AU=$BIN/mijlpaal-auditor
for p in "$C" "$A" "$AU"; do
    if [ ! -x "$p" ]; then
        echo "$TEST_NAME: $p is missing or not executable" >&2
        exit 2
    fi
done
command -v python3 >/dev/null 2>&1 || { echo "$TEST_NAME: python3 is required" >&2; exit 2; }

# Used by the tests that source this file.
# shellcheck disable=SC2034
{
    REGION=$REPO_DIR/data/regions/midden-utrecht.json
    ORGS="utrecht stichtse-vecht lekstroom fermwerk rsd-krh uwv"
    PERIOD=2026-01-01:2026-06-30
    ROUND_ID=midden-utrecht-2026-01-01-2026-06-30
    DEADLINE=2026-09-01T00:00:00Z
    AFTER_DEADLINE=2026-09-01T00:00:01Z
}
export MIJLPAAL_NOW=2026-07-15T12:00:00Z
# Make sanitizer builds fail loudly (and the sanitizer report visible in stderr).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
unset MIJLPAAL_PASSPHRASE MIJLPAAL_PASSPHRASE_FILE

PASSED=0
FAILED=0
NCMD=0

# (A neutral name: messages are searched for words, and the path appears in many of them.)
T=$(mktemp -d "${TMPDIR:-/tmp}/mijlpaal-e2e.XXXXXX") || exit 2
e2e_cleanup() {
    if [ "${KEEP:-0}" = 1 ]; then
        echo "$TEST_NAME: kept $T"
    else
        rm -rf "$T"
    fi
}
trap e2e_cleanup EXIT
trap 'exit 130' INT TERM HUP
mkdir -p "$T/log" "$T/in" "$T/keys"
cd "$T" || exit 2

# ---------------------------------------------------------------- reporting

pass() { PASSED=$((PASSED + 1)); echo "  ok   $*"; }
fail() { FAILED=$((FAILED + 1)); echo "  FAIL $*"; }
check() { # check DESCRIPTION COMMAND... : pass when the command succeeds
    local d=$1; shift
    if "$@"; then pass "$d"; else fail "$d"; fi
}
section() { echo "-- $*"; }

e2e_finish() {
    echo "$TEST_NAME: $PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
    exit $?
}

# ---------------------------------------------------------------- running programs

# run COMMAND...: runs it with stdout and stderr captured to $OUT and $ERR (kept under $T/log
# so that the BSN-leak checks see every message), its exit code in $RC.
run() {
    NCMD=$((NCMD + 1))
    OUT=$T/log/$NCMD.out
    ERR=$T/log/$NCMD.err
    printf '%s\n' "$*" >"$T/log/$NCMD.cmd"
    "$@" >"$OUT" 2>"$ERR"
    RC=$?
    if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$ERR"; then
        fail "sanitizer report from: $*"
        sed 's/^/       | /' "$ERR" | head -40
    fi
    return 0
}

show_output() {
    echo "       command: $(cat "$T/log/$NCMD.cmd")"
    echo "       exit code: $RC"
    sed 's/^/       stdout| /' "$OUT" | head -15
    sed 's/^/       stderr| /' "$ERR" | head -15
}

# expect_rc N DESCRIPTION: the last run exited with N
expect_rc() {
    if [ "$RC" -eq "$1" ]; then
        pass "$2 (exit $1)"
    else
        fail "$2: expected exit $1, got $RC"
        show_output
    fi
}

# expect_err_contains TEXT DESCRIPTION (fixed string, case-sensitive)
expect_err_contains() {
    if grep -qF -- "$1" "$ERR"; then
        pass "$2: stderr mentions '$1'"
    else
        fail "$2: stderr does not mention '$1'"
        show_output
    fi
}

# expect_err_matches ERE DESCRIPTION
expect_err_matches() {
    if grep -qE -- "$1" "$ERR"; then
        pass "$2: stderr matches /$1/"
    else
        fail "$2: stderr does not match /$1/"
        show_output
    fi
}

expect_out_contains() {
    if grep -qF -- "$1" "$OUT"; then
        pass "$2: stdout mentions '$1'"
    else
        fail "$2: stdout does not mention '$1'"
        show_output
    fi
}

expect_absent() { # expect_absent PATH DESCRIPTION
    if [ -e "$1" ]; then
        fail "$2: $1 exists but should not"
    else
        pass "$2: no $(basename "$1") written"
    fi
}

expect_present() {
    if [ -s "$1" ]; then pass "$2: $(basename "$1") written"; else fail "$2: $1 missing or empty"; fi
}

sha() { sha256sum "$1" | cut -d' ' -f1; }

expect_sha() { # expect_sha FILE SHA DESCRIPTION
    local now
    now=$(sha "$1" 2>/dev/null || echo absent)
    if [ "$now" = "$2" ]; then
        pass "$3: $(basename "$1") unchanged"
    else
        fail "$3: $(basename "$1") changed"
    fi
}

# db_dump DB: a textual dump of an SQLite database (sqlite3 CLI when installed, else python3).
db_dump() {
    if command -v sqlite3 >/dev/null 2>&1; then
        sqlite3 "$1" .dump
    else
        python3 - "$1" <<'EOF'
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
for line in con.iterdump():
    print(line)
con.close()
EOF
    fi
}

db_sha() { db_dump "$1" | sha256sum | cut -d' ' -f1; }

expect_db_unchanged() { # expect_db_unchanged DB SHA DESCRIPTION
    local now
    now=$(db_sha "$1")
    if [ "$now" = "$2" ]; then
        pass "$3: store $(basename "$1") unchanged"
    else
        fail "$3: store $(basename "$1") changed"
    fi
}

# ---------------------------------------------------------------- crash tests

# integrity DB: SQLite's own integrity check passes
integrity() {
    python3 - "$1" <<'EOF2'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
sys.exit(0 if db.execute("PRAGMA integrity_check").fetchone()[0] == "ok" else 1)
EOF2
}

# kill_after MICROSECONDS COMMAND...: start it, SIGKILL it after the delay
kill_after() {
    local us=$1
    shift
    "$@" >/dev/null 2>&1 &
    local pid=$!
    sleep "$(printf '0.%06d' "$us")"
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

# ---------------------------------------------------------------- fixtures

# make_catalogue FILE: a small catalogue of its own, so that the tests do not depend on the
# shipped ones. Vector: uitstroom_werk total, 3 age cells; bijstand_stand total, 3 age cells.
make_catalogue() {
    cat >"$1" <<'EOF'
{
  "mijlpaal_catalogue": 1,
  "id": "e2e-test",
  "version": 1,
  "title": "Testcatalogus end-to-end",
  "dimensions": {
    "age": { "title": "Leeftijd", "bands": [
      { "label": "tot 25 jaar", "min": 15, "max": 24 },
      { "label": "25 tot 55 jaar", "min": 25, "max": 54 },
      { "label": "55 jaar en ouder", "min": 55, "max": 200 } ] }
  },
  "metrics": [
    { "id": "uitstroom_werk", "title": "Uitstroom uit de bijstand naar werk",
      "description": "Personen van wie de bijstandsuitkering in de periode eindigde omdat zij aan het werk gingen.",
      "kind": "exit", "spells": ["bijstand"], "end_reasons": ["werk"],
      "breakdowns": ["age"], "source": "end-to-end test" },
    { "id": "bijstand_stand", "title": "Personen in de bijstand",
      "description": "Personen met een lopende bijstandsuitkering op de laatste dag van de periode.",
      "kind": "stock", "spells": ["bijstand"],
      "breakdowns": ["age"], "source": "end-to-end test" }
  ],
  "rates": [
    { "id": "uitstroom_aandeel", "title": "Uitstroom naar werk als aandeel van de stand",
      "numerator": "uitstroom_werk", "denominator": "bijstand_stand" }
  ]
}
EOF
}

# gen_bsns N SEED: N distinct 9-digit numbers that pass the elfproef, one a line.
gen_bsns() {
    python3 - "$1" "$2" <<'EOF'
import random, sys
n, seed = int(sys.argv[1]), sys.argv[2]
r = random.Random("mijlpaal-e2e-" + seed)
def elf(s):
    d = [int(c) for c in s]
    return (sum(w * x for w, x in zip(range(9, 1, -1), d[:8])) - d[8]) % 11 == 0
seen = set()
while len(seen) < n:
    s = str(r.randrange(100000000, 1000000000))
    if elf(s) and s not in seen:
        seen.add(s)
        print(s)
EOF
}

# make_export FILE SEED: a canonical export (';', LF, UTF-8) of 6 persons with known counts:
#   uitstroom_werk: total 2 (tot 25: 1, 25-54: 1, 55+: 0)
#   bijstand_stand: total 2 (tot 25: 0, 25-54: 1, 55+: 1)
# The BSNs used are appended to $T/in/bsns.txt.
# shellcheck disable=SC2034
EXPECT_ORG="2 1 1 0 2 0 1 1"
make_export() {
    local f=$1 seed=$2 b
    mapfile -t b < <(gen_bsns 6 "$seed")
    printf '%s\n' "${b[@]}" >>"$T/in/bsns.txt"
    {
        echo "bsn;birth_date;sex;municipality;spell_type;start_date;end_date;end_reason;flags"
        # exit to work at 22 (tot 25)
        echo "${b[0]};2003-08-10;V;GM0344;bijstand;2024-02-01;2026-03-31;werk;"
        # exit to work at 40 (25-54), with a job starting afterwards
        echo "${b[1]};1985-09-15;M;GM0356;bijstand;2021-05-01;2026-02-28;werk;statushouder"
        echo "${b[1]};1985-09-15;M;GM0356;baan;2026-03-01;;;statushouder"
        # running bijstand at 36 and at 62
        echo "${b[2]};1990-01-20;X;GM0344;bijstand;2019-06-01;;;"
        echo "${b[3]};1963-11-02;V;GM0632;bijstand;2015-01-01;;;alleenstaande_ouder"
        # exit for another reason (not counted), and an exit to work before the period
        echo "${b[4]};1970-04-04;M;GM0355;bijstand;2020-01-01;2026-04-30;opleiding;"
        echo "${b[5]};1999-12-12;V;GM1904;bijstand;2022-01-01;2025-10-31;werk;"
    } >"$f"
}

# test_oin N: the fictitious OIN of the N-th organisation (1-based).
test_oin() { printf '9990000000000000%04d' "$1"; }

# setup_keys: the test CA in $T/ca, plaintext test keys for the coordinator and the six
# organisations in $T/keys, each organisation's certificate binding ($T/keys/ORG.binding.json)
# and its policy ($T/policies/ORG.json: the six organisations, at least 3 participants, t >= 0,
# rho up to 1000 per round and period, series midden-utrecht mu other s with budget 1000 each;
# POLICY_* variables override).
setup_keys() {
    local o i=0 s members=() series=()
    mkdir -p "$T/keys" "$T/ca" "$T/policies"
    "$REPO_DIR/tools/test-ca" init "$T/ca" || { fail "setup: test CA"; return 1; }
    run "$A" keygen --org coordinator --secret-key "$T/keys/coord.key" \
        --public-key "$T/keys/coord.pub" --insecure-plaintext-key
    [ "$RC" -eq 0 ] || { fail "setup: coordinator keygen"; show_output; return 1; }
    for o in $ORGS; do
        i=$((i + 1))
        "$REPO_DIR/tools/test-ca" issue "$T/ca" "$o" "$(test_oin $i)" "Organisatie $o" ||
            { fail "setup: certificate $o"; return 1; }
        run "$C" keygen --org "$o" --secret-key "$T/keys/$o.key" --public-key "$T/keys/$o.pub" \
            --insecure-plaintext-key
        [ "$RC" -eq 0 ] || { fail "setup: keygen $o"; show_output; return 1; }
        run "$C" certify --key "$T/keys/$o.key" --insecure-plaintext-key --cert "$T/ca/$o.pem" \
            --cert-key "$T/ca/$o.key" --out "$T/keys/$o.binding.json"
        [ "$RC" -eq 0 ] || { fail "setup: certify $o"; show_output; return 1; }
        members+=(--member "$o=$(test_oin $i)")
    done
    for s in ${POLICY_SERIES:-midden-utrecht mu other s}; do
        series+=(--series-budget "$s=${POLICY_SERIES_BUDGET:-1000}")
    done
    for o in $ORGS; do
        run "$C" policy init --out "$T/policies/$o.json" --org "$o" --region midden-utrecht \
            --ca "$T/ca/ca.pem" "${members[@]}" --min-participants "${POLICY_MIN_PARTICIPANTS:-3}" \
            --min-t "${POLICY_MIN_T:-0}" --max-rho-per-round "${POLICY_MAX_RHO:-1000}" \
            --max-rho-per-period "${POLICY_MAX_RHO_PERIOD:-1000}" "${series[@]}"
        [ "$RC" -eq 0 ] || { fail "setup: policy $o"; show_output; return 1; }
    done
}

# make_roster OUT COORD_KEY [KEYDIR]: the agreed roster of the six organisations: a draft signed
# by COORD_KEY with the bindings in KEYDIR (default $T/keys), co-signed by each organisation
# with its key in KEYDIR (cosignatures in OUT.cosig/, their ledgers there too), joined.
make_roster() {
    local out=$1 key=$2 dir=${3:-$T/keys} o members=()
    for o in $ORGS; do
        if [ ! -e "$dir/$o.binding.json" ]; then # keys made by the test itself: certify them
            run "$C" certify --key "$dir/$o.key" --insecure-plaintext-key --cert "$T/ca/$o.pem" \
                --cert-key "$T/ca/$o.key" --out "$dir/$o.binding.json"
            [ "$RC" -eq 0 ] || { fail "setup: certify $dir/$o.key"; show_output; return 1; }
        fi
        members+=(--member "$dir/$o.binding.json")
    done
    mkdir -p "$out.cosig"
    run "$A" roster draft --region "$REGION" --ca "$T/ca/ca.pem" --key "$key" \
        --insecure-plaintext-key "${members[@]}" --out "$out.draft"
    [ "$RC" -eq 0 ] || { fail "setup: roster draft $out"; show_output; return 1; }
    for o in $ORGS; do
        run "$C" roster sign --roster "$out.draft" --coordinator-key "${key%.key}.pub" \
            --key "$dir/$o.key" --insecure-plaintext-key --policy "$T/policies/$o.json" \
            --ledger "$out.cosig/$o.db" --out "$out.cosig/$o.json"
        [ "$RC" -eq 0 ] || { fail "setup: roster sign $o"; show_output; return 1; }
    done
    run "$A" roster agree --roster "$out.draft" --key "$key" --insecure-plaintext-key \
        --out "$out" "$out.cosig"/*.json
    [ "$RC" -eq 0 ] || { fail "setup: roster agree $out"; show_output; return 1; }
}

# open_round DB ROSTER OUT [EXTRA ARGS...]: open a round (budget rho 1 unless RHO=... says otherwise;
# series budget 1000), signed with $COORD_KEY (default the coordinator's).
open_round() {
    local db=$1 roster=$2 out=$3
    shift 3
    run "$A" round open --db "$db" --roster "$roster" --catalogue "$T/cat.json" \
        --period "$PERIOD" --deadline "$DEADLINE" --rho "${RHO:-1}" --series-rho "${SERIES_RHO:-1000}" \
        --key "${COORD_KEY:-$T/keys/coord.key}" --insecure-plaintext-key --out "$out" "$@"
    [ "$RC" -eq 0 ] || { fail "setup: round open $out"; show_output; return 1; }
}

# submit ORG INPUT ROUND OUT LEDGER [EXTRA ARGS...]: contributor submit with the org's key,
# the main roster and the coordinator's public key (override with ROSTER_F / COORD_PUB).
submit() {
    local org=$1 in=$2 round=$3 out=$4 ledger=$5
    shift 5
    run "$C" submit --input "$in" --roster "${ROSTER_F:-$T/roster.json}" --round "$round" \
        --coordinator-key "${COORD_PUB:-$T/keys/coord.pub}" --key "${KEYDIR:-$T/keys}/$org.key" \
        --insecure-plaintext-key --policy "$T/policies/$org.json" --ledger "$ledger" \
        --out "$out" "$@"
}

# setup_round: catalogue, keys, roster, one open round in $T/agg.db, and a canonical export per
# organisation in $T/in/ORG.csv.
setup_round() {
    local o
    make_catalogue "$T/cat.json"
    setup_keys || return 1
    make_roster "$T/roster.json" "$T/keys/coord.key" || return 1
    open_round "$T/agg.db" "$T/roster.json" "$T/round.json" || return 1
    for o in $ORGS; do make_export "$T/in/$o.csv" "$o"; done
}

# submit_all [DIR]: every organisation submits its export; submissions in DIR (default $T/sub)
# as ORG.json, ledgers as $T/ledger-ORG.db.
submit_all() {
    local dir=${1:-$T/sub} o
    mkdir -p "$dir"
    for o in $ORGS; do
        submit "$o" "$T/in/$o.csv" "$T/round.json" "$dir/$o.json" "$T/ledger-$o.db"
        [ "$RC" -eq 0 ] || { fail "setup: submit $o"; show_output; return 1; }
    done
}

# finish_round: import every submission of $T/sub, close, publish into $T/rel.
finish_round() {
    run "$A" round import --db "$T/agg.db" --coordinator-key "$T/keys/coord.pub" "$T"/sub/*.json
    [ "$RC" -eq 0 ] || { fail "setup: round import"; show_output; return 1; }
    run "$A" round close --db "$T/agg.db" --coordinator-key "$T/keys/coord.pub"
    [ "$RC" -eq 0 ] || { fail "setup: round close"; show_output; return 1; }
    run "$A" publish --db "$T/agg.db" --key "$T/keys/coord.key" --insecure-plaintext-key \
        --out-dir "$T/rel"
    [ "$RC" -eq 0 ] || { fail "setup: publish"; show_output; return 1; }
}

# full_round: setup_round + submit_all + finish_round.
full_round() {
    setup_round && submit_all "$T/sub" && finish_round
}

# release_values FILE [FIELD]: a field of every release cell ("value", the published number,
# by default; "noisy" for the raw noisy sum), space-separated, in vector order.
release_values() {
    python3 - "$1" "${2:-value}" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
print(" ".join(str(c[sys.argv[2]]) for c in doc["body"]["cells"]))
EOF
}

# sign_body TYPE BODY KEY OUT: sign a JSON body by hand as TYPE with a plaintext secret key file,
# the way a coordinator that skips its own checks would (tools/forge), into the canonical
# envelope OUT.
FORGE=${FORGE:-$(cd "$BIN/../tools" 2>/dev/null && pwd)/forge}
sign_body() {
    "$FORGE" "$1" "$3" "$2" "$4"
}
