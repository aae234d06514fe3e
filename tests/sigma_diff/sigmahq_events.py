"""Events for the SigmaHQ differential test (sigmahq_diff.py), generated from each rule's
detection as pySigma parses it (modifiers applied: windash and base64offset expanded,
contains/startswith/endswith as wildcards, cidr, re, exists, null, fieldref, lt/gt).

Per rule, in this order (duplicates dropped, at most MAX_PER_RULE):
  * hits: for each way the condition can be true (the searches it needs, up to
    MAX_CONJUNCTS ways; what sits under a `not` is left out), one event satisfying those
    searches, in up to VARIANTS versions taking other list values and expansions, `*` as
    nothing or as text, and upper case; several tests of one field are joined into one
    value (startswith part first, endswith part last);
  * each search under a `not` alone, and merged into the first two hits (the `not` must
    then reject them);
  * near misses of the first three hits: one letter changed in the middle of a value, a
    value cut short, the first field left out.
Every value is a string, an int, a bool or null; a value SQLite's NUMERIC affinity would
re-spell (leading zeros, exponents) is kept as is, and README.md says what that costs.
Runs inside the venv of the pinned reference (it imports pySigma). Deterministic.
"""
import fnmatch
import re

try:
    import re._parser as sre_parse  # Python 3.11+
    import re._constants as sre_c
except ImportError:  # pragma: no cover
    import sre_constants as sre_c
    import sre_parse

from sigma.conditions import ConditionOR
from sigma.rule import SigmaDetectionItem
from sigma.types import (SigmaBool, SigmaCasedString, SigmaCIDRExpression, SigmaCompareExpression, SigmaExists,
                         SigmaExpansion, SigmaFieldReference, SigmaNull, SigmaNumber, SigmaRegularExpression,
                         SigmaString, SpecialChars)

VARIANTS = 3
MAX_PER_RULE = 24
KEYWORD_FIELD = "KeywordText"  # where a keyword's value is put
OMIT = object()  # "leave the field out" (|exists: false)


class Unsatisfiable(Exception):
    """A value this generator cannot produce (a placeholder, a regex back-reference)."""


# ---------------------------------------------------------------------------- regex
def _class_char(items) -> str:
    negate = any(op == sre_c.NEGATE for op, _ in items)
    if negate:
        members = set()
        for op, av in items:
            if op == sre_c.LITERAL:
                members.add(chr(av))
        for c in "aZ0_ -.":
            if c not in members:
                return c
        return "~"
    for op, av in items:
        if op == sre_c.LITERAL:
            return chr(av)
        if op == sre_c.RANGE:
            return chr(av[0])
        if op == sre_c.CATEGORY:
            return {sre_c.CATEGORY_DIGIT: "0", sre_c.CATEGORY_NOT_DIGIT: "a", sre_c.CATEGORY_SPACE: " ",
                    sre_c.CATEGORY_NOT_SPACE: "a", sre_c.CATEGORY_WORD: "a", sre_c.CATEGORY_NOT_WORD: " "}.get(av, "a")
    return "a"


def _emit(tree, out: list[str]) -> None:
    for op, av in tree:
        if op == sre_c.LITERAL:
            out.append(chr(av))
        elif op == sre_c.NOT_LITERAL:
            out.append("a" if av != ord("a") else "b")
        elif op == sre_c.ANY:
            out.append("a")
        elif op == sre_c.IN:
            out.append(_class_char(av))
        elif op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT) or str(op) == "POSSESSIVE_REPEAT":
            lo, _, sub = av
            for _ in range(min(lo, 64)):
                _emit(sub, out)
        elif op == sre_c.SUBPATTERN:
            _emit(av[-1], out)
        elif op == sre_c.BRANCH:
            _emit(av[1][0], out)
        elif str(op) == "ATOMIC_GROUP":
            _emit(av, out)
        elif op in (sre_c.AT, sre_c.ASSERT, sre_c.ASSERT_NOT):
            continue
        elif op == sre_c.CATEGORY:
            out.append(_class_char([(op, av)]))
        else:
            raise Unsatisfiable(f"regex construct {op}")


def regex_sample(pattern: str, ignorecase: bool) -> str:
    """A short string the regex finds (checked with Python's re, the reference's engine)."""
    out: list[str] = []
    _emit(sre_parse.parse(pattern), out)
    text = "".join(out)
    if re.search(pattern, text, re.IGNORECASE if ignorecase else 0) is None:
        raise Unsatisfiable(f"no sample for /{pattern}/")
    return text


