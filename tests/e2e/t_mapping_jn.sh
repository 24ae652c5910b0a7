#!/usr/bin/env bash
# A case-system export with J/N indicator columns (docs/input-format.md, "Indicator columns")
# counts exactly what the same data counts in canonical form. The synthetic Utrecht export is
# rewritten the way such systems write it: the person characteristics as J/N columns (Ja/Nee,
# J/N, 1/0, true/false, y mixed), each doelgroepenregister registration as a J/N column with
# its own start and end columns on another row of the person, the start date spread over two
# columns (first non-empty wins), and sex as Man/Vrouw/Onbekend with a "*" default. The
# milestone counts of `check --json` must be equal; the mapping check must show every source.
. "$(dirname "$0")/lib.sh"

S=$BIN/mijlpaal-synth
[ -x "$S" ] || { echo "$TEST_NAME: $S is missing" >&2; exit 2; }
setup_keys || e2e_finish
make_roster "$T/roster.json" "$T/keys/coord.key" || e2e_finish
cp "$REPO_DIR/data/catalogues/midden-utrecht.json" "$T/cat.json"
open_round "$T/agg.db" "$T/roster.json" "$T/round.json" || e2e_finish
run "$S" --region "$REGION" --out-dir "$T/syn" --seed 14
expect_rc 0 "synthetic exports"

chk() { # chk INPUT OUT.json [ARGS...]: check --json into OUT
    local in=$1 out=$2
    shift 2
    run "$C" check --input "$in" --roster "$T/roster.json" --round "$T/round.json" \
        --coordinator-key "$T/keys/coord.pub" --policy "$T/policies/utrecht.json" --json "$@"
    cp "$OUT" "$out"
}

chk "$T/syn/utrecht.csv" "$T/canonical.json" --report "$T/canonical-rows.csv"
expect_rc 0 "the canonical export is usable"

python3 - "$T/syn/utrecht.csv" "$T/canonical-rows.csv" "$T/jn.csv" "$T/jn.mapping.json" <<'EOF'
import csv, json, sys
src, rows_report, out, mapping = sys.argv[1:]
excluded = {int(r["line"]): r["reason"] for r in csv.DictReader(open(rows_report))}
text = open(src, encoding="utf-8-sig", newline="").read()
sep = "," if text.splitlines()[0].count(",") > text.splitlines()[0].count(";") else ";"
reader = csv.reader(text.splitlines(), delimiter=sep)
header = [h.strip() for h in next(reader)]
rows = []
for line, r in enumerate(reader, start=2):
    rows.append((line, dict(zip(header, r)) if len(r) == len(header) else r))
YES, NO = ["J", "Ja", "ja", "1", "true", "Y"], ["N", "Nee", "0", "false", ""]
def person(r):
    b = r["bsn"].strip()
    return b.zfill(9) if b.isdigit() else None
# Clean doelgroepenregister rows without an end reason move onto another clean row of the person.
host, moved, firsts = {}, set(), {}
for line, r in rows:
    if isinstance(r, dict) and line not in excluded and person(r):
        firsts.setdefault(person(r), []).append((line, r))
for p, rs in firsts.items():
    dgr = [x for x in rs if x[1]["spell_type"] == "doelgroepenregister" and not x[1]["end_reason"]]
    others = [x for x in rs if x not in dgr]
    for (dl, d), (hl, h) in zip(dgr, others):
        host[hl] = d
        moved.add(dl)
cols = ["Klantnummer", "BSN", "Geboortedatum", "Geslacht", "Gemeente", "Regeling", "Ingangsdatum",
        "Startdatum oud", "Einddatum", "Reden einde", "Doelgroepregister J/N", "DGR vanaf",
        "DGR tot", "Statushouder", "Alleenstaande ouder", "Partner"]
sexes = {"M": "Man", "V": "Vrouw", "X": "Onbekend", "": ""}
n = 0
with open(out, "w", newline="") as f:
    w = csv.writer(f, delimiter=";", lineterminator="\r\n")
    w.writerow(cols)
    for line, r in rows:
        if line in moved:
            continue
        n += 1
        if not isinstance(r, dict):  # a row with the wrong number of fields stays wrong
            w.writerow([n] + r)
            continue
        flags = r.get("flags", "").split("|") if r.get("flags") else []
        known = {"statushouder", "alleenstaande_ouder", "partner"}
        def ind(name):
            if any(fl.strip() not in known for fl in flags):
                return "misschien"  # a row refused for an unknown flag stays refused
            return YES[n % len(YES)] if name in flags else NO[n % len(NO)]
        d = host.get(line)
        start_new, start_old = (r["start_date"], "") if n % 3 else ("", r["start_date"])
        w.writerow([n, r["bsn"], r["birth_date"], sexes.get(r["sex"], r["sex"]), r["municipality"],
                    r["spell_type"], start_new, start_old, r["end_date"], r["end_reason"],
                    YES[n % len(YES)] if d else NO[n % len(NO)], d["start_date"] if d else "",
                    d["end_date"] if d else "", ind("statushouder"), ind("alleenstaande_ouder"),
                    ind("partner")])
