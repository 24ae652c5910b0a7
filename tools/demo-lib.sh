# demo-lib.sh - sourced by tools/demo, tools/demo-dropout and tools/demo-attacks: the region's
# trust set up the way the organisations would do it, with a throwaway test CA standing in for
# PKIoverheid.
#
#   setup_trust REGION_FILE ORG...
#
# run in the demo's output directory, writes:
#   ca/            the test CA (ca/ca.pem is the trust file), one certificate per organisation
#                  and one for the coordinator's organisation (coordinator-org)
#   keys/          the coordinator's and every organisation's mijlpaal keys (plaintext: demo)
#   bindings/ORG.json   ORG's certificate vouching for its keys (contributor certify)
#   policies/ORG.json   ORG's own policy (contributor policy init)
#   roster-draft.json   the coordinator's draft roster (aggregator roster draft)
#   cosigs/ORG.json     ORG's co-signature of the draft (contributor roster sign)
#   roster.json         the agreed roster (aggregator roster agree)
#   ledgers/ORG.db      each organisation's ledger (it records the co-signature)
# Variables: BIN, TOP, REGION, RHO (the per-round cap in each policy: at least the round's rho),
# SERIES (default REGION), SERIES_BUDGET (default 2), MIN_PARTICIPANTS (default 5), MIN_T (1).
# The OINs are fictitious (999...): real ones come from the OIN register (Logius COR).

demo_oin() { printf '9990000000000000%04d' "$1"; }

demo_org_name() { # REGION_FILE ORG: the organisation's name in the region definition
  python3 -c 'import json,sys
r=json.load(open(sys.argv[1]))
print(next(o["name"] for o in r["organisations"] if o["id"]==sys.argv[2]))' "$1" "$2"
}

setup_trust() {
  _region=$1
  shift
  _agg="$BIN/mijlpaal-aggregator" _con="$BIN/mijlpaal-contributor"
  mkdir -p ca keys bindings policies cosigs ledgers
  "$TOP/tools/test-ca" init ca
  # The coordinator's own organisation has a certificate from the region's CA too: it signs
  # the releases' CMS signatures (and could try to pass itself off as a member: demo-attacks).
  "$TOP/tools/test-ca" issue ca coordinator-org 99900000000000009999 \
    "Regionaal Werkbedrijf (coordinator)"
  "$_agg" keygen --org coordinator --secret-key keys/coordinator.key \
    --public-key keys/coordinator.pub --insecure-plaintext-key
  _i=0 _expect="" _bindings=""
  for _o in "$@"; do
    _i=$((_i + 1))
    _oin=$(demo_oin "$_i")
    "$TOP/tools/test-ca" issue ca "$_o" "$_oin" "$(demo_org_name "$_region" "$_o")"
    "$_con" keygen --org "$_o" --secret-key "keys/$_o.key" --public-key "keys/$_o.pub" \
      --insecure-plaintext-key 2>/dev/null
    "$_con" certify --key "keys/$_o.key" --insecure-plaintext-key --cert "ca/$_o.pem" \
      --cert-key "ca/$_o.key" --out "bindings/$_o.json" 2>/dev/null
    _expect="$_expect --member $_o=$_oin"
    _bindings="$_bindings --member bindings/$_o.json"
  done
  for _o in "$@"; do
    # shellcheck disable=SC2086
    "$_con" policy init --out "policies/$_o.json" --org "$_o" --region "$REGION" \
      --ca ../ca/ca.pem $_expect --min-participants "${MIN_PARTICIPANTS:-5}" \
      --min-t "${MIN_T:-1}" --max-rho-per-round "${RHO:-0.5}" \
      --series-budget "${SERIES:-$REGION}=${SERIES_BUDGET:-2}" 2>/dev/null
  done
  # shellcheck disable=SC2086
  "$_agg" roster draft --region "$_region" --ca ca/ca.pem --key keys/coordinator.key \
    --insecure-plaintext-key $_bindings --out roster-draft.json
  for _o in "$@"; do
    "$_con" roster sign --roster roster-draft.json --coordinator-key keys/coordinator.pub \
      --key "keys/$_o.key" --insecure-plaintext-key --policy "policies/$_o.json" \
      --ledger "ledgers/$_o.db" --out "cosigs/$_o.json" >/dev/null 2>&1
  done
  "$_agg" roster agree --roster roster-draft.json --key keys/coordinator.key \
    --insecure-plaintext-key --out roster.json cosigs/*.json
}
