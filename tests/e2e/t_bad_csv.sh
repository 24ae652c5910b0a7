#!/usr/bin/env bash
# Bad exports. A bad row is excluded with its reason and line number (and refuses the export
# with --strict); a file that is not a usable export is refused whole. A refused submit writes
# no submission and leaves the ledger as it was (absent stays absent). No BSN of the input
# ever appears in a message or in any file the programs write.
. "$(dirname "$0")/lib.sh"

setup_round || e2e_finish
# Round B (another round id) for the refused submits, so that the ledger of round A can be
# checked for changes.
open_round "$T/agg-b.db" "$T/roster.json" "$T/round-b.json" --round-id e2e-round-b || e2e_finish
submit fermwerk "$T/in/fermwerk.csv" "$T/round.json" "$T/sub-fermwerk-a.json" "$T/ledger-fermwerk.db"
[ "$RC" -eq 0 ] || { fail "setup: fermwerk submits round A"; show_output; e2e_finish; }
ledger_sha=$(db_sha "$T/ledger-fermwerk.db")

# The bad exports. Row-level cases: header, two good rows, the bad row on line 4, a good row.
mapfile -t pool < <(gen_bsns 200 bad-csv)
python3 - "$T/in" "${pool[@]}" <<'EOF'
import os, random, sys
d = sys.argv[1]
pool = iter(sys.argv[2:])
r = random.Random("mijlpaal-e2e-bad-csv")  # for the binary garbage below
def elf(s):
    x = [int(c) for c in s]
    return (sum(w * v for w, v in zip(range(9, 1, -1), x[:8])) - x[8]) % 11 == 0
bsns = []
def new():
    b = next(pool); bsns.append(b); return b
H = "bsn;birth_date;sex;municipality;spell_type;start_date;end_date;end_reason;flags"
def good():
    return f"{new()};1984-05-06;V;GM0344;bijstand;2021-01-01;2026-03-31;werk;"
bad_elf = new()[:8]
bad_elf += str((int(bsns[-1][8]) + 1) % 10)   # same number, wrong check digit
assert not elf(bad_elf)
bsns.append(bad_elf)
rows = {
    "case1":   f'{new()};1960-05-02;V;GM0344;bij"stand;2020-01-01;;;',
    "case2":   f"{new()};1960-05-02;V;GM0344;bijstand;2020-01-01;;",
    "case3":   f"{bad_elf};1960-05-02;V;GM0344;bijstand;2020-01-01;;;",
    "case4":   f"{new()};1960-05-02;V;GM0344;bijstand;2023-02-30;;;",
    "case5":   f"{new()};1960-05-02;V;GM0344;bijstand;2023-02-10;2023-01-01;werk;",
    "case6":   f"{new()};1960-05-02;V;GM0344;vakantie;2023-02-10;;;",
    "case7":   f"{new()};1960-05-02;V;GM0363;bijstand;2023-02-10;;;",
}
for name, row in rows.items():
    with open(os.path.join(d, name + ".csv"), "w") as f:
        f.write("\n".join([H, good(), good(), row, good()]) + "\n")
# All bad rows in one export, for a non-strict submit in the leak check.
with open(os.path.join(d, "mixed.csv"), "w") as f:
    f.write("\n".join([H, good(), good()] + list(rows.values()) + [good()]) + "\n")
# file1: a 10 MB record on line 3. file2: empty.
with open(os.path.join(d, "file1.csv"), "w") as f:
    f.write(H + "\n" + good() + "\n" + "x" * (10 * 1024 * 1024) + "\n" + good() + "\n")
open(os.path.join(d, "file2.csv"), "w").close()
# Binary garbage (what `head -c 4096 /dev/urandom` plus NULs gives), made deterministic:
# file3 has a NUL in its first line, file4 has its first NUL after the first line
# feed (about half of all random files; a PDF, starting "%PDF-1.7\n", is one too).
g = bytes(r.randrange(256) for _ in range(4096))
first_lf = g.index(b"\n")
nul1 = b"PK\x03\x04\x14\x00\x06\x00" + g + b"\0" * 64
late = g[:first_lf].replace(b"\0", b"\x01") + g[first_lf:] + b"\0" * 64
assert b"\0" in nul1.split(b"\n")[0] and b"\0" not in late.split(b"\n")[0]
open(os.path.join(d, "file3.csv"), "wb").write(nul1)
open(os.path.join(d, "file4.csv"), "wb").write(late)
with open(os.path.join(d, "bsns.txt"), "a") as f:
    f.write("\n".join(bsns) + "\n")
EOF
[ $? -eq 0 ] || { fail "setup: writing the bad exports"; e2e_finish; }

check_args=(--roster "$T/roster.json" --round "$T/round-b.json" --coordinator-key "$T/keys/coord.pub"
    --policy "$T/policies/utrecht.json")

