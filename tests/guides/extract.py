#!/usr/bin/env python3
"""extract.py - turn the command blocks of a guide (Markdown) into the shell script that
tests/e2e/t_guides.sh runs, verbatim, so that every command a reader pastes is tested.

    python3 tests/guides/extract.py GUIDE.md            the script, on standard output
    python3 tests/guides/extract.py --list GUIDE.md...  every block: run / text / skip (reason)
    python3 tests/guides/extract.py --check GUIDE.md...  only the convention checks

The convention (docs/decisions.md, G1):

  ```sh      a block that is run, verbatim, in order, in the guide's own script
  ```text    output, a file's contents or a syntax summary: never run
  <!-- guide-test: skip REASON -->
             on the line(s) before a ```sh block: the block is not run; REASON is required
             and printed by --list (so every skipped command is justified where it stands)
  <!-- guide-test: part NAME -->
             before a ```sh block of a guide that is run as part of another guide's story
             (the data officer's, inside the coordinator's rehearsal): the block belongs to
             part NAME and is run where another guide includes that part, not on its own
  <!-- guide-test: as-each-organisation FILE PART... -->
             here, for every organisation of the rehearsal's region (ORGS below) in turn,
             run the blocks of FILE's parts PART..., in the organisation's own directory.
             The blocks are written for Utrecht; for another organisation the word
             `utrecht` (not `midden-utrecht`) is replaced by its id: the same commands,
             with its own file names and --org.

Any other fenced block, an untagged one, or a command indented as a Markdown code block
(four spaces, outside a fence) is an error: a block that is neither run nor explained would
be a command that is never tested. Exit 0, or 2 with file:line and the reason.
python3 standard library only.
"""
import json
import os
import re
import sys

MARK = re.compile(r"^\s*<!--\s*guide-test:\s*(\S+)\s*(.*?)\s*-->\s*$")
FENCE = re.compile(r"^(\s*)(```+)\s*([^`\s]*)\s*(.*)$")
# An indented line that looks like a command someone would paste.
INDENTED_CMD = re.compile(r"^ {4,}(mijlpaal-\S+|make|\./\S+|openssl|sha256sum)( |$)")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REGION = os.path.join(REPO, "data", "regions", "midden-utrecht.json")


class GuideError(Exception):
    pass


