#!/usr/bin/env bash
# A round with Skellam noise instead of the distributed discrete Gaussian: calibrated by the
# coordinator, added by every contributor with the exact Skellam sampler, verified by the
# auditor; the figures stay near the truth and the release names the mechanism.
. "$(dirname "$0")/lib.sh"

make_catalogue "$T/cat.json"
setup_keys || e2e_finish
make_roster "$T/roster.json" "$T/keys/coord.key" || e2e_finish
for o in $ORGS; do make_export "$T/in/$o.csv" "$o"; done
open_round "$T/agg.db" "$T/roster.json" "$T/round.json" --mechanism skellam || e2e_finish
check "the round asks for Skellam noise with a calibrated share variance" python3 - \
    "$T/round.json" <<'EOF2'
import json, sys
p = json.load(open(sys.argv[1]))["body"]["privacy"]
v = p["share_variance"]
sys.exit(0 if p["mechanism"] == "skellam" and v["num"] > 0 and v["den"] == 1000 else 1)
EOF2
submit_all "$T/sub" || e2e_finish
finish_round || e2e_finish
run "$AU" verify --ca "$T/ca/ca.pem" --coordinator-key "$T/keys/coord.pub" "$T/rel"
expect_rc 0 "the auditor verifies a Skellam release"
check "the release names the mechanism and its totals are near the true 12 and 12" python3 - \
    "$T/rel/release.json" <<'EOF2'
import json, sys
b = json.load(open(sys.argv[1]))["body"]
c = b["cells"]
ok = b["privacy"]["mechanism"] == "skellam"
ok = ok and abs(c[0]["noisy"] - 12) <= 20 and abs(c[4]["noisy"] - 12) <= 20
sys.exit(0 if ok else 1)
EOF2
run "$A" round open --db "$T/agg2.db" --roster "$T/roster.json" --catalogue "$T/cat.json" \
    --period "$PERIOD" --deadline "$DEADLINE" --rho 1 --series-rho 10 --mechanism laplace \
    --key "$T/keys/coord.key" --insecure-plaintext-key --out "$T/r2.json"
expect_rc 1 "an unknown mechanism is refused"
expect_err_contains "mechanism" "the refusal names the mechanism"
expect_absent "$T/r2.json" "no round file for the refused mechanism"

e2e_finish
