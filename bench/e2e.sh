#!/usr/bin/env bash
# End to end through a real local broker, side by side with the ceiling (a first
# version of the performance issue's harness: one instance, one run).
#
#   bench/e2e.sh [EVENTS]        (default 500000)
#
# Starts a throw-away broker (scripts/kafka.sh), writes EVENTS simulated fleet events
# (bench/fleet_sim, every schema) to a 4-partition topic with kcat, then measures in the
# same run:
#   ceiling      a bare kcat consumer in its own consumer group reading the topic to its
#                end and doing nothing with the messages;
#   countersign  one `countersign run` with prevalence state and every detector, from
#                ready until every input and observation is processed (its metrics say so).
# Prints events/s for both, the ratio, countersign's CPU seconds per million events and
# peak RSS. Uses build/release/processor/countersign (COUNTERSIGN_BIN to override).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=../scripts/lib/common.sh
source "$ROOT/scripts/lib/common.sh"
[[ "${1:-}" == -h || "${1:-}" == --help ]] && { header_comment "${BASH_SOURCE[0]}"; exit 0; }

EVENTS="${1:-500000}"
BIN="${COUNTERSIGN_BIN:-$ROOT/build/release/processor/countersign}"
if [[ ! -x "$BIN" ]]; then
  cmake -S "$ROOT" -B "$ROOT/build/release" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$ROOT/build/release" --target countersign >/dev/null
fi
BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"
command -v kcat >/dev/null || die "kcat is needed (scripts/setup.sh installs it)"

WORK="$(mktemp -d)"
SERVICE_PID=""
export COUNTERSIGN_KAFKA_DIR="$ROOT/.cache/e2e-kafka"
cleanup() {
  [[ -n "$SERVICE_PID" ]] && kill -TERM "$SERVICE_PID" 2>/dev/null && wait "$SERVICE_PID" 2>/dev/null
  "$ROOT/scripts/kafka.sh" stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# Enough simulated fleet for EVENTS events (about 44 per host and day).
hosts=$(( (EVENTS / 3 / 40) + 50 ))
log "generating about $EVENTS events ($hosts hosts, 3 days)"
python3 "$ROOT/bench/fleet_sim/fleet_sim.py" --hosts "$hosts" --days 3 --events-per-host-day 40 --seed 11 \
  --schemas ecs,ocsf,defender,winlogbeat,codeintegrity --out "$WORK/fleet" >/dev/null
head -n "$EVENTS" "$WORK/fleet/events.ndjson" >"$WORK/events.ndjson"
EVENTS=$(wc -l <"$WORK/events.ndjson")
BYTES=$(wc -c <"$WORK/events.ndjson")

BOOTSTRAP="$(COUNTERSIGN_KAFKA_PARTITIONS=4 "$ROOT/scripts/kafka.sh" start)"
log "broker at $BOOTSTRAP; producing $EVENTS events ($((BYTES / 1048576)) MiB) to bench.events"
t0=$(date +%s.%N)
kcat -P -q -b "$BOOTSTRAP" -t bench.events -X linger.ms=50 -X batch.num.messages=10000 -z lz4 -l "$WORK/events.ndjson"
t1=$(date +%s.%N)
produce_s=$(awk "BEGIN { print $t1 - $t0 }")

log "ceiling: a bare consumer group reading everything"
t0=$(date +%s.%N)
got=$(kcat -C -q -b "$BOOTSTRAP" -G bench-ceiling bench.events -X auto.offset.reset=earliest -e -f '\n' 2>/dev/null | wc -l)
t1=$(date +%s.%N)
ceiling_s=$(awk "BEGIN { print $t1 - $t0 }")
[[ "$got" -ge "$EVENTS" ]] || log "warning: the ceiling consumer read $got of $EVENTS"

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
cp "$ROOT/bench/fleet_sim/sim_config.yaml" "$WORK/countersign.yaml"
cat >>"$WORK/countersign.yaml" <<EOF
kafka:
  bootstrap_servers: "$BOOTSTRAP"
  group_id: bench-countersign
  input_topics: [bench.events]
  alerts_topic: bench.alerts
  dead_letter_topic: bench.dead-letter
metrics:
  listen: "127.0.0.1:$PORT"
topology:
  partitions: 4
log:
  format: text
EOF
sed -i "s#^  dir: \"\"#  dir: \"$WORK/state\"#" "$WORK/countersign.yaml"
metric() { curl -s "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }

log "countersign: one instance, every detector, prevalence state"
(cd "$WORK/fleet" && exec "$BIN" run --config "$WORK/countersign.yaml" 2>"$WORK/countersign.log") &
SERVICE_PID=$!
until [[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/readyz")" == 200 ]]; do
  kill -0 "$SERVICE_PID" 2>/dev/null || { tail -20 "$WORK/countersign.log"; die "countersign exited"; }
  sleep 0.05
done
t0=$(date +%s.%N)
cpu0=$(awk '{ print $14 + $15 }' "/proc/$SERVICE_PID/stat")
while :; do
  processed=$(metric countersign_events_processed_total); processed=${processed:-0}
  forwarded=$(metric countersign_observations_forwarded_total); forwarded=${forwarded:-0}
  judged=$(metric countersign_observations_total); judged=${judged:-0}
  if [[ "${processed%.*}" -ge "$EVENTS" && "${judged%.*}" -ge "${forwarded%.*}" ]]; then break; fi
  kill -0 "$SERVICE_PID" 2>/dev/null || { tail -20 "$WORK/countersign.log"; die "countersign exited"; }
  sleep 0.2
done
t1=$(date +%s.%N)
cpu1=$(awk '{ print $14 + $15 }' "/proc/$SERVICE_PID/stat")
rss_kib=$(awk '/VmHWM/ { print $2 }' "/proc/$SERVICE_PID/status")
alerts=$(metric countersign_alerts_total)
kill -TERM "$SERVICE_PID"; wait "$SERVICE_PID" || true; SERVICE_PID=""
cs_s=$(awk "BEGIN { print $t1 - $t0 }")
ticks=$(getconf CLK_TCK)

printf '\n%-34s %12s %12s\n' "" "seconds" "events/s"
printf '%-34s %12.2f %12.0f\n' "produce (kcat, lz4)" "$produce_s" "$(awk "BEGIN { print $EVENTS / $produce_s }")"
printf '%-34s %12.2f %12.0f\n' "ceiling (bare consumer group)" "$ceiling_s" "$(awk "BEGIN { print $EVENTS / $ceiling_s }")"
printf '%-34s %12.2f %12.0f\n' "countersign (1 instance)" "$cs_s" "$(awk "BEGIN { print $EVENTS / $cs_s }")"
printf '\nratio countersign/ceiling: %.2f\n' "$(awk "BEGIN { print $ceiling_s / $cs_s }")"
printf 'countersign CPU: %.1f s per million events; peak RSS %d MiB; %s alerts, %s observations judged\n' \
  "$(awk "BEGIN { print ($cpu1 - $cpu0) / $ticks / $EVENTS * 1000000 }")" "$((rss_kib / 1024))" "${alerts:-0}" "$judged"
printf 'events: %d (%d bytes), 4 input partitions, topology.partitions 4, machine: %s cores\n' "$EVENTS" "$BYTES" "$(nproc)"