# ---------------------------------------------------------------------------- values
def render_string(s: SigmaString, k: int) -> str:
    if s.contains_placeholder():
        raise Unsatisfiable("placeholder")
    out = []
    for part in s.s:
        if part == SpecialChars.WILDCARD_MULTI:
            out.append("" if k % 2 == 0 else "x")
        elif part == SpecialChars.WILDCARD_SINGLE:
            out.append("q")
        else:
            out.append(part)
    text = "".join(out)
    # Every other variant in upper case: equality is case-insensitive on both sides.
    return text.upper() if k % 2 == 1 and not isinstance(s, SigmaCasedString) else text


def render(v, k: int, ev: dict):
    """The value to store for `v` (or OMIT); may also set another field (fieldref)."""
    if isinstance(v, SigmaExpansion):
        return render(v.values[k % len(v.values)], k // len(v.values), ev)
    if isinstance(v, SigmaString):
        return render_string(v, k)
    if isinstance(v, SigmaBool):
        return bool(v.boolean)
    if isinstance(v, SigmaNumber):
        return v.number
    if isinstance(v, SigmaNull):
        return None
    if isinstance(v, SigmaExists):
        return "present" if v.exists else OMIT
    if isinstance(v, SigmaCompareExpression):
        n = v.number.number
        op = v.op.name
        if op == "NEQ":
            return n + 1
        return {"LT": n - 1, "LTE": n, "GT": n + 1, "GTE": n}[op]
    if isinstance(v, SigmaCIDRExpression):
        net = v.network
        return str(net.network_address + (1 if net.num_addresses > 1 else 0))
    if isinstance(v, SigmaRegularExpression):
        return regex_sample(str(v.regexp), any(f.name == "IGNORECASE" for f in v.flags))
    if isinstance(v, SigmaFieldReference):
        other = [x for _, x in ev.get(v.field, []) if isinstance(x, str)]
        if not other:
            ev.setdefault(v.field, []).append((1, "ref-value"))
            return "ref-value"
        return other[-1]
    raise Unsatisfiable(type(v).__name__)


def rank(v) -> int:
    """Where a value goes when several tests of one field are joined into one value:
    startswith first, endswith last."""
    while isinstance(v, SigmaExpansion):
        v = v.values[0]
    if not isinstance(v, SigmaString) or not v.s:
        return 1
    leading = v.s[0] == SpecialChars.WILDCARD_MULTI
    trailing = v.s[-1] == SpecialChars.WILDCARD_MULTI
    return 0 if trailing and not leading else 2 if leading and not trailing else 1


def solve_item(item: SigmaDetectionItem, k: int, ev: dict) -> None:
    """Adds (rank, value) to ev[field]: a field several tests name gets all of them."""
    field = item.field if item.field is not None else KEYWORD_FIELD
    values = item.value
    if not values:
        raise Unsatisfiable("no value")
    if item.value_linking is ConditionOR or len(values) == 1:
        v = values[k % len(values)]
        value = render(v, k // len(values), ev)
        ev.setdefault(field, []).append((rank(v), value))
        return
    for v in values:  # |all: one value holding every part (contains|all, the usual case)
        ev.setdefault(field, []).append((rank(v), render(v, k, ev)))


def solve(det, k: int, ev: dict) -> None:
    if isinstance(det, SigmaDetectionItem):
        return solve_item(det, k, ev)
    items = det.detection_items
    if det.item_linking is ConditionOR and len(items) > 1:
        return solve(items[k % len(items)], k // len(items), ev)
    for item in items:
        solve(item, k, ev)
    return None


def merge(into: dict, part: dict) -> None:
    for field, values in part.items():
        into.setdefault(field, []).extend(values)


def finish(ev: dict) -> dict:
    """Field -> value: several strings for one field joined (startswith parts first)."""
    out = {}
    for field, values in ev.items():
        if not isinstance(values, list):
            values = [(1, values)]
        strings = [(r, v) for r, v in values if isinstance(v, str)]
        if len(strings) == len(values) and len(values) > 1:
            joined = []
            for _, v in sorted(strings, key=lambda rv: rv[0]):
                if v not in joined:
                    joined.append(v)
            value = "".join(joined)
        else:
            value = values[-1][1]
        if value is not OMIT:
            out[field] = value
    return out


# ---------------------------------------------------------------------------- near misses
def near_misses(ev: dict) -> list[dict]:
    out = []
    strings = [(f, v) for f, v in ev.items() if isinstance(v, str) and len(v) >= 2]
    for f, v in strings[:3]:
        # The middle of the longest run of letters: a different character there.
        runs = [(m.start(), m.end()) for m in re.finditer(r"[A-Za-z]+", v)]
        if runs:
            start, end = max(runs, key=lambda r: r[1] - r[0])
            mid = (start + end) // 2
            repl = "Q" if v[mid] not in "Qq" else "Z"
            out.append({**ev, f: v[:mid] + repl + v[mid + 1:]})
        out.append({**ev, f: v[:-1]})
    if len(ev) > 1:
        first = next(iter(ev))
        out.append({f: v for f, v in ev.items() if f != first})
    return out


# ---------------------------------------------------------------------------- condition
MAX_CONJUNCTS = 4


def _names(pattern: str, names: list[str]) -> list[str]:
    if pattern == "them":
        return [n for n in names if not n.startswith("_")]
    return [n for n in names if fnmatch.fnmatchcase(n, pattern)
            and (pattern.startswith("_") or not n.startswith("_"))]


def condition_paths(text: str, names: list[str]) -> tuple[list[list[str]], list[str]]:
    """(ways to make the condition true as lists of searches that must hold, ignoring what
    sits under a `not`; the searches under a `not`) for one condition text."""
    tokens = re.findall(r"\(|\)|[^\s()]+", text)
    pos = 0
    negated: list[str] = []

    def peek():
        return tokens[pos].lower() if pos < len(tokens) else None

    def take():
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    def cross(a, b):
        return [x + [n for n in y if n not in x] for x in a for y in b][:MAX_CONJUNCTS]

    def expr(neg):
        out = term(neg)
        while peek() == "or":
            take()
            out = (out + term(neg))[:MAX_CONJUNCTS]
        return out

    def term(neg):
        out = factor(neg)
        while peek() == "and":
            take()
            out = cross(out, factor(neg))
        return out

    def factor(neg):
        tok = peek()
        if tok == "not":
            take()
            factor(True)
            return [[]]
        if tok == "(":
            take()
            out = expr(neg)
            take()  # ")"
            return out
        word = take()
        if peek() == "of":
            take()
            matched = _names(take(), names)
            if neg:
                negated.extend(matched)
            if word.lower() == "all":
                return [matched]
            return [[n] for n in matched][:MAX_CONJUNCTS] or [[]]
        if neg:
            negated.append(word)
        return [[word]]

    paths = expr(False)
    return paths, negated


# ---------------------------------------------------------------------------- per rule
def events_of(rule) -> tuple[list[dict], list[str]]:
    """The events for one rule and notes on what could not be generated."""
    notes: list[str] = []
    detections = rule.detection.detections
    cache: dict[tuple[str, int], dict | None] = {}

    def search_event(name: str, k: int) -> dict | None:
        if (name, k) not in cache:
            ev: dict = {}
            try:
                solve(detections[name], k, ev)
                cache[(name, k)] = ev
            except (Unsatisfiable, KeyError) as e:
                notes.append(f"{name}: {e}")
                cache[(name, k)] = None
        return cache[(name, k)]

    hits: list[dict] = []
    raw_hits: list[dict] = []
    negated: list[str] = []
    for text in rule.detection.condition:
        paths, neg = condition_paths(text, list(detections))
        negated.extend(n for n in neg if n not in negated)
        for path in paths:
            for k in range(VARIANTS):
                raw: dict = {}
                for name in path:
                    part = search_event(name, k)
                    if part is None:
                        break
                    merge(raw, part)
                else:
                    ev = finish(raw)
                    if ev and ev not in hits:
                        hits.append(ev)
                        raw_hits.append(raw)
    events = list(hits)
    # What a filter holds, alone and inside a hit (the `not` must then reject it).
    for name in negated:
        part = search_event(name, 0)
        if part is None:
            continue
        events.append(finish(part))
        for raw in raw_hits[:2]:
            events.append({**finish(raw), **finish(part)})
    for hit in hits[:3]:
        events.extend(near_misses(hit))
    unique: list[dict] = []
    for ev in events:
        if ev and ev not in unique:
            unique.append(ev)
    return unique[:MAX_PER_RULE], notes


def generate(rules) -> tuple[list[dict], dict[str, list[str]]]:
    """(events, notes per rule id) for rules in the given order."""
    events: list[dict] = []
    seen: set[str] = set()
    notes: dict[str, list[str]] = {}
    for rule in rules:
        evs, n = events_of(rule)
        if n:
            notes[str(rule.id)] = n
        for ev in evs:
            key = repr(sorted((k, repr(v)) for k, v in ev.items()))
            if key not in seen:
                seen.add(key)
                events.append(ev)
    return events, notes
