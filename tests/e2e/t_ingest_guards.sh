#!/usr/bin/env bash
# The guards before a submission (protocol/ingest/guard.h, docs/guide-data-officer.md): an export with
# too many excluded rows, one of another organisation's gemeenten, a stale one, and a ledger of
# another organisation are each refused with exit 1, a reason naming the override, and nothing
# written (no submission, no ledger); the override lets it through. --report FILE lists every
# excluded row, without a BSN. A tiny export is only warned about.
. "$(dirname "$0")/lib.sh"

setup_round || e2e_finish

# rows FILE N GEMEENTE LAST BAD_PCT: N rows of N persons, one running bijstand spell each in
# GEMEENTE, the latest starting on LAST; BAD_PCT% of them with a BSN of 5 digits (excluded).
# The BSNs go to $T/in/bsns.txt.
rows() {
    python3 - "$@" <<'EOF' >>"$T/in/bsns.txt"
import datetime, random, sys
path, n, gm, last, bad = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
r = random.Random(path)
last = datetime.date.fromisoformat(last)
def bsn():
    while True:
        s = str(r.randrange(100000000, 1000000000))
        d = [int(c) for c in s]
        if (sum(w * x for w, x in zip(range(9, 1, -1), d[:8])) - d[8]) % 11 == 0:
            return s
with open(path, "w") as f:
    f.write("bsn;birth_date;sex;municipality;spell_type;start_date;end_date;end_reason;flags\n")
    for i in range(n):
        b = bsn()
        print(b)
        start = last - datetime.timedelta(days=0 if i == n - 1 else r.randrange(1, 2000))
        f.write(f"{'12345' if i * 100 < n * bad else b};1980-01-01;V;{gm};bijstand;{start};;;\n")
EOF
}

# refused NAME TEXT: the last command was refused with exit 1 and TEXT in its error, and left no
# submission and no ledger behind.
refused() {
    expect_rc 1 "$1: refused"
    expect_err_contains "$2" "$1: the reason names the override"
    expect_absent "$T/out-$1.json" "$1: no submission"
    expect_absent "$T/ledger-$1.db" "$1: no ledger"
}

# lekstroom's own gemeenten are GM0321, GM0353, GM0331 and GM0356; utrecht's is GM0344.
section "too many excluded rows"
rows "$T/in/dirty.csv" 200 GM0356 2026-06-20 25
submit lekstroom "$T/in/dirty.csv" "$T/round.json" "$T/out-dirty.json" "$T/ledger-dirty.db"
refused dirty "--accept-exclusions"
expect_err_contains "more than 20% of the rows were excluded" "dirty: the threshold is named"
expect_err_contains "bsn_format" "dirty: the summary shows why"
submit lekstroom "$T/in/dirty.csv" "$T/round.json" "$T/out-dirty2.json" "$T/ledger-dirty2.db" \
    --accept-exclusions
expect_rc 0 "dirty: accepted with --accept-exclusions"
expect_present "$T/out-dirty2.json" "dirty: the accepted submission"

section "another organisation's gemeenten"
rows "$T/in/foreign.csv" 200 GM0344 2026-06-20 0
submit lekstroom "$T/in/foreign.csv" "$T/round.json" "$T/out-foreign.json" "$T/ledger-foreign.db"
refused foreign "--accept-foreign-gemeenten"
expect_err_contains "gemeenten of lekstroom" "foreign: the organisation is named"
run "$C" check --input "$T/in/foreign.csv" --roster "$T/roster.json" --round "$T/round.json" \
    --coordinator-key "$T/keys/coord.pub" --policy "$T/policies/utrecht.json" --org lekstroom
expect_rc 1 "foreign: check --org refuses it too"
run "$C" check --input "$T/in/foreign.csv" --roster "$T/roster.json" --round "$T/round.json" \
    --coordinator-key "$T/keys/coord.pub" --policy "$T/policies/utrecht.json"
expect_rc 0 "foreign: check without --org cannot tell"
submit utrecht "$T/in/foreign.csv" "$T/round.json" "$T/out-foreign2.json" "$T/ledger-foreign2.db"
expect_rc 0 "foreign: the same export is utrecht's own"
submit lekstroom "$T/in/foreign.csv" "$T/round.json" "$T/out-foreign3.json" \
    "$T/ledger-foreign3.db" --accept-foreign-gemeenten
expect_rc 0 "foreign: accepted with --accept-foreign-gemeenten"

