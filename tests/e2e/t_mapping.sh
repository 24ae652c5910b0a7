#!/usr/bin/env bash
# An export as a case system writes it: Windows-1252 ("Reden beëindiging" with byte 0xEB),
# ';' separators, CRLF, no BOM, DD-MM-YYYY dates and the organisation's own codes, read through
# a mapping file. It must be accepted whole and counted exactly. Even at the largest budget
# (rho 1000) a cell's noise is non-zero with probability ~2%, so the exact counts are read as
# the per-cell median of seven independent rounds (each in its own series, so each has its own
# budget): a wrong median needs four of seven draws off, about 5e-5 for the whole test.
. "$(dirname "$0")/lib.sh"

make_catalogue "$T/cat.json"
POLICY_SERIES="midden-utrecht m1 m2 m3 m4 m5 m6 m7" setup_keys || e2e_finish
make_roster "$T/roster.json" "$T/keys/coord.key" || e2e_finish
RHO=1000 open_round "$T/agg.db" "$T/roster.json" "$T/round.json" || e2e_finish
for o in $ORGS; do make_export "$T/in/$o.csv" "$o"; done

cat >"$T/in/mapping.json" <<'EOF'
{
  "mijlpaal_mapping": 1,
  "columns": {
    "bsn": "BSN", "birth_date": "Geboortedatum", "sex": "Geslacht",
    "municipality": "Gemeente", "spell_type": "Regeling", "start_date": "Ingangsdatum",
    "end_date": "Einddatum", "end_reason": "Reden be\u00ebindiging", "flags": "Kenmerken"
  },
  "date_format": "DD-MM-YYYY",
  "values": {
    "spell_type": { "PW": "bijstand", "IOAW": "ioaw", "DGR": "doelgroepenregister" },
    "end_reason": { "Werk aanvaard": "werk", "Scholing": "opleiding", "Geëmigreerd": "verhuizing" },
    "sex": { "Man": "M", "Vrouw": "V", "Onbekend": "X" },
    "flags": { "SH": "statushouder", "AO": "alleenstaande_ouder" }
  },
  "flags_separator": ","
}
EOF

# Utrecht's export, counts: uitstroom_werk 3 (tot 25: 1, 25-54: 1, 55+: 1),
# bijstand_stand 2 (25-54: 1, 55+: 1); the other rows do not count.
mapfile -t mapping_bsns < <(gen_bsns 8 mapping)
python3 - "$T/in/utrecht-cp1252.csv" "$T/in/bsns.txt" "${mapping_bsns[@]}" <<'EOF'
import sys
b = sys.argv[3:11]
rows = [
    "BSN;Geboortedatum;Geslacht;Gemeente;Regeling;Ingangsdatum;Einddatum;Reden beëindiging;Kenmerken;Opmerking",
    f"{b[0]};10-08-2003;Vrouw;344;PW;01-02-2024;31-03-2026;Werk aanvaard;;",
    f'{b[1]};15-09-1985;Man;0356;PW;01-05-2021;28-02-2026;Werk aanvaard;"SH,AO";"café; ""Brug"""',
    f"{b[2]};20-01-1990;Onbekend;GM0344;PW;01-06-2019;;;;",
    f"{b[3]};02-11-1963;Vrouw;GM0632;PW;01-01-2015;;;AO;",
    f"{b[4]};04-04-1970;Man;GM0355;PW;01-01-2020;30-04-2026;Geëmigreerd;;verhuisd naar België",
    f"{b[5]};05-05-1965;Vrouw;1904;PW;01-01-2018;31-05-2026;Werk aanvaard;;",
    f"{b[6]};12-12-1980;Man;GM0344;IOAW;01-01-2022;;;;",
    f"{b[7]};07-07-1995;Vrouw;GM0344;DGR;01-03-2023;;;;",
]
data = ("\r\n".join(rows) + "\r\n").encode("cp1252")
open(sys.argv[1], "wb").write(data)
open(sys.argv[2], "a").write("\n".join(b) + "\n")
EOF

section "the fixture is what Excel writes"
f=$T/in/utrecht-cp1252.csv
check "header holds 'Reden be\\xebindiging' (Windows-1252 byte 0xEB)" \
    bash -c 'head -n 1 "$1" | grep -q "$(printf "be\353indiging")"' _ "$f"
check "no BOM" bash -c '[ "$(head -c 3 "$1" | od -An -tx1 | tr -d " \n")" != efbbbf ]' _ "$f"
check "CRLF line ends" bash -c '[ "$(grep -c $'"'"'\r$'"'"' "$1")" -eq 9 ]' _ "$f"
check "not valid UTF-8" bash -c '! python3 -c "import sys; open(sys.argv[1], encoding=\"utf-8\").read()" "$1" 2>/dev/null' _ "$f"

