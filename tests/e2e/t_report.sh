#!/usr/bin/env bash
# The report for raadsleden (report.html, report.pdf) of a series of three half-years, as a
# browser renders it: every milestone has its figure, margin, trend chart and table; nothing
# is wider than the window at 1280 and at 375 px; printing to PDF works; the PDF carries the
# same figures; earlier releases are verified (publish and auditor) and tampering is caught.
# Needs Debian's chromium and poppler-utils (make test installs them); without them it fails.
. "$(dirname "$0")/lib.sh"

CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ] || ! command -v pdftotext >/dev/null; then
    fail "chromium and pdftotext are needed (apt-get install chromium poppler-utils; make test does it)"
    e2e_finish
fi
browser() { # browser OUTPUT-FLAG... URL: one headless run in a fresh profile
    local prof
    prof=$(mktemp -d "$T/profile.XXXXXX")
    timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --allow-file-access-from-files --user-data-dir="$prof" "$@" 2>>"$T/log/chromium.err"
}

section "a series of three half-years (tools/demo)"
unset MIJLPAAL_NOW # the demo's rounds are published now
run env BIN="$BIN" OUT="$T/demo" "$REPO_DIR/tools/demo"
expect_rc 0 "the demo publishes three half-years and the auditor verifies them"
expect_out_contains "OK: 3 releases verified" "the auditor verifies the whole series"
R=$T/demo/release
for f in report.html report.pdf series/midden-utrecht-2025-01-01-2025-06-30.json \
    series/midden-utrecht-2025-07-01-2025-12-31.json; do
    expect_present "$R/$f" "the last release has $f"
done
check "the series copies are the signed earlier releases, byte for byte" \
    cmp -s "$R/series/midden-utrecht-2025-07-01-2025-12-31.json" \
    "$T/demo/rounds/2025-07-01/release/release.json"
check "report.pdf is a PDF" bash -c 'head -c 5 "$1" | grep -q "%PDF-"' _ "$R/report.pdf"

section "the report's words and numbers"
check "region by its full name, period in words" grep -q \
    "<strong>Arbeidsmarktregio Midden-Utrecht</strong>, <span id=\"period\">1e halfjaar 2026</span>" \
    "$R/report.html"
check "no external resources (self-contained, works offline)" bash -c \
    '! grep -Eq "(src|href)=\"(https?:)?//|@import|url\(" "$1"' _ "$R/report.html"
check "the margin in plain words" grep -q "ligt met 95% zekerheid tussen" "$R/report.html"
check "the technical details are in the appendix" grep -q 'id="bijlage"' "$R/report.html"
check "the pijlers of the agenda are the headings" grep -q "<h2>Impuls banenafspraak</h2>" \
    "$R/report.html"
check "progress to the target of the Werkbeweging" grep -q 'class="progress"' "$R/report.html"
# The figure of uitstroom_werk in the signed release, in Dutch, in both renderings.
fig=$(python3 - "$R/release.json" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))["body"]
v = [c for c in b["cells"] if c["name"] == "uitstroom_werk"][0]["value"]
print(f"{v:,}".replace(",", "."))
PY
)
check "report.html shows the figure $fig" grep -q "<p class=\"figure\">$fig personen</p>" "$R/report.html"
pdftotext -layout "$R/report.pdf" "$T/report.txt"
check "report.pdf shows the same figure $fig" grep -q "$fig personen" "$T/report.txt"
check "report.pdf has the same margin sentence" grep -q "ligt met 95% zekerheid tussen" "$T/report.txt"

section "publishing again gives the same bytes; the PDF is reproducible on this machine"
cd "$T/demo" || exit 2
run "$A" publish --db aggregator.db --key keys/coordinator.key --insecure-plaintext-key \
    --out-dir "$T/again" --previous rounds/2025-01-01/release --previous rounds/2025-07-01/release
expect_rc 0 "publish of the published round again"
check "report.html is the same" cmp -s "$R/report.html" "$T/again/report.html"
check "report.pdf is the same" cmp -s "$R/report.pdf" "$T/again/report.pdf"

section "publish refuses earlier releases that are not of this series"
run "$A" publish --db aggregator.db --key keys/coordinator.key --insecure-plaintext-key \
    --out-dir "$T/bad1" --previous release
expect_rc 1 "the round itself as its own predecessor"
expect_err_contains "does not end before" "says why"
expect_absent "$T/bad1" "nothing written"
cp -r rounds/2025-01-01/release "$T/forged"
python3 - "$T/forged/release.json" <<'PY'
import sys
p = sys.argv[1]; s = open(p).read()
open(p, "w").write(s.replace('"value":', '"value":1', 1))
PY
run "$A" publish --db aggregator.db --key keys/coordinator.key --insecure-plaintext-key \
    --out-dir "$T/bad2" --previous "$T/forged"
expect_rc 1 "an earlier release whose figures were changed"
expect_err_contains "not signed by the roster's coordinator" "says why"
expect_absent "$T/bad2" "nothing written"
cd "$T" || exit 2