section "a stale export"
rows "$T/in/stale.csv" 200 GM0356 2026-05-20 0
submit lekstroom "$T/in/stale.csv" "$T/round.json" "$T/out-stale.json" "$T/ledger-stale.db"
refused stale "--accept-stale-export"
expect_err_contains "(2026-05-20) is more than 31 days before 2026-06-30" "stale: the dates are named"
rows "$T/in/fresh.csv" 200 GM0356 2026-05-31 0
submit lekstroom "$T/in/fresh.csv" "$T/round.json" "$T/out-fresh.json" "$T/ledger-fresh.db"
expect_rc 0 "stale: 30 days before the end of the period is fine"
submit lekstroom "$T/in/stale.csv" "$T/round.json" "$T/out-stale2.json" "$T/ledger-stale2.db" \
    --accept-stale-export
expect_rc 0 "stale: accepted with --accept-stale-export"

section "another organisation's ledger"
# utrecht's ledger from above; lekstroom given it by mistake.
before=$(db_sha "$T/ledger-foreign2.db")
rows "$T/in/lek.csv" 200 GM0353 2026-06-25 0
submit lekstroom "$T/in/lek.csv" "$T/round.json" "$T/out-ledger.json" "$T/ledger-foreign2.db"
expect_rc 1 "ledger: refused"
expect_err_contains "is the ledger of organisation utrecht, not of lekstroom" "ledger: says whose"
expect_absent "$T/out-ledger.json" "ledger: no submission"
expect_db_unchanged "$T/ledger-foreign2.db" "$before" "ledger: utrecht's ledger is unchanged"
run "$C" budget --ledger "$T/ledger-owner.db" --series other-series --rho 0.5
expect_rc 0 "ledger: a ledger with only a budget cap"
submit lekstroom "$T/in/lek.csv" "$T/round.json" "$T/out-owner.json" "$T/ledger-owner.db"
expect_rc 0 "ledger: a ledger without submissions yet is taken and recorded as lekstroom's"
submit utrecht "$T/in/foreign.csv" "$T/round.json" "$T/out-owner2.json" "$T/ledger-owner.db"
expect_rc 1 "ledger: from then on it is lekstroom's"
expect_err_contains "is the ledger of organisation lekstroom, not of utrecht" "ledger: whose, again"
expect_absent "$T/out-owner2.json" "ledger: no submission for utrecht"

section "the row report"
run "$C" check --input "$T/in/dirty.csv" --roster "$T/roster.json" --round "$T/round.json" \
    --coordinator-key "$T/keys/coord.pub" --policy "$T/policies/utrecht.json" --report "$T/rows.csv" --accept-exclusions
expect_rc 0 "report: check with --report"
check "report: a header and all 50 excluded rows (no cap)" \
    test "$(head -1 "$T/rows.csv")" = "line,column,reason,value" -a "$(wc -l <"$T/rows.csv")" -eq 51
check "report: line, column, reason and a description of the BSN" \
    grep -qx '2,bsn,bsn_format,"<bsn: 5 characters, not 8 or 9 digits>"' "$T/rows.csv"
check "report: no BSN digits" sh -c "! grep -q -e 12345 -f '$T/in/bsns.txt' '$T/rows.csv'"
run "$C" check --input "$T/in/dirty.csv" --roster "$T/roster.json" --round "$T/round.json" \
    --coordinator-key "$T/keys/coord.pub" --policy "$T/policies/utrecht.json" --report "$T/rows2.csv"
expect_rc 1 "report: a refused check still writes the report the data officer asked for"
expect_present "$T/rows2.csv" "report: written"
run "$C" check --input "$T/in/no-such.csv" --roster "$T/roster.json" --round "$T/round.json" \
    --coordinator-key "$T/keys/coord.pub" --policy "$T/policies/utrecht.json" --report "$T/rows3.csv"
expect_rc 1 "report: an unreadable export"
check "report: no partial report, no temporary left" sh -c "! ls '$T'/rows3.csv* 2>/dev/null"

section "a tiny export is only warned about"
rows "$T/in/tiny.csv" 20 GM0344 2026-01-10 50
submit lekstroom "$T/in/tiny.csv" "$T/round.json" "$T/out-tiny.json" "$T/ledger-tiny.db"
expect_rc 0 "tiny: submitted"
expect_err_contains "warning (too few rows to refuse)" "tiny: the guards warn"

e2e_finish
