#!/usr/bin/env bash
# The aggregator's hash-linked event log: intact after a round, with every kind of event;
# a row rewritten behind the program's back (triggers dropped first) is detected.
. "$(dirname "$0")/lib.sh"

full_round || e2e_finish
DB=$T/agg.db

section "an intact log"
run "$A" log --db "$DB"
expect_rc 0 "log verifies"
for ev in round-open submission round-close publish; do
    expect_out_contains "$ev" "log lists the $ev event"
done
n=$(grep -c " submission " "$OUT")
check "log lists one submission event per organisation (found $n)" [ "$n" -eq 6 ]
for o in $ORGS; do
    check "log names the submission of $o" grep -q "submission .* $o " "$OUT"
done
run "$A" log --db "$DB" --json
expect_rc 0 "log --json"
check "log --json: 9 lines, each a JSON object with seq 1..9 and an entry hash" python3 - "$OUT" <<'EOF2'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
ok = [r["seq"] for r in rows] == list(range(1, 10))
ok = ok and all(len(r["entry_sha256"]) == 64 for r in rows)
ok = ok and [r["event"] for r in rows] == ["round-open"] + ["submission"] * 6 + ["round-close", "publish"]
sys.exit(0 if ok else 1)
EOF2

# A copy for the deletion case below (the backup API copies a WAL database consistently).
python3 -c 'import sqlite3, sys; s = sqlite3.connect(sys.argv[1]); d = sqlite3.connect(sys.argv[2]); s.backup(d)' \
    "$DB" "$T/agg-del.db"

section "the triggers keep the log append-only"
before=$(db_sha "$DB")
check "an UPDATE of a log row is refused by the store" python3 - "$DB" <<'EOF2'
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
try:
    con.execute("UPDATE log SET detail = 'x' WHERE seq = 2")
    con.commit()
    sys.exit(1)
except sqlite3.DatabaseError:
    sys.exit(0)
EOF2
expect_db_unchanged "$DB" "$before" "refused UPDATE"

section "a rewritten log row"
python3 - "$DB" <<'EOF2'
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
con.execute("DROP TRIGGER log_append_only_u")
con.execute("DROP TRIGGER log_append_only_d")
row = con.execute("SELECT detail FROM log WHERE seq = 3").fetchone()
# Same organisation, another submission hash: what hiding a swapped submission would need.
org, h = row[0].split(" ", 1)
con.execute("UPDATE log SET detail = ? WHERE seq = 3", (org + " " + "0" * 64,))
con.commit()
con.close()
EOF2
check "the row was changed" bash -c '[ "$1" != "$2" ]' _ "$before" "$(db_sha "$DB")"
run "$A" log --db "$DB"
expect_rc 1 "log detects the rewritten row"
expect_err_contains "rewritten" "log"
run "$A" log --db "$DB" --json
expect_rc 1 "log --json detects the rewritten row"

section "a deleted row in the middle"
run "$A" log --db "$T/agg-del.db"
expect_rc 0 "the copy of the store has an intact log"
python3 - "$T/agg-del.db" <<'EOF2'
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
con.execute("DROP TRIGGER log_append_only_d")
con.execute("DELETE FROM log WHERE seq = 5")
con.commit()
EOF2
run "$A" log --db "$T/agg-del.db"
expect_rc 1 "log detects a deleted row"

e2e_finish
