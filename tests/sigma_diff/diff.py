#!/usr/bin/env python3
"""Differential test: our Sigma engine against the reference implementation, pySigma.

    diff.py --eval countersign_sigma_eval --rules DIR --events EVENTS.ndjson --venv DIR

Stages:
  1. venv: DIR gets a virtualenv with exactly requirements.txt (pySigma and its SQLite
     backend, every package pinned); it is reused while requirements.txt is unchanged. A
     failed install fails the test: it never skips.
  2. The script runs itself again inside the venv and checks that EVENTS is what
     gen_events.py writes (so the two never drift apart).
  3. Reference: each rule is parsed by pySigma and converted by the SQLite backend; the
     events go into an in-memory SQLite table laid out as the backend expects (one column
     per field, NOCASE collation, a REGEXP function, a keyword column); a rule matches an
     event when one of its queries returns that row.
  4. Ours: countersign_sigma_eval loads the same rules and prints the matching rule ids per
     event.
  5. Verdicts are compared per (rule, event). The run fails on any disagreement, on a rule
     that one side cannot load unless listed below, when fewer than --min-comparable of
     the rules are compared, and on a compared rule that matches no event or every event
     (a test that could not fail).
README.md says what the backend cannot express and why some inputs are left out.
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# Rules our engine is known not to load: id -> why. Such a rule is not compared; a rule
# skipped that is not listed here, or listed and loaded after all, fails the run.
OURS_UNSUPPORTED = {
    "c5d1ff00-0000-4000-8000-000000000055": "keyword search with '|all' (sigma-rules-specification, "
    "'Keywords search'): our loader rejects modifiers on keyword searches",
    "c5d1ff00-0000-4000-8000-000000000065": "the 'neq' modifier (modifiers appendix 2.1.0) is unknown to our loader",
    "c5d1ff00-0000-4000-8000-000000000066": "'fieldref' combined with startswith/endswith/contains (pySigma "
    "supports it) is rejected by our loader",
}
# Rules pySigma 2.0.1 + the SQLite backend cannot convert: id -> why (none at present).
REFERENCE_UNSUPPORTED: dict[str, str] = {}

SEP = "\x1f"  # between field values in the keyword column; no event value contains it
IDX = "sigmadiff_idx"
FULLTEXT = "sigmadiff_fulltext"


def fail(msg: str) -> None:
    print(f"FAIL: {msg}", flush=True)
    sys.exit(1)


# ---------------------------------------------------------------------------- venv
def ensure_venv(venv: Path) -> Path:
    req = HERE / "requirements.txt"
    want = req.read_text()
    py = venv / "bin" / "python"
    stamp = venv / "sigmadiff-requirements.txt"
    if py.exists() and stamp.exists() and stamp.read_text() == want:
        return py
    print(f"creating {venv} with {req.name} (needs PyPI)", flush=True)
    steps = [
        [sys.executable, "-m", "venv", "--clear", str(venv)],
        [str(py), "-m", "pip", "install", "--no-input", "--disable-pip-version-check", "--quiet",
         "--timeout", "60", "--retries", "5", "-r", str(req)],
    ]
    for cmd in steps:
        r = subprocess.run(cmd)
        if r.returncode != 0:
            fail(f"'{' '.join(cmd)}' exited {r.returncode}: the reference implementation could not be "
                 "installed (python3-venv and PyPI are needed)")
    stamp.write_text(want)
    return py


# ---------------------------------------------------------------------------- events
class RawNumber:
    """A JSON number with the text it was written as (our engine sees that text)."""

    def __init__(self, text: str, value):
        self.text, self.value = text, value


def load_events(path: Path) -> list[dict]:
    events = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        ev = json.loads(line, parse_int=lambda s: RawNumber(s, int(s)),
                        parse_float=lambda s: RawNumber(s, float(s)))
        if not isinstance(ev, dict):
            fail(f"{path}:{n}: not a JSON object")
        for k, v in ev.items():
            if isinstance(v, (dict, list)):
                fail(f"{path}:{n}: field {k} is not flat")
        events.append(ev)
    return events


def sql_value(v):
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"  # the Zircolite layout the backend's booleans expect
    if isinstance(v, RawNumber):
        return v.value
    return v


def text_value(v) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, RawNumber):
        return v.text
    return v


# ---------------------------------------------------------------------------- reference
def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def reference(rules_dir: Path, events: list[dict]):
    """(rules: id -> {title, file, queries}, unsupported: id -> reason, matches: id -> set)."""
    import re
    import sqlite3

    from sigma.backends.sqlite import sqliteBackend
    from sigma.collection import SigmaCollection

    backend = sqliteBackend(fulltext_field=FULLTEXT)
    rules, unsupported, fields = {}, {}, set()
    for f in sorted(p for p in rules_dir.iterdir() if p.suffix in (".yml", ".yaml")):
        coll = SigmaCollection.from_yaml(f.read_text(encoding="utf-8"), collect_errors=True)
        for rule in coll.rules:
            rid = str(rule.id)
            if rule.errors:
                unsupported[rid] = "; ".join(str(e) for e in rule.errors)
                continue
            try:
                queries = backend.convert_rule(rule)
            except Exception as e:  # noqa: BLE001 - any conversion error makes the rule incomparable
                unsupported[rid] = f"{type(e).__name__}: {e}"
                continue
            rules[rid] = {"title": rule.title, "file": f.name, "queries": queries}
            fields.update(backend.required_fields(rule))
    for ev in events:
        fields.update(ev)
    fields.discard(FULLTEXT)
    lowered = {}
    for name in fields:
        if name.lower() in lowered and lowered[name.lower()] != name:
            fail(f"fields '{name}' and '{lowered[name.lower()]}' differ only in case: SQLite columns cannot")
        lowered[name.lower()] = name
    cols = sorted(fields)

    db = sqlite3.connect(":memory:")
    cache: dict[str, re.Pattern] = {}

    def regexp(pattern, value):
        if value is None:
            return False
        rx = cache.get(pattern)
        if rx is None:
            rx = cache[pattern] = re.compile(pattern)
        return rx.search(str(value)) is not None

    db.create_function("regexp", 2, regexp, deterministic=True)
    # NUMERIC affinity: a number written as a string ("4688") compares as the number, as it
    # does for our engine, which sees every value as text. NOCASE: Sigma's default
    # case-insensitive equality (the backend leaves '=' to the column collation).
    db.execute(f"CREATE TABLE logs ({IDX} INTEGER PRIMARY KEY, {FULLTEXT} TEXT, "
               + ", ".join(f"{quote(c)} NUMERIC COLLATE NOCASE" for c in cols) + ")")
    rows = []
    for i, ev in enumerate(events):
        text = SEP.join(t for t in (text_value(v) for v in ev.values()) if t is not None)
        rows.append([i, text] + [sql_value(ev.get(c)) for c in cols])
    db.executemany(f"INSERT INTO logs VALUES ({', '.join('?' * (len(cols) + 2))})", rows)

    matches = {}
    for rid, r in rules.items():
        hit = set()
        for q in r["queries"]:
            try:
                hit.update(row[0] for row in db.execute(f"SELECT {IDX} FROM ({q})"))
            except sqlite3.Error as e:
                fail(f"rule {rid}: SQLite rejected the backend's query ({e}): {q}")
        matches[rid] = hit
    return rules, unsupported, matches


# ---------------------------------------------------------------------------- ours
def ours(eval_bin: str, rules_dir: Path, events_path: Path, n_events: int):
    listed = subprocess.run([eval_bin, "--list", str(rules_dir)], capture_output=True, text=True)
    if listed.returncode != 0:
        fail(f"countersign_sigma_eval --list exited {listed.returncode}:\n{listed.stderr}")
    loaded = set(listed.stdout.split())
    diagnostics = listed.stderr.strip().splitlines()
    run = subprocess.run([eval_bin, str(rules_dir), str(events_path)], capture_output=True, text=True)
    if run.returncode != 0:
        fail(f"countersign_sigma_eval exited {run.returncode}:\n{run.stderr}")
    matches: dict[str, set[int]] = {rid: set() for rid in loaded}
    lines = run.stdout.splitlines()
    if len(lines) != n_events:
        fail(f"countersign_sigma_eval printed {len(lines)} lines for {n_events} events")
    for expect, line in enumerate(lines):
        idx, _, ids = line.partition("\t")
        if int(idx) != expect:
            fail(f"countersign_sigma_eval: line {expect + 1} is for event {idx}")
        for rid in filter(None, ids.split(",")):
            matches[rid].add(expect)
    return loaded, diagnostics, matches


# ---------------------------------------------------------------------------- compare
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--eval", required=True, help="countersign_sigma_eval executable")
    ap.add_argument("--rules", required=True, type=Path)
    ap.add_argument("--events", required=True, type=Path)
    ap.add_argument("--venv", required=True, type=Path)
    ap.add_argument("--min-comparable", type=float, default=0.9,
                    help="fraction of the rules that must be compared (default 0.9)")
    ap.add_argument("--show", type=int, default=8, help="disagreeing events printed per rule")
    args = ap.parse_args()

    venv = args.venv.resolve()
    if Path(sys.prefix).resolve() != venv:
        py = ensure_venv(venv)
        return subprocess.run([str(py), __file__, *sys.argv[1:]]).returncode

    started = time.monotonic()
    sys.path.insert(0, str(HERE))
    sys.dont_write_bytecode = True  # no __pycache__ in the source tree
    import gen_events

    if args.events.read_text(encoding="utf-8") != gen_events.render():
        fail(f"{args.events} is not what gen_events.py writes: run python3 {HERE / 'gen_events.py'}")
    events = load_events(args.events)

    import importlib.metadata as md

    print(f"reference: pySigma {md.version('pySigma')}, pySigma-backend-sqlite "
          f"{md.version('pySigma-backend-sqlite')}, SQLite {__import__('sqlite3').sqlite_version}", flush=True)
    ref_rules, ref_unsupported, ref = reference(args.rules, events)
    loaded, diagnostics, mine = ours(args.eval, args.rules, args.events, len(events))

    problems: list[str] = []
    all_ids = sorted(set(ref_rules) | set(ref_unsupported) | loaded)
    for rid in all_ids:
        if rid in ref_unsupported and rid not in REFERENCE_UNSUPPORTED:
            problems.append(f"rule {rid}: pySigma cannot convert it: {ref_unsupported[rid]}")
        if rid in REFERENCE_UNSUPPORTED and rid not in ref_unsupported:
            problems.append(f"rule {rid}: listed in REFERENCE_UNSUPPORTED but pySigma converts it now")
        if rid not in loaded and rid not in OURS_UNSUPPORTED:
            why = [d for d in diagnostics if rid in d] or ["no diagnostic"]
            problems.append(f"rule {rid}: our engine did not load it: {' | '.join(why)}")
        if rid in OURS_UNSUPPORTED and rid in loaded:
            problems.append(f"rule {rid}: listed in OURS_UNSUPPORTED but our engine loads it now: compare it")
    comparable = [rid for rid in all_ids if rid in ref_rules and rid in loaded]

    disagreements = 0
    for rid in comparable:
        r = ref_rules[rid]
        hits = ref[rid]
        if not hits:
            problems.append(f"rule {rid} ({r['title']}): matches no event, so it tests nothing")
        if len(hits) == len(events):
            problems.append(f"rule {rid} ({r['title']}): matches every event, so it tests nothing")
        diff = sorted(hits ^ mine[rid])
        if not diff:
            continue
        disagreements += len(diff)
        print(f"\nDISAGREEMENT rule {rid} ({r['file']}: {r['title']}): {len(diff)} event(s)")
        for q in r["queries"]:
            print(f"  reference SQL: {q}")
        for i in diff[: args.show]:
            ev = json.dumps({k: text_value(v) for k, v in events[i].items()}, ensure_ascii=False)
            print(f"  event {i}: pySigma={'match' if i in hits else 'no match'} "
                  f"ours={'match' if i in mine[rid] else 'no match'}  {ev}")
        if len(diff) > args.show:
            print(f"  ... and {len(diff) - args.show} more")

    for rid, why in sorted(OURS_UNSUPPORTED.items()):
        print(f"not compared: rule {rid}: our engine skips it: {why}")
    for rid, why in sorted(REFERENCE_UNSUPPORTED.items()):
        print(f"not compared: rule {rid}: pySigma cannot convert it: {why}")
    fraction = len(comparable) / len(all_ids) if all_ids else 0.0
    if fraction < args.min_comparable:
        problems.append(f"only {len(comparable)} of {len(all_ids)} rules compared "
                        f"({fraction:.0%} < {args.min_comparable:.0%})")
    for p in problems:
        print(f"PROBLEM: {p}")
    pairs = len(comparable) * len(events)
    print(f"\n{len(comparable)} of {len(all_ids)} rules compared over {len(events)} events "
          f"({pairs} verdicts): {disagreements} disagreement(s), {len(problems)} other problem(s); "
          f"{time.monotonic() - started:.1f}s", flush=True)
    return 1 if disagreements or problems else 0


if __name__ == "__main__":
    sys.exit(main())