section "check and submit through the mapping"
args=(--roster "$T/roster.json" --round "$T/round.json" --coordinator-key "$T/keys/coord.pub"
    --policy "$T/policies/utrecht.json")
run "$C" check --input "$f" "${args[@]}"
check "without the mapping the export is refused (exit $RC)" [ "$RC" -eq 1 ]
run "$C" check --input "$f" --mapping "$T/in/mapping.json" --strict "${args[@]}"
expect_rc 0 "check --strict with the mapping"
expect_err_contains "8 accepted, 0 excluded" "every row is accepted"
expect_err_contains "Opmerking" "the unused column is reported"
mkdir -p "$T/sub"
submit utrecht "$f" "$T/round.json" "$T/sub/utrecht.json" "$T/ledger-utrecht.db" \
    --mapping "$T/in/mapping.json" --strict
expect_rc 0 "submit --strict with the mapping"
for o in stichtse-vecht lekstroom fermwerk rsd-krh uwv; do
    submit "$o" "$T/in/$o.csv" "$T/round.json" "$T/sub/$o.json" "$T/ledger-$o.db"
    [ "$RC" -eq 0 ] || { fail "submit $o"; show_output; }
done

section "the round completes and counts the mapped rows"
finish_round || e2e_finish
run "$AU" verify --ca "$T/ca/ca.pem" --coordinator-key "$T/keys/coord.pub" "$T/rel"
expect_rc 0 "auditor verifies the release"
expect_out_contains "OK:" "auditor"

# Six more rounds in their own series, with the same exports.
for r in 2 3 4 5 6 7; do
    RHO=1000 open_round "$T/agg.db" "$T/roster.json" "$T/round-$r.json" --series "m$r" \
        --round-id "m$r" || e2e_finish
    mkdir -p "$T/sub-$r"
    submit utrecht "$f" "$T/round-$r.json" "$T/sub-$r/utrecht.json" "$T/ledger-utrecht.db" \
        --mapping "$T/in/mapping.json" --strict
    [ "$RC" -eq 0 ] || { fail "submit utrecht round $r"; show_output; }
    for o in stichtse-vecht lekstroom fermwerk rsd-krh uwv; do
        submit "$o" "$T/in/$o.csv" "$T/round-$r.json" "$T/sub-$r/$o.json" "$T/ledger-$o.db"
        [ "$RC" -eq 0 ] || { fail "submit $o round $r"; show_output; }
    done
    run "$A" round import --db "$T/agg.db" --coordinator-key "$T/keys/coord.pub" \
        "$T/sub-$r"/*.json
    run "$A" round close --db "$T/agg.db" --coordinator-key "$T/keys/coord.pub" --round "m$r"
    run "$A" publish --db "$T/agg.db" --key "$T/keys/coord.key" --insecure-plaintext-key \
        --round "m$r" --out-dir "$T/rel-$r"
    [ "$RC" -eq 0 ] || { fail "publish round $r"; show_output; }
done

# Five canonical exports (2 1 1 0 2 0 1 1 each) plus Utrecht's (3 1 1 1 2 0 1 1).
expected="13 6 6 1 12 0 6 6"
got=$(python3 - "$T/rel/release.json" "$T"/rel-*/release.json <<'EOF2'
import json, statistics, sys
rounds = [[c["noisy"] for c in json.load(open(p))["body"]["cells"]] for p in sys.argv[1:]]
print(" ".join(str(int(statistics.median(col))) for col in zip(*rounds)))
EOF2
)
check "the median noisy sums of 7 rounds are the true counts (expected '$expected', got '$got')" \
    [ "$got" = "$expected" ]
check "every round is within 2 of the true counts in every cell" python3 - "$expected" \
    "$T/rel/release.json" "$T"/rel-*/release.json <<'EOF2'
import json, sys
want = [int(x) for x in sys.argv[1].split()]
for p in sys.argv[2:]:
    got = [c["noisy"] for c in json.load(open(p))["body"]["cells"]]
    if len(got) != len(want) or any(abs(g - w) > 2 for g, w in zip(got, want)):
        sys.exit(1)
EOF2

e2e_finish
run "$AU" verify --ca "$T/ca/ca.pem" --coordinator-key "$T/keys/coord.pub" "$T/rel"
expect_rc 0 "auditor verifies the release"
expect_out_contains "OK:" "auditor"
# Five canonical exports (2 1 1 0 2 0 1 1 each) plus Utrecht's (3 1 1 1 2 0 1 1).
expected="13 6 6 1 12 0 6 6"
got=$(release_values "$T/rel/release.json" value)
check "published counts are the true counts with rho 1000 (expected '$expected', got '$got')" \
    [ "$got" = "$expected" ]
got=$(release_values "$T/rel/release.json" noisy)
check "noisy sums are the true counts with rho 1000 (got '$got')" [ "$got" = "$expected" ]

e2e_finish
