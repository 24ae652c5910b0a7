#!/usr/bin/env bash
# The guides as tests: every ```sh block of README.md and docs/guide-*.md (and docs/server.md)
# is run verbatim, in order, one script per guide (tests/guides/extract.py; the block
# convention is in docs/decisions.md, G1), with the programs as `make install` installs them.
#
#   README.md              in the source tree: make, make install PREFIX="$HOME/.local" (HOME
#                          is this test's own), so the install itself is tested
#   guide-coordinator.md   in a fresh directory: the rehearsal of a whole round, with the test
#                          CA, the six data officers running guide-data-officer.md's blocks
#                          (its parts, included by the coordinator guide) and publication
#   guide-auditor.md       in a fresh directory next to it: verify the release and the log
# then make uninstall. The clock is the real one (no MIJLPAAL_NOW): the guides write their
# deadlines relative to today, so this passes on any day, as a pasted command must.
. "$(dirname "$0")/lib.sh"
unset MIJLPAAL_NOW

X=$REPO_DIR/tests/guides/extract.py
GUIDES=(README.md docs/guide-data-officer.md docs/guide-coordinator.md docs/guide-auditor.md
    docs/server.md)

section "the block convention holds in every guide"
run bash -c 'cd "$1" && shift && python3 "$@"' - "$REPO_DIR" "$X" --check "${GUIDES[@]}"
expect_rc 0 "every block is sh or text, every skip has a reason, every part is included"
run bash -c 'cd "$1" && shift && python3 "$@"' - "$REPO_DIR" "$X" --list "${GUIDES[@]}"
nskip=$(grep -c ': skip: ' "$OUT")
nrun=$(grep -cE ': (run|part |include )' "$OUT")
echo "       $nrun blocks run, $nskip skipped:"
grep ': skip: ' "$OUT" | sed 's/^/         /'
check "few blocks skipped ($nskip of $((nrun + nskip)))" test "$nskip" -le 6

# The extractor refuses what would let a command go untested.
printf 'text\n\n```\nmijlpaal-auditor verify x\n```\n' >"$T/untagged.md"
run python3 "$X" --check "$T/untagged.md"
expect_rc 2 "an untagged code block is refused"
printf 'text\n\n<!-- guide-test: skip -->\n```sh\nmake\n```\n' >"$T/noreason.md"
run python3 "$X" --check "$T/noreason.md"
expect_rc 2 "a skip without a reason is refused"
printf 'text\n\n    mijlpaal-auditor verify x\n' >"$T/indented.md"
run python3 "$X" --check "$T/indented.md"
expect_rc 2 "an indented command is refused"

for g in "${GUIDES[@]}"; do
    python3 "$X" "$REPO_DIR/$g" >"$T/$(basename "$g" .md).sh" || fail "extract $g"
done