json.dump({
    "mijlpaal_mapping": 1,
    "columns": {"bsn": "BSN", "birth_date": "Geboortedatum", "sex": "Geslacht",
                "municipality": "Gemeente", "spell_type": "Regeling",
                "start_date": ["Ingangsdatum", "Startdatum oud"], "end_date": "Einddatum",
                "end_reason": "Reden einde"},
    "values": {"sex": {"Man": "M", "Vrouw": "V", "*": "X"}},
    "indicators": [
        {"column": "Doelgroepregister J/N", "spell_type": "doelgroepenregister",
         "start_date": "DGR vanaf", "end_date": "DGR tot"},
        {"column": "Statushouder", "flag": "statushouder"},
        {"column": "Alleenstaande ouder", "flag": "alleenstaande_ouder"},
        {"column": "Partner", "flag": "partner"}]}, open(mapping, "w"), indent=1)
print(f"{len(moved)} doelgroepenregister rows moved into J/N columns", file=sys.stderr)
EOF
check "the J/N export was written" test -s "$T/jn.csv"
check "it has no flags or doelgroepenregister rows left to carry them" \
    sh -c "! head -1 '$T/jn.csv' | grep -qi flags"

chk "$T/jn.csv" "$T/jn.json" --mapping "$T/jn.mapping.json"
expect_rc 0 "the J/N export is usable with its mapping"
python3 - "$T/canonical.json" "$T/jn.json" >"$T/cmp.txt" 2>&1 <<'EOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
pa, pb = a["persons_per_metric"], b["persons_per_metric"]
bad = [k for k in pa if pa[k] != pb.get(k)]
for k in pa:
    print(f"{k}: canonical {pa[k]}, J/N {pb.get(k)}")
print("persons", a["persons"], b["persons"])
m = b["mapping"]
assert m["start_date"]["Ingangsdatum"] > 0 and m["start_date"]["Startdatum oud"] > 0, m["start_date"]
i = m["indicators"]
assert i["Doelgroepregister J/N"]["yes"] > 100, i["Doelgroepregister J/N"]
assert i["Doelgroepregister J/N"]["indicator"] == "doelgroepenregister"
assert i["Statushouder"]["yes"] > 100 and i["Partner"]["yes"] > 100
assert pa["dgr_stand"] > 0 and pa["uitstroom_focusgroepen"] > 0
sys.exit(1 if bad or a["persons"] != b["persons"] else 0)
EOF
check "every milestone count and the persons are equal (see cmp.txt)" test $? -eq 0
[ "$FAILED" -eq 0 ] || cat "$T/cmp.txt"

section "indicator values and mapping errors"
{
    echo "bsn;birth_date;municipality;spell_type;start_date;DGR"
    echo "111222333;1980-01-01;GM0344;bijstand;2024-01-01;misschien"
} >"$T/bad-jn.csv"
echo '{"mijlpaal_mapping":1,"indicators":[{"column":"DGR","spell_type":"doelgroepenregister"}]}' \
    >"$T/bad-jn.mapping.json"
run "$C" check --input "$T/bad-jn.csv" --roster "$T/roster.json" --round "$T/round.json" \
    --coordinator-key "$T/keys/coord.pub" --policy "$T/policies/utrecht.json" --mapping "$T/bad-jn.mapping.json"
expect_rc 1 "an indicator value that is not J/N excludes the row"
expect_err_contains "indicator_unknown" "with its own reason"
echo '{"mijlpaal_mapping":1,"indicators":[{"column":"DGR","flag":"dgr"}]}' >"$T/bad-flag.json"
run "$C" check --input "$T/bad-jn.csv" --roster "$T/roster.json" --round "$T/round.json" \
    --coordinator-key "$T/keys/coord.pub" --policy "$T/policies/utrecht.json" --mapping "$T/bad-flag.json"
expect_rc 1 "an indicator of an unknown flag is refused"
expect_err_contains 'unknown flag "dgr"' "the mapping error names it"
echo '{"mijlpaal_mapping":1,"indicators":[{"column":"Geen","flag":"statushouder"}]}' \
    >"$T/missing.json"
run "$C" check --input "$T/bad-jn.csv" --roster "$T/roster.json" --round "$T/round.json" \
    --coordinator-key "$T/keys/coord.pub" --policy "$T/policies/utrecht.json" --mapping "$T/missing.json"
expect_rc 1 "an indicator column missing from the export is refused"
expect_err_contains 'indicator column "Geen"' "and named"

e2e_finish