section "the auditor re-renders report.html from the signed series"
cp -r "$R" "$T/t1"
rm "$T/t1/series/midden-utrecht-2025-01-01-2025-06-30.json"
run "$AU" verify --ca "$T/demo/ca/ca.pem" --coordinator-key "$T/demo/keys/coordinator.pub" "$T/t1"
expect_rc 1 "an earlier release removed from series/"
expect_err_contains "report.html does not say" "the report no longer follows"
cp -r "$R" "$T/t2"
cp "$T/forged/release.json" "$T/t2/series/midden-utrecht-2025-01-01-2025-06-30.json"
run "$AU" verify --ca "$T/demo/ca/ca.pem" --coordinator-key "$T/demo/keys/coordinator.pub" "$T/t2"
expect_rc 1 "an earlier release with a changed figure"
cp -r "$R" "$T/t3"
cp "$T/demo/rounds/2025-07-01/release/report.pdf" "$T/t3/report.pdf"
run "$AU" verify --ca "$T/demo/ca/ca.pem" --coordinator-key "$T/demo/keys/coordinator.pub" "$T/t3"
expect_rc 1 "the PDF of another release"
expect_err_contains "report.pdf is not the PDF of this release" "says why"

section "a round with dropouts warns visibly"
run env BIN="$BIN" OUT="$T/drop" "$REPO_DIR/tools/demo-dropout"
expect_rc 0 "the dropout demo"
check "the warning names the missing organisation and when it dropped out" grep -q \
    'id="dropout"><p><strong>Let op: 1 van de 6 organisaties ontbreekt in deze cijfers.</strong> De tellingen van Werk &amp; Inkomen Lekstroom (viel uit tijdens de ronde) zijn niet aangeleverd' \
    "$T/drop/release/report.html"
pdftotext "$T/drop/release/report.pdf" "$T/drop.txt"
check "report.pdf has the same warning" grep -q "Let op: 1 van de 6 organisaties ontbreekt" "$T/drop.txt"

# The page is measured inside an iframe of the given width (a headless window cannot be
# narrower than 500 px); the script writes its findings into the DOM that --dump-dom prints.
measure() { # measure REPORT WIDTH MILESTONES NPERIODS
    local dir
    dir=$(dirname "$1")
    cat >"$dir/measure-$2.html" <<EOF2
<!DOCTYPE html><html><body style="margin:0">
<iframe id="f" src="$(basename "$1")" style="border:0;width:$2px;height:900px"></iframe>
<script>
document.getElementById('f').addEventListener('load', () => {
  const win = document.getElementById('f').contentWindow, d = win.document, w = win.innerWidth;
  const problems = [];
  if (d.documentElement.scrollWidth > w) problems.push('page scrolls sideways: ' + d.documentElement.scrollWidth);
  for (const e of d.querySelectorAll('body *')) {
    const r = e.getBoundingClientRect();
    if (r.width > 0 && (r.right > w + 0.5 || r.left < -0.5))
      problems.push('wider than the window: ' + e.tagName + '.' + e.className + ' ' + Math.round(r.right));
  }
  for (const id of '$3'.split(' ')) {
    const s = d.querySelector('section[data-milestone="' + id + '"]');
    if (!s) { problems.push('no section for ' + id); continue; }
    const fig = s.querySelector('.figure'), mar = s.querySelector('.margin');
    const svg = s.querySelector('svg.trend'), tab = s.querySelector('table.series');
    if (!fig || fig.textContent.trim() === '') problems.push(id + ': no figure');
    if (!mar || !/95%/.test(mar.textContent)) problems.push(id + ': no margin');
    if (!svg || svg.getBoundingClientRect().width < 100 || !svg.querySelector('title') ||
        svg.getAttribute('role') !== 'img' || !svg.querySelector('circle,rect,polygon'))
      problems.push(id + ': no trend chart');
    if (!tab || tab.tBodies[0].rows.length !== $4) problems.push(id + ': table does not have $4 periods');
  }
  const out = document.createElement('pre');
  out.id = 'result';
  out.textContent = problems.length ? problems.slice(0, 20).join('; ') : 'LAYOUT-OK';
  document.body.appendChild(out);
});
</script></body></html>
EOF2
    browser --window-size=1400,900 --dump-dom "file://$dir/measure-$2.html" >"$dir/dom-$2.txt"
    grep -o '<pre id="result">[^<]*' "$dir/dom-$2.txt" | sed 's/<pre id="result">//'
}
ids=$(python3 - "$REPO_DIR/data/catalogues/midden-utrecht.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
print(" ".join([m["id"] for m in c["metrics"]] + [r["id"] for r in c["rates"]]))
PY
)
section "chromium: every milestone present, nothing wider than the window"
for w in 1280 375; do
    res=$(measure "$R/report.html" "$w" "$ids" 3)
    if [ "$res" = LAYOUT-OK ]; then pass "at $w px: all milestones with figure, margin, chart and table; no overflow"
    else fail "at $w px: ${res:-no result from chromium (see $T/log/chromium.err)}"; fi
done
res=$(measure "$T/drop/release/report.html" 375 "uitstroom_werk" 1)
if [ "$res" = LAYOUT-OK ]; then pass "the dropout report at 375 px"; else fail "dropout report at 375 px: $res"; fi

section "chromium: print to PDF"
browser --no-pdf-header-footer --print-to-pdf="$T/printed.pdf" "file://$R/report.html" >/dev/null
check "print-to-PDF wrote a PDF" bash -c 'head -c 5 "$1" | grep -q "%PDF-"' _ "$T/printed.pdf"
pages=$(pdfinfo "$T/printed.pdf" 2>/dev/null | awk '/^Pages:/ { print $2 }')
check "the printed report has several pages ($pages)" test "${pages:-0}" -ge 3
pdftotext "$T/printed.pdf" "$T/printed.txt"
check "the printed report has the figure $fig" grep -q "$fig personen" "$T/printed.txt"

e2e_finish
