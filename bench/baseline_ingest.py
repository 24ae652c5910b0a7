#!/usr/bin/env python3
"""Baseline for bench/ingest.sh: the contributor's ingest in plain Python 3 (standard library).

Does the same per-row work as `mijlpaal-contributor check`: read the CSV (separator sniffed from
the header), validate BSN (elfproef), dates, codes and gemeente, pseudonymise each BSN with a
keyed PRF (HMAC-SHA256, truncated to 16 bytes) and count distinct persons per spell type and per
(spell type, end reason) for spells ending in the period. Prints the counts' size and the
number of excluded rows; nothing else. Usage: baseline_ingest.py EXPORT.csv REGION.json
"""
import csv
import datetime
import hashlib
import hmac
import json
import os
import sys

SPELLS = {"bijstand", "ioaw", "ww", "wajong", "wia", "doelgroepenregister", "baan",
          "banenafspraak", "traject"}
REASONS = {"", "werk", "opleiding", "verhuizing", "pensioen", "overlijden", "detentie", "overig"}


def elfproef(d):
    if len(d) == 8:
        d = "0" + d
    if len(d) != 9 or not d.isdigit():
        return None
    s = sum((9 - i) * int(d[i]) for i in range(8)) - int(d[8])
    return d if s % 11 == 0 and d != "000000000" else None


def date(s):
    try:
        return datetime.date.fromisoformat(s)
    except ValueError:
        return None


def main():
    path, region_path = sys.argv[1], sys.argv[2]
    with open(region_path, encoding="utf-8") as f:
        region = {g["code"] for g in json.load(f)["gemeenten"]}
    key = os.urandom(32)
    start, end = datetime.date(2026, 1, 1), datetime.date(2026, 6, 30)
    persons, cells, excluded = {}, {}, 0
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as f:
        header = f.readline()
        sep = "," if header.count(",") > header.count(";") else ";"
        cols = [c.strip().lower() for c in next(csv.reader([header], delimiter=sep))]
        idx = {c: i for i, c in enumerate(cols)}
        for row in csv.reader(f, delimiter=sep):
            if len(row) != len(cols):
                excluded += 1
                continue
            bsn = elfproef(row[idx["bsn"]].strip())
            birth, begin = date(row[idx["birth_date"]]), date(row[idx["start_date"]])
            stop = row[idx["end_date"]]
            stop = date(stop) if stop else datetime.date.max
            gm = row[idx["municipality"]].strip()
            kind, reason = row[idx["spell_type"]], row[idx["end_reason"]]
            if (bsn is None or birth is None or begin is None or stop is None or stop < begin
                    or gm not in region or kind not in SPELLS or reason not in REASONS):
                excluded += 1
                continue
            p = hmac.new(key, bsn.encode(), hashlib.sha256).digest()[:16]
            persons[p] = birth
            cells.setdefault(kind, set()).add(p)
            if start <= stop <= end:
                cells.setdefault((kind, reason), set()).add(p)
    print(f"persons={len(persons)} cells={len(cells)} excluded={excluded}")


if __name__ == "__main__":
    main()