# refused_submit NAME DESCRIPTION [--strict]: a submit of in/NAME.csv must be refused (exit 1)
# and write nothing: no submission, the existing ledger unchanged, a new ledger not created.
refused_submit() {
    local name=$1 what=$2
    shift 2
    submit fermwerk "$T/in/$name.csv" "$T/round-b.json" "$T/out-$name.json" \
        "$T/ledger-fermwerk.db" "$@"
    expect_rc 1 "$what: submit $* (existing ledger)"
    expect_err_contains "$name.csv" "$what: submit names the file"
    expect_absent "$T/out-$name.json" "$what: submit"
    expect_db_unchanged "$T/ledger-fermwerk.db" "$ledger_sha" "$what: refused submit"
    submit fermwerk "$T/in/$name.csv" "$T/round-b.json" "$T/out2-$name.json" \
        "$T/new-ledger-$name.db" "$@"
    expect_rc 1 "$what: submit $* (new ledger)"
    expect_absent "$T/out2-$name.json" "$what: submit"
    expect_absent "$T/new-ledger-$name.db" "$what: refused submit leaves no ledger"
}

# row_case NAME REASON: the bad row on line 4 is excluded with REASON (exit 0), refused with
# --strict (exit 1), and submit --strict writes nothing.
row_case() {
    local name=$1 reason=$2
    section "$reason ($name.csv)"
    run "$C" check --input "$T/in/$name.csv" "${check_args[@]}"
    expect_rc 0 "$reason: check excludes the row and goes on"
    expect_err_contains "$name.csv" "$reason: check names the file"
    expect_err_matches "$reason .*lines 4\$" "$reason: check gives reason and line 4"
    expect_err_matches "3 accepted, 1 excluded" "$reason: check counts the row as excluded"
    run "$C" check --strict --input "$T/in/$name.csv" "${check_args[@]}"
    expect_rc 1 "$reason: check --strict refuses"
    expect_err_contains "$reason" "$reason: check --strict gives the reason"
    expect_err_contains "$name.csv" "$reason: check --strict names the file"
    refused_submit "$name" "$reason" --strict
}

# file_case NAME TEXT [LINE]: the whole file is refused (exit 1) by check, check --strict and
# submit, with TEXT in the message (and NAME.csv:LINE when a line is given).
file_case() {
    local name=$1 text=$2 line=${3:-}
    section "$text ($name.csv)"
    for mode in "" --strict; do
        run "$C" check $mode --input "$T/in/$name.csv" "${check_args[@]}"
        expect_rc 1 "$name: check $mode refuses the file"
        expect_err_contains "$text" "$name: check $mode"
        if [ -n "$line" ]; then
            expect_err_contains "$name.csv:$line" "$name: check $mode names file and line"
        else
            expect_err_contains "$name.csv" "$name: check $mode names the file"
        fi
    done
    refused_submit "$name" "$name"
}

# (File names are neutral: the messages name the file, and the tests look for words in them.)
row_case case1 quoting
row_case case2 columns
row_case case3 bsn_elfproef
row_case case4 date_format
row_case case5 date_order
row_case case6 spell_type_unknown
row_case case7 municipality_outside_region

file_case file1 "longer than" 3
file_case file2 "empty"
file_case file3 "binary" 1
file_case file4 "binary"

section "check --json"
run "$C" check --json --input "$T/in/case3.csv" "${check_args[@]}"
expect_rc 0 "check --json"
check "check --json prints a JSON report on stdout naming bsn_elfproef on line 4" \
    python3 - "$OUT" <<'EOF'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
    sys.exit(0 if d["excluded_by_reason"]["bsn_elfproef"]["first_lines"] == [4] else 1)
except Exception:
    sys.exit(1)
EOF

section "all bad rows at once, submitted without --strict, then a whole round"
submit utrecht "$T/in/mixed.csv" "$T/round.json" "$T/sub-utrecht.json" "$T/ledger-utrecht.db"
expect_rc 0 "submit without --strict excludes the bad rows and submits"
for reason in quoting columns bsn_elfproef date_format date_order spell_type_unknown \
    municipality_outside_region; do
    expect_err_contains "$reason" "mixed export"
done
expect_err_matches "3 accepted, 7 excluded" "mixed export counts"
mkdir -p "$T/sub"
cp "$T/sub-utrecht.json" "$T/sub-fermwerk-a.json" "$T/sub/"
for o in stichtse-vecht lekstroom rsd-krh uwv; do
    submit "$o" "$T/in/$o.csv" "$T/round.json" "$T/sub/$o.json" "$T/ledger-$o.db"
    [ "$RC" -eq 0 ] || { fail "submit $o"; show_output; }
done
finish_round
run "$AU" verify --ca "$T/ca/ca.pem" --coordinator-key "$T/keys/coord.pub" "$T/rel"
expect_rc 0 "the round with the mixed export verifies"
run "$C" show "$T/sub/sub-utrecht.json"
expect_rc 0 "show the mixed submission"

section "no BSN anywhere"
nb=$(grep -c . "$T/in/bsns.txt")
check "the BSN list of the inputs is complete ($nb BSNs)" [ "$nb" -ge 50 ]
leaks=$(grep -rlaF -f "$T/in/bsns.txt" "$T" --exclude-dir=in 2>/dev/null)
if [ -z "$leaks" ]; then
    pass "no input BSN in any message, ledger, submission, store or release"
else
    fail "input BSNs found in: $(echo "$leaks" | sed "s|$T/||g" | tr '\n' ' ')"
fi
# The check itself must be able to find a BSN (guards against a vacuous grep).
head -n 1 "$T/in/bsns.txt" >"$T/log/canary"
check "the leak check finds a planted BSN" grep -rqaF -f "$T/in/bsns.txt" "$T/log"
rm -f "$T/log/canary"

e2e_finish