def parse(path):
    """Blocks of PATH in order: dicts with kind (sh, text), line, text, skip, part, and
    include directives as kind 'include'."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    name = os.path.relpath(path, REPO)
    out = []
    pending = {}  # markers waiting for the next block: skip, part
    i = 0
    while i < len(lines):
        line = lines[i]
        m = MARK.match(line)
        if m:
            verb, arg = m.group(1), m.group(2)
            if verb == "skip":
                if not arg:
                    raise GuideError(f"{name}:{i + 1}: guide-test: skip needs a reason")
                pending["skip"] = arg
            elif verb == "part":
                if not re.fullmatch(r"[a-z0-9-]+", arg):
                    raise GuideError(f"{name}:{i + 1}: guide-test: part needs one NAME")
                pending["part"] = arg
            elif verb == "as-each-organisation":
                words = arg.split()
                if len(words) < 2:
                    raise GuideError(f"{name}:{i + 1}: as-each-organisation FILE PART...")
                out.append({"kind": "include", "line": i + 1, "file": words[0],
                            "parts": words[1:], "name": name})
            else:
                raise GuideError(f"{name}:{i + 1}: unknown guide-test marker '{verb}'")
            i += 1
            continue
        m = FENCE.match(line)
        if m:
            indent, ticks, lang, rest = m.groups()
            start = i
            body = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(ticks):
                body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
                i += 1
            if i == len(lines):
                raise GuideError(f"{name}:{start + 1}: unterminated code fence")
            i += 1
            if lang not in ("sh", "text"):
                raise GuideError(f"{name}:{start + 1}: a code block must be ```sh (run by the "
                                 f"guide test) or ```text (never run), not '```{lang}'")
            if lang == "text" and pending:
                raise GuideError(f"{name}:{start + 1}: guide-test marker before a text block")
            out.append({"kind": lang, "line": start + 1, "text": "\n".join(body),
                        "skip": pending.get("skip"), "part": pending.get("part"),
                        "name": name})
            pending = {}
            continue
        if INDENTED_CMD.match(line) and (i == 0 or not lines[i - 1].strip()):
            raise GuideError(f"{name}:{i + 1}: an indented command: put it in a ```sh block "
                             "(run by the guide test) or a ```text block")
        if pending and line.strip():
            raise GuideError(f"{name}:{i + 1}: a guide-test marker must be followed by a "
                             "code block")
        i += 1
    if pending:
        raise GuideError(f"{name}: a guide-test marker at the end without a block")
    return out


def organisations():
    with open(REGION, encoding="utf-8") as f:
        return [o["id"] for o in json.load(f)["organisations"]]


AS_ORG = re.compile(r"(?<!midden-)\butrecht\b(?!=)")


def script(path):
    here = os.path.dirname(os.path.abspath(path))
    blocks = parse(path)
    out = ["# generated by tests/guides/extract.py from %s: every ```sh block, verbatim"
           % os.path.relpath(path, REPO), "set -e", ""]
    for b in blocks:
        if b["kind"] == "include":
            other = os.path.join(here, b["file"])
            parts = {}
            for ob in parse(other):
                if ob["kind"] == "sh" and ob["part"] and not ob["skip"]:
                    parts.setdefault(ob["part"], []).append(ob)
            for p in b["parts"]:
                if p not in parts:
                    raise GuideError(f"{b['name']}:{b['line']}: {b['file']} has no part '{p}'")
            for org in organisations():
                out.append(f"( cd {org}")
                for p in b["parts"]:
                    for ob in parts[p]:
                        text = ob["text"] if org == "utrecht" else AS_ORG.sub(org, ob["text"])
                        out.append(f"echo '== {ob['name']}:{ob['line']} (part {p}, as {org})' >&2")
                        out.append(text)
                out.append(")")
            continue
        if b["kind"] != "sh" or b["skip"] or b["part"]:
            continue
        out.append(f"echo '== {b['name']}:{b['line']}' >&2")
        out.append(b["text"])
    out.append("echo '== end of %s' >&2" % os.path.relpath(path, REPO))
    return "\n".join(out) + "\n"


def main(argv):
    try:
        if argv[:1] == ["--list"]:
            for p in argv[1:]:
                for b in parse(p):
                    if b["kind"] == "include":
                        print(f"{b['name']}:{b['line']}: include {b['file']} {' '.join(b['parts'])}")
                    elif b["skip"]:
                        print(f"{b['name']}:{b['line']}: skip: {b['skip']}")
                    elif b["part"]:
                        print(f"{b['name']}:{b['line']}: part {b['part']}")
                    else:
                        print(f"{b['name']}:{b['line']}: {'run' if b['kind'] == 'sh' else 'text'}")
            return 0
        if argv[:1] == ["--check"]:
            # Each file parses, and every part of one is included by another: a part block
            # that nothing includes would never run.
            parts, included = {}, set()
            for p in argv[1:]:
                for b in parse(p):
                    if b["kind"] == "include":
                        target = os.path.normpath(os.path.join(os.path.dirname(p), b["file"]))
                        included.update((target, q) for q in b["parts"])
                    elif b["kind"] == "sh" and b["part"] and not b["skip"]:
                        parts.setdefault((os.path.normpath(p), b["part"]), b)
            for key, b in parts.items():
                if key not in included:
                    raise GuideError(f"{b['name']}:{b['line']}: part '{key[1]}' is included "
                                     "by none of the guides given, so it never runs")
            return 0
        if len(argv) != 1:
            print(__doc__.split("\n\n")[1], file=sys.stderr)
            return 2
        sys.stdout.write(script(argv[0]))
        return 0
    except (GuideError, OSError) as e:
        print(f"extract.py: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
