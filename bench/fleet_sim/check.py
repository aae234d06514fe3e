#!/usr/bin/env python3
"""Score countersign alerts against fleet_sim ground truth.

  python3 bench/fleet_sim/check.py DIR/ground_truth.json DIR/alerts.ndjson [--strict]

An alert matches a scenario when its host (host.id, else host.name) is the scenario's
host and its file is the scenario's file: same process.hash.sha256, else same sha1
(Defender certificate rows carry only SHA1), else, for alerts without any hash (Code
Integrity 3033 names the file only), the same process.executable; the same for each of a
scenario's further `files`, and an alert naming no file (Sigma on a Security 4616) matches
a file-less entry by event time. A scenario is caught for detector X when a matching alert
lists X in detections[].id: a built-in cs.* id or a Sigma rule id. Alerts that match no
scenario are benign alerts (false positives of the simulated fleet).

Scenarios marked "evasion" in the ground truth (evasion_class: paths, lookalike, expiry,
...) document evasions today's detectors are expected to miss: they are scored apart from
the others, caught/missed per evasion class.

Prints, per detector: scenarios expected, caught, missed (names); the evasion scenarios per
class; then benign alerts by severity, by detector (with the detection's own severity) and
by day, the signers behind them, benign alerts per million benign events by detector and
severity, and the benign alerts of medium or higher grouped by detector, severity,
population (ground truth file_populations), file and signer, with one example reason.

--strict exits 1 when a non-evasion scenario is missed or a benign alert is medium or
higher; --strict-evasion also when an evasion scenario is missed. --detectors restricts the
scoring to a list of detector ids (e.g. the ones implemented). Standard library only.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys

SEVERITIES = ["critical", "high", "medium", "low", "info"]
RANK = {s: i for i, s in enumerate(reversed(SEVERITIES))}  # info 0 .. critical 4


def lower(v):
    return v.lower() if isinstance(v, str) else None


def load_alerts(path: str) -> tuple[list[dict], int]:
    alerts, bad = [], 0
    f = sys.stdin if path == "-" else open(path, encoding="utf-8")
    with f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                a = json.loads(line)
            except json.JSONDecodeError:
                bad += 1
                continue
            if isinstance(a, dict) and "detections" in a:
                alerts.append(a)
            else:
                bad += 1
    return alerts, bad


def alert_keys(a: dict):
    host = a.get("host") or {}
    proc = a.get("process") or {}
    h = proc.get("hash") or {}
    return (lower(host.get("id")), lower(host.get("name")), lower(h.get("sha256")), lower(h.get("sha1")),
            lower(proc.get("executable")), a.get("time"))


def file_matches(f: dict, sha256, sha1, exe, when) -> bool:
    if not (sha256 or sha1 or exe):
        # An alert naming no file (a Sigma rule on a Security event): the scenario's
        # file-less event at the same time.
        return bool(when) and not (f.get("sha256") or f.get("sha1") or f.get("executable")) and f.get("time") == when
    if sha256 and f.get("sha256"):
        return sha256 == lower(f.get("sha256"))
    if sha1 and f.get("sha1"):
        return sha1 == lower(f.get("sha1"))
    if sha256 or sha1:
        return False
    return bool(exe) and exe == lower(f.get("executable"))


def scenario_matches(s: dict, keys) -> bool:
    hid, hname, sha256, sha1, exe, when = keys
    if not ((hid and hid == lower(s.get("host"))) or (hname and hname == lower(s.get("host_name")))):
        return False
    # The scenario's file, then the further files of multi-step scenarios (the tools a
    # clock rollback runs; a Security 4616 names only the process, no hash).
    return any(file_matches(f, sha256, sha1, exe, when) for f in [s] + list(s.get("files") or []))


def process_of(a: dict) -> str:
    """What a Sigma alert is about: the process (and command line when the alert has one)."""
    proc = a.get("process") or {}
    exe = proc.get("executable") or "(no process)"
    cl = proc.get("command_line")
    return f"{exe} `{cl}`" if cl else exe


def det_sev_ids(alerts, scored):
    return {(d.get("id"), d.get("severity")) for a in alerts for d in a.get("detections", []) if scored(d.get("id"))}


def generic_path(path: str) -> str:
    """C:\\Users\\anna\\... -> C:\\Users\\<u>\\... (one group per file, whatever the user)."""
    parts = path.split("\\")
    for i in range(len(parts) - 1):
        if parts[i].lower() == "users" and i + 1 < len(parts) - 1 and parts[i + 1].lower() != "public":
            parts[i + 1] = "<u>"
            break
    return "\\".join(parts)


def signer_of(a: dict) -> str:
    cs = (a.get("process") or {}).get("code_signature") or {}
    return cs.get("subject_name") or "(no signer)"


def signer_cn(a: dict) -> str:
    """The signer's CN when the alert names a DN (OCSF), so one signer groups as one."""
    s = signer_of(a)
    if s.startswith("CN="):
        v = s[3:]
        if v.startswith('"'):
            return v[1:].split('"', 1)[0]
        return v.split(", ", 1)[0]
    return s


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("ground_truth")
    ap.add_argument("alerts", help="countersign replay output (NDJSON alerts), '-' for stdin")
    ap.add_argument("--strict", action="store_true",
                    help="exit 1 if a non-evasion scenario is missed or a benign alert has severity medium or higher")
    ap.add_argument("--strict-evasion", action="store_true",
                    help="with --strict (or alone): also exit 1 if an evasion scenario is missed")
    ap.add_argument("--detectors", default="",
                    help="comma-separated detector ids to score (default: every id in the ground truth)")
    ap.add_argument("--top", type=int, default=5, help="signers listed per detector among benign alerts")
    ap.add_argument("--verbose", "-v", action="store_true", help="list every scenario with what fired")
    ap.add_argument("--json", metavar="FILE", help="also write the result as JSON")
    args = ap.parse_args(argv)

    with open(args.ground_truth, encoding="utf-8") as f:
        gt = json.load(f)
    scenarios = gt["scenarios"]
    alerts, bad_lines = load_alerts(args.alerts)
    only = {d.strip() for d in args.detectors.split(",") if d.strip()}

    def scored(det: str) -> bool:
        return not only or det in only

    by_host = collections.defaultdict(list)
    for i, s in enumerate(scenarios):
        by_host[lower(s.get("host"))].append(i)
        by_host[lower(s.get("host_name"))].append(i)

    titles = {}  # detection id -> title (Sigma rule ids are UUIDs; name them in the report)
    for a in alerts:
        for d in a.get("detections", []):
            if d.get("id") and d.get("title") and not str(d.get("id")).startswith("cs."):
                titles.setdefault(d["id"], d["title"])
    fired = [collections.defaultdict(set) for _ in scenarios]  # scenario -> detector -> severities
    scenario_alerts = [0] * len(scenarios)
    benign = []
    for a in alerts:
        keys = alert_keys(a)
        cands = set(by_host.get(keys[0], [])) | set(by_host.get(keys[1], []))
        hits = [i for i in sorted(cands) if scenario_matches(scenarios[i], keys)]
        if not hits:
            benign.append(a)
            continue
        for i in hits:
            scenario_alerts[i] += 1
            for d in a.get("detections", []):
                fired[i][d.get("id")].add(d.get("severity"))

    # -- scenarios per detector
    detectors = []
    for s in scenarios:
        for d in s["expected_detectors"]:
            if d not in detectors and scored(d):
                detectors.append(d)
    for d in sorted(only):
        if d not in detectors:
            detectors.append(d)
    evasive = [bool(s.get("evasion")) for s in scenarios]
    table = {}
    for d in detectors:
        exp = [i for i, s in enumerate(scenarios) if d in s["expected_detectors"] and not evasive[i]]
        caught = [i for i in exp if d in fired[i]]
        missed = [i for i in exp if d not in fired[i]]
        table[d] = (exp, caught, missed)
    # Evasion scenarios: caught when every scored expected detector fired on them.
    ev_classes: dict[str, list[int]] = collections.defaultdict(list)
    for i, s in enumerate(scenarios):
        if evasive[i] and any(scored(d) for d in s["expected_detectors"]):
            ev_classes[s.get("evasion_class") or "other"].append(i)

    def ev_caught(i):
        return all(d in fired[i] for d in scenarios[i]["expected_detectors"] if scored(d))

    def label(i):
        s = scenarios[i]
        return f"{s['name']}@{s.get('host_name') or s['host']}({s.get('schema')})"

    benign_events = gt.get("benign_events") or max(1, gt.get("events", 0) - gt.get("attack_events", 0))
    p = print
    n_ev = sum(evasive)
    p(f"fleet_sim check: seed {gt.get('seed')}, {gt.get('hosts')} hosts, {gt.get('events')} events "
      f"({benign_events} benign), {len(scenarios)} host-scenarios ({n_ev} evasion); {len(alerts)} alerts read"
      + (f", {bad_lines} unreadable lines skipped" if bad_lines else ""))
    if gt.get("events_by_schema"):
        p("events by schema: " + ", ".join(f"{k} {v}" for k, v in gt["events_by_schema"].items()))
    if only:
        p(f"scored detectors: {', '.join(sorted(only))}")
    p("")
    p(f"{'detector':<38}{'expected':>9}{'caught':>8}{'missed':>8}")
    for d in detectors:
        exp, caught, missed = table[d]
        p(f"{d:<38}{len(exp):>9}{len(caught):>8}{len(missed):>8}")
    tot_exp = sum(len(v[0]) for v in table.values())
    tot_caught = sum(len(v[1]) for v in table.values())
    p(f"{'total (scenario x detector)':<38}{tot_exp:>9}{tot_caught:>8}{tot_exp - tot_caught:>8}")
    named = [d for d in sorted(set(detectors) | {d for d, _ in det_sev_ids(benign, scored)}) if d in titles]
    if named:
        p("  Sigma rules: " + "; ".join(f"{d} = {titles[d]}" for d in named))
    any_missed = False
    for d in detectors:
        missed = table[d][2]
        if missed:
            any_missed = True
            p(f"  missed {d}: " + ", ".join(label(i) for i in missed))
    undetected = [i for i in range(len(scenarios)) if scenario_alerts[i] == 0 and not evasive[i]]
    if undetected:
        p(f"  scenarios without any alert: {len(undetected)} of {len(scenarios) - n_ev}")
    extra = collections.Counter()
    for i, s in enumerate(scenarios):
        for d in fired[i]:
            if d not in s["expected_detectors"]:
                extra[d] += 1
    if extra:
        p("  detections on scenarios beyond the expected ones: " +
          ", ".join(f"{d} x{n}" for d, n in extra.most_common()))
    ev_missed_any = False
    ev_json = {}
    if ev_classes:
        p("")
        p("evasion scenarios (expected to be missed until the detectors learn them):")
        p(f"{'evasion class':<38}{'scenarios':>9}{'caught':>8}{'missed':>8}")
        for cls in sorted(ev_classes):
            idx = ev_classes[cls]
            got = [i for i in idx if ev_caught(i)]
            p(f"{cls:<38}{len(idx):>9}{len(got):>8}{len(idx) - len(got):>8}")
            ev_json[cls] = {"scenarios": len(idx), "caught": [label(i) for i in got],
                            "missed": [label(i) for i in idx if not ev_caught(i)]}
        for cls in sorted(ev_classes):
            for i in ev_classes[cls]:
                s_ = scenarios[i]
                ok = ev_caught(i)
                ev_missed_any = ev_missed_any or not ok
                got = ", ".join(f"{d}[{'/'.join(sorted(x for x in sev if x))}]" for d, sev in sorted(fired[i].items()))
                p(f"  {'caught' if ok else 'MISSED'} {cls}: {label(i)} {s_.get('executable')} signer "
                  f"\"{s_.get('signer')}\"; expected {', '.join(s_['expected_detectors'])}; fired {got or '-'}")
    if args.verbose:
        p("")
        p("scenarios:")
        for i, s in enumerate(scenarios):
            got = ", ".join(f"{d}[{'/'.join(sorted(x for x in sev if x))}]" for d, sev in sorted(fired[i].items()))
            p(f"  {label(i)} {s['time']}: expected {', '.join(s['expected_detectors'])}; "
              f"alerts {scenario_alerts[i]}; fired {got or '-'}")

    # -- benign alerts
    def benign_scored(a):
        return [d for d in a.get("detections", []) if scored(d.get("id"))]

    benign_sc = [a for a in benign if benign_scored(a)]
    sev_count = collections.Counter()
    det_sev = collections.Counter()
    det_signers = collections.defaultdict(collections.Counter)
    by_day = collections.Counter()
    by_schema = collections.Counter()
    file_pops = {k.lower(): v for k, v in (gt.get("file_populations") or {}).items()}
    host_kinds = {"ws": "workstation", "srv": "server", "dev": "dev"}
    # (detector, severity, population, file, signer) -> alerts, hosts, host kinds, schemas, one reason
    groups: dict[tuple, dict] = {}
    for a in benign_sc:
        dets = benign_scored(a)
        sev = a.get("severity") if not only else max((d.get("severity", "info") for d in dets),
                                                      key=lambda x: RANK.get(x, 0))
        sev_count[sev] += 1
        by_day[(a.get("time") or "")[:10]] += 1
        schema = (a.get("source") or {}).get("schema", "?")
        by_schema[schema] += 1
        _, hname, sha256, sha1, exe, _ = alert_keys(a)
        pop = file_pops.get(sha256 or "") or file_pops.get(sha1 or "") or "?"
        host = (a.get("host") or {}).get("name") or (a.get("host") or {}).get("id") or "?"
        kind = host_kinds.get(host.split("-", 1)[0], "?")
        for d in dets:
            det_sev[(d.get("id"), d.get("severity"))] += 1
            det_signers[d.get("id")][signer_of(a) if d.get("id", "").startswith("cs.") else process_of(a)] += 1
            f = generic_path((a.get("process") or {}).get("executable") or "(no file)")
            key = (d.get("id"), d.get("severity"), pop, f, signer_cn(a))
            g = groups.setdefault(key, {"alerts": 0, "hosts": set(), "kinds": collections.Counter(),
                                        "schemas": collections.Counter(), "reason": d.get("reason") or ""})
            g["alerts"] += 1
            g["hosts"].add(host)
            g["kinds"][kind] += 1
            g["schemas"][schema] += 1
    per_million = 1e6 * len(benign_sc) / benign_events
    pm_table = collections.defaultdict(dict)  # detector -> severity -> per million benign events
    for (d, s_), n in det_sev.items():
        pm_table[d][s_ or "?"] = round(1e6 * n / benign_events, 1)
    p("")
    p(f"benign alerts: {len(benign_sc)} ({per_million:.0f} per million benign events)")
    if benign_sc:
        p("  by severity: " + ", ".join(f"{s} {sev_count[s]}" for s in SEVERITIES if sev_count[s]))
        p("  by day:      " + ", ".join(f"{d} {n}" for d, n in sorted(by_day.items())))
        p("  by schema:   " + ", ".join(f"{s} {n}" for s, n in by_schema.most_common()))
        p("  by detector (detection severity), top signers (Sigma rules: top processes):")
        for (d, s), n in sorted(det_sev.items(), key=lambda kv: (-RANK.get(kv[0][1], 0), -kv[1])):
            p(f"    {d:<38}{s or '?':<8}{n:>7}")
        for d, signers in sorted(det_signers.items()):
            p(f"    {d}: " + "; ".join(f"{sg} ({n})" for sg, n in signers.most_common(args.top)))
        p("  per million benign events, by detector and detection severity:")
        p(f"    {'detector':<38}" + "".join(f"{x:>10}" for x in SEVERITIES))
        for d in sorted(pm_table, key=lambda d: (-max(RANK.get(x, 0) for x in pm_table[d]), d)):
            p(f"    {d:<38}" + "".join(f"{pm_table[d].get(x, 0):>10.1f}" for x in SEVERITIES))
        loud_groups = [(k, g) for k, g in groups.items() if RANK.get(k[1], 0) >= RANK["medium"]]
        quiet_groups = [(k, g) for k, g in groups.items() if RANK.get(k[1], 0) < RANK["medium"]]
        for title, lst, show in (("medium or higher", loud_groups, True), ("low and info", quiet_groups, args.verbose)):
            if not lst or not show:
                continue
            p(f"  benign alerts of {title} by detector, severity, population, file and signer:")
            for (d, sv, pop, f, sg), g in sorted(lst, key=lambda kv: (-RANK.get(kv[0][1], 0), -kv[1]["alerts"])):
                p(f"    {d} {sv} x{g['alerts']} on {len(g['hosts'])} host(s) "
                  f"({', '.join(f'{k} {n}' for k, n in g['kinds'].most_common())}; "
                  f"{', '.join(f'{k} {n}' for k, n in g['schemas'].most_common())}) population {pop}: {f} "
                  f"signer \"{sg}\"")
                p(f"      e.g. {g['reason']}")
    benign_per_id = {d: sum(n for (x, _), n in det_sev.items() if x == d) for d in detectors}
    for (d, _), n in det_sev.items():
        benign_per_id.setdefault(d, 0)
        if d not in detectors:
            benign_per_id[d] += n
    quiet = [d for d in detectors if not benign_per_id[d]]
    if quiet:
        p("  no benign alerts from: " + ", ".join(quiet))
    loud = sum(n for s, n in sev_count.items() if RANK.get(s, 0) >= RANK["medium"])

    failed = []
    if any_missed:
        failed.append("missed scenarios")
    if loud:
        failed.append(f"{loud} benign alerts of severity medium or higher")
    ev_note = ""
    if ev_missed_any:
        if args.strict_evasion:
            failed.append("missed evasion scenarios")
        else:
            ev_note = " (evasion scenarios missed: not counted without --strict-evasion)"
    p("")
    p("result: " + ("PASS" if not failed else "FAIL (" + "; ".join(failed) + ")") + ev_note)

    if args.json:
        out = {
            "detectors": {d: {"expected": len(v[0]), "caught": len(v[1]),
                              "missed": [label(i) for i in v[2]]} for d, v in table.items()},
            "benign_alerts": len(benign_sc),
            "benign_alerts_per_million_events": round(per_million, 1),
            "benign_by_severity": dict(sev_count),
            "benign_by_detector": {f"{d}/{s}": n for (d, s), n in det_sev.items()},
            "benign_by_day": dict(by_day),
            "benign_by_detection_id": benign_per_id,
            "benign_per_million_by_detector_severity": pm_table,
            "benign_groups": [
                {"detector": d, "severity": sv, "population": pop, "file": f, "signer": sg, "alerts": g["alerts"],
                 "hosts": len(g["hosts"]), "host_kinds": dict(g["kinds"]), "schemas": dict(g["schemas"]),
                 "example_reason": g["reason"]}
                for (d, sv, pop, f, sg), g in sorted(groups.items(), key=lambda kv: (-RANK.get(kv[0][1], 0),
                                                                                       -kv[1]["alerts"]))],
            "evasion": ev_json,
            "events_by_schema": gt.get("events_by_schema") or {},
            "detection_titles": titles,
            "pass": not failed,
        }
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=1)
            f.write("\n")
    return 1 if ((args.strict or args.strict_evasion) and failed) else 0


if __name__ == "__main__":
    sys.exit(main())