# The installed programs must be the ones under test (BIN): the README's `make` then finds
# BIN's build up to date and `make install` copies exactly those.
case "$BIN" in
"$REPO_DIR"/*/bin) BUILD_REL=${BIN#"$REPO_DIR"/} BUILD_REL=${BUILD_REL%/bin} ;;
*) fail "BIN ($BIN) is not a build directory of $REPO_DIR"; e2e_finish ;;
esac
export HOME=$T/home
mkdir -p "$HOME"
echo "rehearsal passphrase, not a real one" >"$T/passphrase"
export MIJLPAAL_PASSPHRASE_FILE=$T/passphrase
PREFIX=$HOME/.local

# guide NAME DIR: run NAME's script in DIR, its output in $T/NAME.log (last lines on failure)
guide() {
    local name=$1 dir=$2
    (cd "$dir" && bash "$T/$name.sh") </dev/null >"$T/$name.log" 2>&1
    RC=$?
    # shellcheck disable=SC2034 # ERR is read by the lib.sh helpers
    OUT=$T/$name.log ERR=$T/$name.log
    if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$T/$name.log"; then
        fail "sanitizer report in $name"
    fi
    if [ "$RC" -ne 0 ]; then
        fail "$name: exit $RC at the block:"
        grep '^== ' "$T/$name.log" | tail -n 1 | sed 's/^/       /'
        tail -n 25 "$T/$name.log" | sed 's/^/       | /'
    else
        pass "$name: every block ran ($(grep -c '^== ' "$T/$name.log") blocks)"
    fi
}

section "README.md: build and make install"
MAKEFLAGS="BUILD=$BUILD_REL" guide README "$REPO_DIR"
for p in contributor aggregator auditor synth; do
    check "installed mijlpaal-$p is the program under test" \
        cmp -s "$PREFIX/bin/mijlpaal-$p" "$BIN/mijlpaal-$p"
    check "man page of mijlpaal-$p installed" test -s "$PREFIX/share/man/man1/mijlpaal-$p.1"
done
for d in guide-data-officer.md guide-coordinator.md guide-auditor.md input-format.md \
    catalogue-format.md protocol.md threat-model.md privacy.md server.md; do
    check "doc $d installed" cmp -s "$PREFIX/share/doc/mijlpaal/$d" "$REPO_DIR/docs/$d"
done
check "test CA installed" test -x "$PREFIX/share/mijlpaal/test-ca"
export PATH=$PREFIX/bin:$PATH

section "man pages: every command of every program's --help, and the exit codes"
# A command of --help is a line "  NAME [WORD] ARGS" followed by its description (indented 6).
# man_has PROG CMD: the page has a .B CMD entry in its COMMANDS section
man_has() {
    sed -n '/^\.SH COMMANDS/,/^\.SH [^C]/p' "$REPO_DIR/docs/man/mijlpaal-$1.1" |
        grep -qE "^\.B $2( |\$)"
}
for p in contributor aggregator; do
    "$BIN/mijlpaal-$p" --help 2>&1 |
        awk '/^  [a-z]/ { w = $1; if ($2 ~ /^[a-z]+$/) w = w " " $2; next }
             /^      [^ ]/ { if (w != "") print w; w = "" }' |
        sort -u >"$T/cmds-$p"
    while read -r c; do
        [ -n "$c" ] || continue
        check "mijlpaal-$p.1 documents '$c'" man_has "$p" "$c"
    done <"$T/cmds-$p"
done
for c in verify "log verify" "log consistency" "log vkey"; do
    check "mijlpaal-auditor.1 documents '$c'" man_has auditor "$c"
done
for p in contributor aggregator auditor synth; do
    check "mijlpaal-$p.1 has EXIT STATUS" grep -q '^\.SH "\?EXIT STATUS' "$REPO_DIR/docs/man/mijlpaal-$p.1"
done

section "guide-coordinator.md: a whole round rehearsed, with guide-data-officer.md's commands"
mkdir -p "$T/coordinator"
guide guide-coordinator "$T/coordinator"
check "the rehearsal published a signed release" test -s "$T/coordinator/release/release.json"
check "Utrecht's data officer ran its own blocks" test -s "$T/coordinator/utrecht/submission-utrecht.json"
check "and UWV's, as UWV" test -s "$T/coordinator/uwv/submission-uwv.json"
check "the deadline was in the future when the round opened" \
    grep -q '"deadline"' "$T/coordinator/round.json"

section "guide-auditor.md: the rehearsal's release verified"
mkdir -p "$T/auditor"
guide guide-auditor "$T/auditor"
check "verify said OK" grep -q '^OK' "$T/guide-auditor.log"

section "guide-data-officer.md and server.md: nothing of their own left out"
check "the data officer guide runs only inside the coordinator's rehearsal" \
    test "$(grep -c '^== docs/guide-data-officer.md' "$T/guide-coordinator.log")" -ge 6
run bash "$T/server.sh"
expect_rc 0 "server.md: its blocks are all marked (service)"

section "make uninstall removes what make install wrote"
run make -C "$REPO_DIR" --no-print-directory BUILD="$BUILD_REL" uninstall PREFIX="$PREFIX"
expect_rc 0 "make uninstall"
left=$(find "$PREFIX" -type f | wc -l)
check "no installed file left ($left)" test "$left" -eq 0

e2e_finish
