#!/usr/bin/env bash
# Detection quality on a simulated fleet: generate, replay with prevalence state, score.
#
#   bench/fleet_sim/quality.sh [OUT_DIR] [fleet_sim.py options...]
#
# Defaults: 2000 hosts, 3 days, 40 executions per host and day, seed 1, every schema
# (Sysmon hosts ship through Winlogbeat, flat NXLog/HELK JSON or evtx JSON). CHECK_STRICT=1
# fails on missed non-evasion scenarios and medium+ benign alerts; CHECK_STRICT_EVASION=1 also
# on missed evasion scenarios.
# Prints check.py's report and leaves events, ground truth, alerts and report.json in
# OUT_DIR (default /tmp/countersign-fleet). Uses build/release/processor/countersign
# (COUNTERSIGN_BIN to override); builds it if missing.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="${1:-/tmp/countersign-fleet}"
shift || true
BIN="${COUNTERSIGN_BIN:-$ROOT/build/release/processor/countersign}"
if [[ ! -x "$BIN" ]]; then
  cmake -S "$ROOT" -B "$ROOT/build/release" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$ROOT/build/release" --target countersign >/dev/null
fi
BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"  # replay runs in OUT
rm -rf "$OUT"
python3 "$ROOT/bench/fleet_sim/fleet_sim.py" --hosts 2000 --days 3 --events-per-host-day 40 --seed 1 \
  --schemas ecs,ocsf,defender,winlogbeat,flat,evtx,codeintegrity --out "$OUT" "$@"
(cd "$OUT" && "$BIN" replay --config "$ROOT/bench/fleet_sim/sim_config.yaml" --state-dir "$OUT/state" \
  "$OUT/events.ndjson" >"$OUT/alerts.ndjson" 2>"$OUT/replay.log")
tail -n 3 "$OUT/replay.log"
python3 "$ROOT/bench/fleet_sim/check.py" "$OUT/ground_truth.json" "$OUT/alerts.ndjson" --json "$OUT/report.json" \
  ${CHECK_STRICT:+--strict} ${CHECK_STRICT_EVASION:+--strict-evasion}
