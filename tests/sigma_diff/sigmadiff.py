"""Shared parts of the Sigma differential tests (diff.py: the project's own rules;
sigmahq_diff.py: a sample of SigmaHQ's): the venv with the pinned reference, the event
encoding, the reference run (pySigma + the SQLite backend over an in-memory table), our
engine's run (countersign_sigma_eval) and the per-(rule, event) comparison.
README.md says how the reference evaluates and what each side is trusted with.
"""
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

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


def rule_files(rules_dir: Path) -> list[Path]:
    return sorted(p for p in rules_dir.iterdir() if p.suffix in (".yml", ".yaml"))


def reference(files: list[Path], events: list[dict]):
    """(rules: id -> {title, file, queries}, unsupported: id -> reason, matches: id -> set)."""
    import re
    import sqlite3

    from sigma.backends.sqlite import sqliteBackend
    from sigma.collection import SigmaCollection

    backend = sqliteBackend(fulltext_field=FULLTEXT)
    rules, unsupported, fields = {}, {}, set()
    for f in files:
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




# ---------------------------------------------------------------------------- both
def relaunch_in_venv(venv: Path, script: str) -> int | None:
    """Runs `script` again inside the venv (made if needed); None when already inside."""
    venv = venv.resolve()
    if Path(sys.prefix).resolve() == venv:
        sys.path.insert(0, str(HERE))
        sys.dont_write_bytecode = True  # no __pycache__ in the source tree
        return None
    py = ensure_venv(venv)
    return subprocess.run([str(py), script, *sys.argv[1:]]).returncode


def print_reference_versions() -> None:
    import importlib.metadata as md
    import sqlite3

    print(f"reference: pySigma {md.version('pySigma')}, pySigma-backend-sqlite "
          f"{md.version('pySigma-backend-sqlite')}, SQLite {sqlite3.sqlite_version}", flush=True)


def load_problems(all_ids, ref_unsupported: dict, ref_listed: dict, loaded: set, ours_listed: dict,
                  diagnostics: list[str]) -> list[str]:
    """A rule one side cannot load and that is not listed, or listed and loaded after all."""
    problems = []
    for rid in all_ids:
        if rid in ref_unsupported and rid not in ref_listed:
            problems.append(f"rule {rid}: pySigma cannot convert it: {ref_unsupported[rid]}")
        if rid in ref_listed and rid not in ref_unsupported:
            problems.append(f"rule {rid}: listed as not convertible by pySigma but it converts now")
        if rid not in loaded and rid not in ours_listed:
            why = [d for d in diagnostics if rid in d] or ["no diagnostic"]
            problems.append(f"rule {rid}: our engine did not load it: {' | '.join(why)}")
        if rid in ours_listed and rid in loaded:
            problems.append(f"rule {rid}: listed as not loaded by our engine but it loads now: compare it")
    return problems


def compare(rule: dict, rid: str, hits: set[int], mine: set[int], events: list[dict], show: int) -> list[int]:
    """The events the two sides judge differently for one rule, printed; sorted indices."""
    diff = sorted(hits ^ mine)
    if not diff:
        return diff
    print(f"\nDISAGREEMENT rule {rid} ({rule['file']}: {rule['title']}): {len(diff)} event(s)")
    for q in rule["queries"]:
        print(f"  reference SQL: {q}")
    for i in diff[:show]:
        ev = json.dumps({k: text_value(v) for k, v in events[i].items()}, ensure_ascii=False)
        print(f"  event {i}: pySigma={'match' if i in hits else 'no match'} "
              f"ours={'match' if i in mine else 'no match'}  {ev}")
    if len(diff) > show:
        print(f"  ... and {len(diff) - show} more")
    return diff
