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
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from sigmadiff import compare, fail, load_events, load_problems, ours, print_reference_versions, reference, relaunch_in_venv, rule_files  # noqa: E402

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

    relaunched = relaunch_in_venv(args.venv, __file__)
    if relaunched is not None:
        return relaunched

    started = time.monotonic()
    import gen_events

    if args.events.read_text(encoding="utf-8") != gen_events.render():
        fail(f"{args.events} is not what gen_events.py writes: run python3 {HERE / 'gen_events.py'}")
    events = load_events(args.events)

    print_reference_versions()
    ref_rules, ref_unsupported, ref = reference(rule_files(args.rules), events)
    loaded, diagnostics, mine = ours(args.eval, args.rules, args.events, len(events))

    all_ids = sorted(set(ref_rules) | set(ref_unsupported) | loaded)
    problems = load_problems(all_ids, ref_unsupported, REFERENCE_UNSUPPORTED, loaded, OURS_UNSUPPORTED, diagnostics)
    comparable = [rid for rid in all_ids if rid in ref_rules and rid in loaded]

    disagreements = 0
    for rid in comparable:
        r = ref_rules[rid]
        hits = ref[rid]
        if not hits:
            problems.append(f"rule {rid} ({r['title']}): matches no event, so it tests nothing")
        if len(hits) == len(events):
            problems.append(f"rule {rid} ({r['title']}): matches every event, so it tests nothing")
        disagreements += len(compare(r, rid, hits, mine[rid], events, args.show))

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
