#!/usr/bin/env bash
# The auditor must reject a release directory that was changed after publishing, and a
# release checked against the wrong coordinator key.
. "$(dirname "$0")/lib.sh"

full_round || e2e_finish
CK=$T/keys/coord.pub

run "$AU" verify --ca "$T/ca/ca.pem" --coordinator-key "$CK" "$T/rel"
expect_rc 0 "the untouched release verifies"

# tampered NAME: a fresh copy of the release in $T/NAME (echoes its path)
tampered() {
    rm -rf "${T:?}/$1"
    cp -r "$T/rel" "$T/$1"
    echo "$T/$1"
}

# refused_verify DESCRIPTION DIR [KEY]
refused_verify() {
    run "$AU" verify --ca "$T/ca/ca.pem" --coordinator-key "${3:-$CK}" "$2"
    expect_rc 1 "$1: auditor refuses"
    if grep -q '^OK' "$OUT" "$ERR"; then
        fail "$1: auditor still prints OK"
    else
        pass "$1: auditor does not print OK"
    fi
}

section "(a) a number in release.csv edited"
d=$(tampered csv)
python3 - "$d/release.csv" <<'EOF'
import sys
p = sys.argv[1]
lines = open(p, encoding="utf-8-sig", newline="").read().split("\r\n")
f = lines[1].split(";")          # first data row: a metric's total
f[3] = str(int(f[3]) + 1)        # "Aantal personen"
lines[1] = ";".join(f)
open(p, "w", encoding="utf-8-sig", newline="").write("\r\n".join(lines))
EOF
check "release.csv was changed" bash -c '! cmp -s "$1" "$2"' _ "$T/rel/release.csv" "$d/release.csv"
refused_verify "release.csv total +1" "$d"

section "(a') a number in report.html edited"
d=$(tampered html)
python3 - "$d/report.html" "$T/rel/release.json" <<'EOF'
import json, re, sys
p = sys.argv[1]
s = open(p, encoding="utf-8").read()
# Change a published figure (as the report writes it: 1.234): the first cell shown as a number
# (small cells are shown as a range, and which cells are small depends on the noise).
dutch = lambda n: f"{n:,}".replace(",", ".")
m = None
for c in json.load(open(sys.argv[2]))["body"]["cells"]:
    if c.get("shown_as", "value") != "value" or c.get("suppressed"):
        continue
    v = c["value"]
    m = re.search(r">\s*%s( personen)?\s*<" % re.escape(dutch(v)), s)
    if m is not None:
        break
if m is None:
    sys.exit("no figure shown as a number found in report.html")
s = s[:m.start()] + m.group(0).replace(dutch(v), dutch(v + 7)) + s[m.end():]
open(p, "w", encoding="utf-8").write(s)
EOF
check "report.html was changed" bash -c '! cmp -s "$1" "$2"' _ "$T/rel/report.html" "$d/report.html"
refused_verify "report.html figure +7" "$d"

section "(a'') a value in the signed release.json edited"
d=$(tampered json)
python3 - "$d/release.json" <<'EOF'
import sys
p = sys.argv[1]
s = open(p).read()
i = s.index('"value":') + len('"value":')
j = i
while s[j].isdigit() or s[j] == "-":
    j += 1
s = s[:i] + str(int(s[i:j]) + 1) + s[j:]
open(p, "w").write(s)
EOF
refused_verify "release.json value +1" "$d"

section "(b) one submission removed"
d=$(tampered nosub)
rm "$d/submissions/lekstroom.json"
refused_verify "submissions/lekstroom.json removed" "$d"

section "(b') one submission replaced by another organisation's"
d=$(tampered swapsub)
cp "$d/submissions/uwv.json" "$d/submissions/lekstroom.json"
refused_verify "submissions/lekstroom.json replaced by uwv.json" "$d"

section "(c) roster.json replaced by one signed by another coordinator"
mkdir -p "$T/keys2"
run "$A" keygen --org coordinator --secret-key "$T/keys2/coord.key" \
    --public-key "$T/keys2/coord.pub" --insecure-plaintext-key
make_roster "$T/roster-other.json" "$T/keys2/coord.key" "$T/keys"
d=$(tampered roster)
cp "$T/roster-other.json" "$d/roster.json"
refused_verify "roster of another coordinator" "$d"
refused_verify "roster of another coordinator, checked with that coordinator's key" "$d" \
    "$T/keys2/coord.pub"

section "(d) the wrong coordinator key"
refused_verify "untouched release, another coordinator's key" "$T/rel" "$T/keys2/coord.pub"
refused_verify "untouched release, an organisation's key as coordinator key" "$T/rel" "$T/keys/utrecht.pub"

section "the original is still fine"
run "$AU" verify --ca "$T/ca/ca.pem" --coordinator-key "$CK" "$T/rel"
expect_rc 0 "the untouched release still verifies"

e2e_finish
