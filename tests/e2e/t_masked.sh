#!/usr/bin/env bash
# What leaves an organisation is masked: the cells of one submission look like uniform 64-bit
# numbers, not counts, while the sum over all submissions (mod 2^64) is exactly the release's
# small noisy totals.
. "$(dirname "$0")/lib.sh"

full_round || e2e_finish

section "one submission's cells are masked"
check "every cell of each submission is at least 2^32 or its negation is (uniform 64-bit values)" \
    python3 - "$T"/sub/*.json <<'EOF2'
import base64, json, struct, sys
# P(a uniform 64-bit value lies within 2^32 of 0 mod 2^64) = 2^-31 per cell.
bad = 0
for p in sys.argv[1:]:
    body = json.load(open(p))["body"]
    raw = base64.b64decode(body["masked"])
    n = body["cells"]
    assert n == 8 and len(raw) == 8 * n, (n, len(raw))
    for v in struct.unpack("<%dQ" % n, raw):
        if v < 2**32 or v > 2**64 - 2**32:
            bad += 1
            print("small cell %d in %s" % (v, p))
sys.exit(0 if bad == 0 else 1)
EOF2
check "two organisations with the same export shape send unrelated cells" python3 - \
    "$T/sub/utrecht.json" "$T/sub/uwv.json" <<'EOF2'
import base64, json, sys
a, b = (base64.b64decode(json.load(open(p))["body"]["masked"]) for p in sys.argv[1:3])
sys.exit(0 if a != b and len(a) == len(b) else 1)
EOF2

section "the release's figures are small and are the sum of the masked cells"
check "release noisy totals are small numbers" python3 - "$T/rel/release.json" <<'EOF2'
import json, sys
cells = json.load(open(sys.argv[1]))["body"]["cells"]
sys.exit(0 if len(cells) == 8 and all(-100 < c["noisy"] < 100 for c in cells) else 1)
EOF2
check "sum of the six masked vectors mod 2^64 equals the release's noisy cells" python3 - \
    "$T/rel/release.json" "$T"/sub/*.json <<'EOF2'
import base64, json, struct, sys
cells = json.load(open(sys.argv[1]))["body"]["cells"]
total = [0] * len(cells)
for p in sys.argv[2:]:
    body = json.load(open(p))["body"]
    for i, v in enumerate(struct.unpack("<%dQ" % body["cells"], base64.b64decode(body["masked"]))):
        total[i] = (total[i] + v) % 2**64
signed = [t - 2**64 if t >= 2**63 else t for t in total]
sys.exit(0 if signed == [c["noisy"] for c in cells] else 1)
EOF2
# Every organisation exported 2 1 1 0 2 0 1 1 (see make_export): with rho 1 the released
# totals are near 12 and 12 (noise sd about 3 per cell; 20 is more than 6 sd).
check "the totals are near the true counts (12, 12) with rho 1" python3 - "$T/rel/release.json" <<'EOF2'
import json, sys
cells = json.load(open(sys.argv[1]))["body"]["cells"]
sys.exit(0 if abs(cells[0]["noisy"] - 12) <= 20 and abs(cells[4]["noisy"] - 12) <= 20 else 1)
EOF2

e2e_finish
