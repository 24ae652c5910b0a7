#!/usr/bin/env bash
# What a newcomer pastes: --version on every program, --help after any command, a stray
# argument refused (never silently ignored), and a directory given with a trailing slash.
. "$(dirname "$0")/lib.sh"

section "--version and --help"
for p in "$C" "$A" "$AU" "$BIN/mijlpaal-synth"; do
    run "$p" --version
    expect_rc 0 "$(basename "$p") --version"
    expect_out_contains "0.6.0" "$(basename "$p") names its version"
done
for c in "submit" "check" "roster sign" "policy init" "witness"; do
    # shellcheck disable=SC2086
    run "$C" $c --help
    expect_rc 0 "contributor $c --help"
    expect_out_contains "usage: mijlpaal-contributor $c [OPTIONS]" "contributor $c --help: its own usage"
    if grep -q '^  keygen ' "$OUT"; then
        fail "contributor $c --help prints the other commands too"
    else
        pass "contributor $c --help prints only its own entry"
    fi
done
run "$C" submit --help
expect_out_contains "--accept-stale-export" "submit --help lists every option of submit"
expect_out_contains "Exit codes:" "and the notes that hold for every command"
for c in "round open" "round import" "publish" "serve" "log append" "roster draft"; do
    # shellcheck disable=SC2086
    run "$A" $c --help
    expect_rc 0 "aggregator $c --help"
    expect_out_contains "usage: mijlpaal-aggregator $c [OPTIONS]" "aggregator $c --help: its own usage"
done
for c in "verify" "log verify" "log consistency" "log vkey"; do
    # shellcheck disable=SC2086
    run "$AU" $c --help
    expect_rc 0 "auditor $c --help"
    expect_out_contains "usage: mijlpaal-auditor $c [OPTIONS]" "auditor $c --help: its own usage"
done

section "stray arguments are an error"
run "$C" status --ledger "$T/none.db" extra
expect_rc 2 "contributor status with a stray argument"
expect_err_contains 'unexpected argument "extra"' "the stray argument is named"
run "$A" round status --db "$T/none.db" --coordinator-key "$T/none.pub" extra
expect_rc 2 "aggregator round status with a stray argument"
expect_err_contains 'unexpected argument "extra"' "named"
run "$C" ledger --ledger "$T/none.db" --json oops
expect_rc 2 "contributor ledger with a stray argument"

section "a trailing slash"
full_round || e2e_finish
run "$A" publish --db "$T/agg.db" --key "$T/keys/coord.key" --insecure-plaintext-key \
    --out-dir "$T/rel-slash/"
expect_rc 0 "publish --out-dir DIR/"
expect_present "$T/rel-slash/release.json" "the release is in DIR"
run "$AU" verify --ca "$T/ca/ca.pem" --coordinator-key "$T/keys/coord.pub" "$T/rel-slash/"
expect_rc 0 "auditor verify DIR/"
e2e_finish
