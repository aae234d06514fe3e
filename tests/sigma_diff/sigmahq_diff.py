#!/usr/bin/env python3
"""Differential test over real rules: a deterministic sample of SigmaHQ's Windows rules,
our engine against pySigma (the same reference as diff.py, sigmadiff.py).

    sigmahq_diff.py --eval countersign_sigma_eval --sigmahq DIR --venv DIR --work DIR

Stages:
  1. Sample: of each folder under DIR (process_creation, registry/registry_set,
     builtin/security, ...), the rule files at positions 0, EVERY, 2*EVERY, ... in name
     order, so every folder has at least one rule; linked into WORK/tableN/rules, one
     table per group of rules whose field names do not differ only in case.
  2. Events: sigmahq_events.py writes WORK/tableN/events.ndjson from each rule's detection
     (values that satisfy each search, filters merged into selections, near misses).
  3. Both sides judge every (rule, event) pair of a table, as in diff.py.
  4. Every disagreement, and every rule a side cannot load, must be listed in
     sigmahq_known.md with its explanation; the run fails on one that is not listed, on a
     listed one of a sampled rule that no longer occurs (see KINDS), on fewer than MIN_RULES rules compared, and when
     fewer than MIN_MATCHING of the compared rules match any event.
A missing DIR skips the test (exit code SKIP) with a message saying so.
"""
import argparse
import json
import re
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from sigmadiff import compare, fail, load_events, ours, print_reference_versions, reference, relaunch_in_venv  # noqa: E402

EVERY = 7
MIN_RULES = 300
MIN_MATCHING = 0.9
SKIP = 77  # ctest SKIP_RETURN_CODE
KNOWN = HERE / "sigmahq_known.md"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# "disagrees, whole folder": a disagreement that needs events of rules outside the sample
# (another rule's near miss), so only a run with --every 1 requires it to occur.
KINDS = ("disagrees", "disagrees, whole folder", "ours skips", "pySigma cannot")


def sample(root: Path, every: int) -> list[Path]:
    """Of each folder, the rule files at positions 0, every, 2*every, ... in name order."""
    by_dir: dict[Path, list[Path]] = {}
    for p in sorted(root.rglob("*.yml")):
        by_dir.setdefault(p.parent, []).append(p)
    return [f for _, files in sorted(by_dir.items()) for f in files[::every]]


def by_table(files: list[Path], collection) -> list[tuple[list[Path], list]]:
    """The files and their parsed rules in groups, each judged in a table of its own: a file
    goes to the first group none of whose fields differs from one of its own only in case
    (`payload` / `Payload`), as one SQLite table cannot hold both columns (README.md)."""
    from sigma.backends.sqlite import sqliteBackend

    backend = sqliteBackend()
    groups: list[tuple[list[Path], list, dict[str, str]]] = []  # files, rules, lower -> spelling
    for f in files:
        rules = [r for r in collection.from_yaml(f.read_text(encoding="utf-8"), collect_errors=True).rules
                 if not r.errors]
        fields = set()
        for r in rules:
            try:
                fields.update(backend.required_fields(r))
            except Exception:  # noqa: BLE001 - reported when the reference converts it
                pass
        for g_files, g_rules, spelling in groups:
            if all(spelling.get(x.lower(), x) == x for x in fields):
                break
        else:
            groups.append(([], [], {}))
            g_files, g_rules, spelling = groups[-1]
        g_files.append(f)
        g_rules.extend(rules)
        for x in fields:
            spelling.setdefault(x.lower(), x)
    return [(g_files, g_rules) for g_files, g_rules, _ in groups]


