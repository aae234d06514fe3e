#!/usr/bin/env bash
# The main job end to end on this machine: a local Kafka broker, sample events in,
# countersign running, alerts out, metrics up; then everything is stopped.
#
#   scripts/demo.sh
#   DEMO_ALERT_FORMAT=ocsf scripts/demo.sh   # also writes OCSF (or ecs) alerts to a second
#                                            # topic and shows the first one with its headers
#
# It installs what it needs (scripts/setup.sh), builds the countersign binary, starts a
# throw-away broker (scripts/kafka.sh), produces sample events in every input schema
# (ECS, OCSF, Microsoft Defender rows, Code Integrity EventData with its 3089 signature
# events; from tests/data) plus a few malformed messages, runs `countersign run` with
# config/countersign.yaml (broker address, metrics port and a state directory given by
# environment overrides), prints the alerts it wrote and an excerpt of /metrics, and stops.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$ROOT/scripts/lib/common.sh"
[[ "${1:-}" == -h || "${1:-}" == --help ]] && { header_comment "${BASH_SOURCE[0]}"; exit 0; }

"$ROOT/scripts/setup.sh" >/dev/null
log "building countersign"
cmake -S "$ROOT" -B "$ROOT/build/release" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$ROOT/build/release" --target countersign -j "$(nproc)" >/dev/null
BIN="$ROOT/build/release/processor/countersign"

export COUNTERSIGN_KAFKA_DIR="$ROOT/.cache/demo-kafka"
WORK="$(mktemp -d)"
SERVICE_PID=""
cleanup() {
  if [[ -n "$SERVICE_PID" ]] && kill -0 "$SERVICE_PID" 2>/dev/null; then
    kill -TERM "$SERVICE_PID" 2>/dev/null || true
    wait "$SERVICE_PID" 2>/dev/null || true
  fi
  "$ROOT/scripts/kafka.sh" stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

BOOTSTRAP="$("$ROOT/scripts/kafka.sh" start)"
log "broker at $BOOTSTRAP"

INPUT=countersign.events
ALERTS=countersign.alerts
DEAD=countersign.dead-letter
SAMPLES=(ecs/process_events ocsf/process_activity defender/rows codeintegrity/join_sequence)
{
  for sample in "${SAMPLES[@]}"; do cat "$ROOT/tests/data/$sample.ndjson"; done
  printf '%s\n' '{"@timestamp": "2026-11-20T10:00:00Z", "host": {"id": "broken'   # invalid JSON
  printf '%s\n' '[1,2,3]'                                                            # not an object
  printf '%s\n' '{"@timestamp":"2026-11-20T10:00:00Z","host":{"id":7}}'             # wrong type
} >"$WORK/events.ndjson"
kcat -P -q -b "$BOOTSTRAP" -t "$INPUT" -l "$WORK/events.ndjson"
log "produced $(wc -l <"$WORK/events.ndjson") events to $INPUT"

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
export COUNTERSIGN_KAFKA_BOOTSTRAP_SERVERS="$BOOTSTRAP"
export COUNTERSIGN_METRICS_LISTEN="127.0.0.1:$PORT"
# Enterprises' own code-signing CAs: untrusted by Windows, expected here.
export COUNTERSIGN_DETECTORS_SIGNATURE_UNTRUSTED_INTERNAL_PKI_ISSUERS="Contoso Internal Code Signing CA,Fabrikam Internal Code Signing CA"
# Fleet prevalence in RocksDB, through the internal topics (observations, changelog,
# signer deltas, signers); no learning period, so the samples use it at once.
export COUNTERSIGN_STATE_DIR="$WORK/state"
export COUNTERSIGN_LEARNING_MIN_HISTORY=0s
CONFIG="$ROOT/config/countersign.yaml"
FORMAT="${DEMO_ALERT_FORMAT:-}"
if [[ -n "$FORMAT" ]]; then
  [[ "$FORMAT" == ocsf || "$FORMAT" == ecs ]] || die "DEMO_ALERT_FORMAT must be ocsf or ecs"
  # A second alerts output (alerts.outputs) in that format, beside the countersign one.
  CONFIG="$WORK/countersign.yaml"
  sed "s/^alerts:\$/alerts:\n  outputs:\n    - topic: $ALERTS.$FORMAT\n      format: $FORMAT/" \
    "$ROOT/config/countersign.yaml" >"$CONFIG"
fi
"$BIN" run --config "$CONFIG" 2>"$WORK/countersign.log" &
SERVICE_PID=$!
log "countersign running (pid $SERVICE_PID), metrics on http://127.0.0.1:$PORT/metrics"

# Wait until every input message is processed: all alerts and dead letters written.
expected_alerts=0
for sample in "${SAMPLES[@]}"; do
  expected_alerts=$((expected_alerts + $(grep -vc '^#' "$ROOT/tests/data/${sample%%/*}/expected_alerts.tsv")))
done
deadline=$((SECONDS + 90))
count_topic() { kcat -C -q -b "$BOOTSTRAP" -t "$1" -o beginning -e -f '%o\n' 2>/dev/null | wc -l; }
until (($(count_topic "$ALERTS") >= expected_alerts)) && (($(count_topic "$DEAD") >= 3)); do
  if ((SECONDS > deadline)) || ! kill -0 "$SERVICE_PID" 2>/dev/null; then
    tail -n 30 "$WORK/countersign.log" >&2
    die "alerts did not arrive in time"
  fi
  sleep 0.5
done
sleep 1.5  # let one metrics publication (every second) pass

echo
echo "== alerts written to $ALERTS (key = host id) =="
kcat -C -q -b "$BOOTSTRAP" -t "$ALERTS" -o beginning -e -f '%s\n' | python3 -c '
import json, sys
for line in sys.stdin:
    a = json.loads(line)
    print("%6s  %-12s %-13s %s" % (a["severity"], a["host"]["id"][:12], a["source"]["schema"], a["process"].get("executable") or "sha1 " + a["process"]["hash"].get("sha1", "?")))
    for d in a["detections"]:
        print("        %s: %s" % (d["id"], d["reason"]))
'
if [[ -n "$FORMAT" ]]; then
  echo
  echo "== the first $FORMAT alert of $ALERTS.$FORMAT, with its Kafka headers =="
  kcat -C -q -b "$BOOTSTRAP" -t "$ALERTS.$FORMAT" -o beginning -c 1 -e -f 'headers: %h\n%s\n' | {
    IFS= read -r headers && echo "$headers"
    python3 -m json.tool
  }
fi
echo
echo "== dead letters in $DEAD =="
kcat -C -q -b "$BOOTSTRAP" -t "$DEAD" -o beginning -e -f 'headers: %h\n  payload: %s\n'
echo
echo "== /metrics (non-zero countersign series) =="
curl -fsS "http://127.0.0.1:$PORT/metrics" | grep '^countersign_' | grep -v ' 0$'
echo
echo "== /healthz: $(curl -fsS "http://127.0.0.1:$PORT/healthz")"

kill -TERM "$SERVICE_PID"
wait "$SERVICE_PID" && log "countersign stopped cleanly (exit 0)"
SERVICE_PID=""