def known() -> dict[str, tuple[str, str]]:
    """sigmahq_known.md: rule id -> (kind, explanation), from its table rows."""
    out = {}
    for n, line in enumerate(KNOWN.read_text(encoding="utf-8").splitlines(), 1):
        cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        if len(cells) < 4 or not UUID.match(cells[0]):
            continue
        if cells[2] not in KINDS or not cells[3]:
            fail(f"{KNOWN.name}:{n}: the kind must be one of {KINDS} and the explanation not empty")
        out[cells[0]] = (cells[2], cells[3])
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--eval", required=True, help="countersign_sigma_eval executable")
    ap.add_argument("--sigmahq", required=True, type=Path, help="SigmaHQ's rules/windows folder")
    ap.add_argument("--venv", required=True, type=Path)
    ap.add_argument("--work", required=True, type=Path, help="folder for the sample links and the events")
    ap.add_argument("--show", type=int, default=4, help="disagreeing events printed per rule")
    ap.add_argument("--every", type=int, default=EVERY,
                    help=f"sample every Nth file of each folder (default {EVERY}; 1: the whole folder)")
    args = ap.parse_args()
    if not args.sigmahq.is_dir():
        print(f"SKIP: {args.sigmahq} is not there (the SigmaHQ rule folder beside the checkout, "
              "../shared/sigmahq/rules/windows)")
        return SKIP

    relaunched = relaunch_in_venv(args.venv, __file__)
    if relaunched is not None:
        return relaunched
    started = time.monotonic()
    from sigma.collection import SigmaCollection

    import sigmahq_events

    listed = known()
    problems: list[str] = []
    seen: set[str] = set()
    notes: dict[str, list[str]] = {}
    tables = by_table(sample(args.sigmahq, args.every), SigmaCollection)
    files = [f for g_files, _ in tables for f in g_files]
    print(f"sample: {len(files)} rule files of {len({f.parent for f in files})} folders under {args.sigmahq} "
          f"(every {args.every}), judged in {len(tables)} table(s)", flush=True)
    print_reference_versions()
    all_ids: set[str] = set()
    comparable: list[str] = []
    n_events, verdicts, disagreements, matching = 0, 0, 0, 0
    for t, (g_files, g_rules) in enumerate(tables):
        work = args.work / f"table{t}"
        rules_dir = work / "rules"
        rules_dir.mkdir(parents=True, exist_ok=True)
        for old in rules_dir.iterdir():
            old.unlink()
        for f in g_files:
            (rules_dir / f.name).symlink_to(f.resolve())
        generated, g_notes = sigmahq_events.generate(g_rules)
        notes.update(g_notes)
        events_path = work / "events.ndjson"
        events_path.write_text("".join(json.dumps(ev, ensure_ascii=False) + "\n" for ev in generated),
                               encoding="utf-8")
        events = load_events(events_path)
        print(f"table {t}: {len(g_files)} rule files, {len(events)} events", flush=True)
        ref_rules, ref_unsupported, ref = reference(g_files, events)
        loaded, diagnostics, mine = ours(args.eval, rules_dir, events_path, len(events))

        ids = sorted(set(ref_rules) | set(ref_unsupported) | loaded)
        all_ids.update(ids)
        for rid in ids:
            kind = None
            if rid in ref_unsupported:
                kind = "pySigma cannot"
            elif rid not in loaded:
                kind = "ours skips"
            if kind is None:
                continue
            seen.add(rid)
            why = ref_unsupported.get(rid) or " | ".join(d for d in diagnostics if rid in d) or "no diagnostic"
            if listed.get(rid, ("",))[0] != kind:
                problems.append(f"rule {rid}: {kind} ({why}): not listed as such in {KNOWN.name}")
            else:
                print(f"not compared: rule {rid}: {kind}: {listed[rid][1]}")
        compared = [rid for rid in ids if rid in ref_rules and rid in loaded]
        comparable.extend(compared)
        n_events += len(events)
        verdicts += len(compared) * len(events)
        for rid in compared:
            hits = ref[rid]
            matching += bool(hits or mine[rid])
            diff = compare(ref_rules[rid], rid, hits, mine[rid], events, args.show)
            if not diff:
                continue
            seen.add(rid)
            disagreements += len(diff)
            if not listed.get(rid, ("",))[0].startswith("disagrees"):
                problems.append(f"rule {rid}: {len(diff)} disagreement(s) not listed in {KNOWN.name}")
            else:
                print(f"  known: {listed[rid][1]}")
    # A row of a rule outside the sample, or needing events from outside it, is checked by
    # a run with --every 1.
    checked = {rid for rid in set(listed) & all_ids
               if args.every == 1 or listed[rid][0] != "disagrees, whole folder"}
    for rid in sorted(checked - seen):
        problems.append(f"rule {rid}: listed in {KNOWN.name} ({listed[rid][0]}) but no longer occurs: remove it")
    print(f"{len(set(listed) - checked)} row(s) of {KNOWN.name} not checked by this sample (--every 1 checks them)")
    if len(comparable) < MIN_RULES:
        problems.append(f"only {len(comparable)} rules compared (< {MIN_RULES})")
    if comparable and matching / len(comparable) < MIN_MATCHING:
        problems.append(f"only {matching} of {len(comparable)} compared rules match any event "
                        f"(< {MIN_MATCHING:.0%}): the generator is not exercising them")
    for rid, n in sorted(notes.items()):
        print(f"generator: rule {rid}: {'; '.join(n)}")
    for p in problems:
        print(f"PROBLEM: {p}")
    print(f"\n{len(comparable)} of {len(all_ids)} sampled rules compared over {n_events} events "
          f"({verdicts} verdicts); {matching} rules match at least one event; "
          f"{disagreements} disagreeing verdict(s) in {len([r for r in seen if r in comparable])} rule(s), "
          f"{len(problems)} problem(s); {time.monotonic() - started:.1f}s", flush=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
