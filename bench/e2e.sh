#!/usr/bin/env bash
# End to end through a real local broker: countersign side by side with the ceiling (a
# bare consumer group on the same topic), one command for every number of the
# "End to end" section of docs/benchmarks.md.
#
#   bench/e2e.sh [EVENTS]        (default 500000)
#
# Starts a throw-away broker (scripts/kafka.sh, its own state dir and free ports), loads
# the input topics with bench/loadgen.cpp (librdkafka, full speed) and measures, row by row:
#   ceiling        countersign_bench_latency ceiling: one librdkafka consumer-group member
#                  reading the topic to its end, doing nothing (per input data set);
#   cs-1           one `countersign run`, prevalence state, every detector, simulated
#                  fleet events (bench/fleet_sim, every schema, EVENTS of them);
#   cs-2           two instances (own processes and state dirs, one group) on the same events;
#   cs-1t2         one instance with two processing threads (processing.threads: 2; every
#                  other row runs one thread per instance) on the same events;
#   state-100k     one instance on generated ECS events over 100,000 distinct file hashes;
#   state-1m       the same over 1,000,000 distinct hashes (1.2 M events);
#   sigma-10,      one instance on the fleet events with 10 / 1,000 generated Sigma rules
#   sigma-1000     (only once the config has `sigma.rules_dir`; skipped otherwise);
#   sigma-sigmahq  the same with the whole SigmaHQ Windows folder (E2E_SIGMAHQ, default
#                  ../shared/sigmahq/rules/windows beside the repository; skipped if absent).
# Throughput is the drain of a pre-loaded topic: from the first processed message until
# every input message and every observation is processed (countersign's metrics, read
# every 0.1 s, published every 1 s). Then, with the backlog gone, a live phase produces
# LIVE_RATE events/s for LIVE_SECONDS (generated, 2% revoked signatures, each a new
# alert) and the alert latency is read back: alert message timestamp minus the input
# message timestamp (both CreateTime, the produce calls). CPU seconds (user+system of
# the countersign processes) per million events and peak RSS (VmHWM) cover the drain; so
# do the broker's CPU seconds per million events and the machine's busy share of its
# cores ("brkr s/M", "busy%"), which tell a saturated machine from a waiting process. The
# ceiling row's CPU is the bare consumer's, its broker CPU and busy share over its run.
#
# Env: E2E_ROWS (comma list of the rows above, default all), LIVE_RATE (2000),
# E2E_TOPOLOGY (one more line under `topology:` of every instance's config, e.g.
# "flush_interval: 2s"), E2E_KAFKA (the same under `kafka:`, e.g. "consumer: {...}"),
# E2E_CONFIG (more top-level YAML, sections not written above), E2E_LOG_LEVEL (info),
# LIVE_SECONDS (15), COUNTERSIGN_BUILD (build dir with countersign and the bench tools,
# default build/release; built if missing), COUNTERSIGN_BIN (another countersign binary,
# for before/after comparisons), E2E_CSV (default bench/results/e2e.csv),
# E2E_KEEP=1 keeps the work dir, E2E_PERF=PREFIX records `perf record -p` of the first
# instance of each row during the drain into PREFIX.<row>.data (E2E_PERF_ARGS adds options,
# e.g. "--call-graph dwarf"). Prints the table; writes the CSV (one line per row)
# and, with E2E_PLOT=1, runs bench/plot.py on it (PNGs in docs/img/).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=../scripts/lib/common.sh
source "$ROOT/scripts/lib/common.sh"
[[ "${1:-}" == -h || "${1:-}" == --help ]] && { header_comment "${BASH_SOURCE[0]}"; exit 0; }

EVENTS="${1:-500000}"
ROWS=",${E2E_ROWS:-ceiling,cs-1,cs-2,cs-1t2,state-100k,state-1m,sigma-10,sigma-1000,sigma-sigmahq},"
LIVE_RATE="${LIVE_RATE:-2000}"
LIVE_SECONDS="${LIVE_SECONDS:-15}"
BUILD="$(realpath -m "${COUNTERSIGN_BUILD:-$ROOT/build/release}")"
CSV="$(realpath -m "${E2E_CSV:-$ROOT/bench/results/e2e.csv}")"
BIN="$(realpath -m "${COUNTERSIGN_BIN:-$BUILD/processor/countersign}")"
LOADGEN="$BUILD/bench/countersign_bench_loadgen"
CONSUME="$BUILD/bench/countersign_bench_latency"
if [[ ! -x "$BIN" || ! -x "$LOADGEN" || ! -x "$CONSUME" ]]; then
  [[ -f "$BUILD/build.ninja" ]] || cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD" --target countersign countersign_bench_loadgen countersign_bench_latency >/dev/null
fi
want() { [[ "$ROWS" == *",$1,"* ]]; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/countersign-e2e.XXXXXX")"
PIDS=()
export COUNTERSIGN_KAFKA_DIR="${COUNTERSIGN_KAFKA_DIR:-$ROOT/.cache/e2e-kafka}"
stop_instances() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
}
cleanup() {
  stop_instances
  "$ROOT/scripts/kafka.sh" stop >/dev/null 2>&1 || true
  if [[ "${E2E_KEEP:-0}" == 1 ]]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
calc() { awk "BEGIN { print ($1) }"; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# The broker's CPU (same clock ticks) and the machine's busy and total ticks (/proc/stat:
# everything but idle and iowait), to show who the two cores were working for.
broker_ticks() { cpu_ticks "$(<"$COUNTERSIGN_KAFKA_DIR/pid")"; }
machine_ticks() { awk '$1 == "cpu" { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t; exit }' /proc/stat; }
metric() { curl -s "http://127.0.0.1:$1/metrics" | awk -v m="$2" 'BEGIN { v = 0 } $1 == m { v = $2 } END { printf "%d\n", v }'; }

# ───────────── input data ─────────────
# The simulated fleet, about 44 events per host and day; cached per size (pure function of the seed).
FLEET="$ROOT/.cache/e2e/fleet-$EVENTS"
if [[ ! -s "$FLEET/events.ndjson" ]]; then
  hosts=$(((EVENTS / 3 / 40) + 50))
  log "generating about $EVENTS simulated fleet events ($hosts hosts, 3 days)"
  rm -rf "$FLEET" && mkdir -p "$FLEET"
  python3 "$ROOT/bench/fleet_sim/fleet_sim.py" --hosts "$hosts" --days 3 --events-per-host-day 40 --seed 11 \
    --schemas ecs,ocsf,defender,winlogbeat,codeintegrity --out "$FLEET/sim" >/dev/null
  head -n "$EVENTS" "$FLEET/sim/events.ndjson" >"$FLEET/events.ndjson.tmp"
  mv "$FLEET/events.ndjson.tmp" "$FLEET/events.ndjson"
  rm "$FLEET/sim/events.ndjson"
fi
FLEET_EVENTS=$(wc -l <"$FLEET/events.ndjson")
FLEET_BYTES=$(wc -c <"$FLEET/events.ndjson")

BOOTSTRAP="$(COUNTERSIGN_KAFKA_PARTITIONS=4 "$ROOT/scripts/kafka.sh" start)"
log "broker at $BOOTSTRAP"

declare -A TOPIC_EVENTS TOPIC_CEILING TOPIC_CEILING_CPU TOPIC_CEILING_BROKER TOPIC_CEILING_BUSY
TIMEFORMAT='%U %S'
load() { # topic loadgen-args...
  local topic="$1" out
  shift
  out="$("$LOADGEN" --bootstrap "$BOOTSTRAP" --topic "$topic" "$@")"
  log "loaded $topic: $out"
  TOPIC_EVENTS[$topic]="$(sed -E 's/.*events=([0-9]+).*/\1/' <<<"$out")"
}
ceiling() { # topic
  local topic="$1" out
  [[ -n "${TOPIC_CEILING[$topic]:-}" ]] && return 0
  local b0 b1 busy0 total0 busy1 total1 times
  b0=$(broker_ticks)
  read -r busy0 total0 < <(machine_ticks)
  # The consumer's own user+system seconds (bash's `time`, TIMEFORMAT below).
  times="$WORK/ceiling-times"
  { time "$CONSUME" ceiling --bootstrap "$BOOTSTRAP" --topic "$topic" --group "ceiling.$topic" \
      --expect "${TOPIC_EVENTS[$topic]}" >"$WORK/ceiling-out"; } 2>"$times"
  out="$(<"$WORK/ceiling-out")"
  b1=$(broker_ticks)
  read -r busy1 total1 < <(machine_ticks)
  log "ceiling $topic: $out"
  TOPIC_CEILING[$topic]="$(sed -E 's/.*events_per_s=([0-9]+).*/\1/' <<<"$out")"
  # Over the whole consumer run (group join included), per million events.
  local m="${TOPIC_EVENTS[$topic]}"
  TOPIC_CEILING_CPU[$topic]="$(calc "$(awk '{ print $1 + $2 }' "$times") / $m * 1000000")"
  TOPIC_CEILING_BROKER[$topic]="$(calc "($b1 - $b0) / $(getconf CLK_TCK) / $m * 1000000")"
  TOPIC_CEILING_BUSY[$topic]="$(calc "100 * ($busy1 - $busy0) / ($total1 - $total0)")"
}

# ───────────── results ─────────────
mkdir -p "$(dirname "$CSV")"
echo "row,input,events,seconds,events_per_s,ceiling_events_per_s,ratio,cpu_s_per_m,peak_rss_mib,instances,alerts,latency_events,latency_p50_ms,latency_p99_ms,latency_max_ms,broker_cpu_s_per_m,machine_busy_pct" >"$CSV"
TABLE=()
record() { # row input events seconds eps ceiling cpu rss instances alerts lat_n p50 p99 max broker_cpu busy_pct
  local ratio
  ratio="$(calc "$6 > 0 ? $5 / $6 : 0")"
  printf '%s,%s,%s,%.2f,%.0f,%.0f,%.2f,%.1f,%s,%s,%s,%s,%s,%s,%s,%.1f,%.0f\n' "$1" "$2" "$3" "$4" "$5" "$6" "$ratio" "$7" "$8" "$9" \
    "${10}" "${11}" "${12}" "${13}" "${14}" "${15}" "${16}" >>"$CSV"
  TABLE+=("$(printf '%-11s %-9s %9s %8.2f %10.0f %10.0f %6.2f %8.1f %8.1f %5.0f %7s %5s %6s %7s %7s %7s' "$1" "$2" "$3" "$4" "$5" "$6" "$ratio" "$7" \
    "${15}" "${16}" "$8" "$9" "${10}" "${11}" "${12}" "${13}")")
}

# ───────────── countersign runs ─────────────
write_config() { # file group port state_dir input_topics alerts_topic extra_yaml threads
  cp "$ROOT/bench/fleet_sim/sim_config.yaml" "$1"
  sed -i "s#^  dir: \"\"#  dir: \"$4\"#" "$1"
  cat >>"$1" <<EOF
kafka:
  bootstrap_servers: "$BOOTSTRAP"
  group_id: $2
  input_topics: [$5]
  alerts_topic: $6
  dead_letter_topic: $6.dead-letter
${E2E_KAFKA:+  $E2E_KAFKA}
metrics:
  listen: "127.0.0.1:$3"
topology:
  partitions: 4
${E2E_TOPOLOGY:+  $E2E_TOPOLOGY}
processing:
  threads: ${8:-1}
log:
  format: text
  level: ${E2E_LOG_LEVEL:-info}
$7
${E2E_CONFIG:-}
EOF
}

# Input processed, observations forwarded and observations done by the hash stage,
# summed over instances. Done: judged, plus Defender execution rows the certificate join
# keeps waiting (held) or could not keep (evicted); a held row judged later counts in
# countersign_observations_total and in joined_late, so it is taken off once.
progress() { # port...
  local port p=0 f=0 j=0 join='countersign_certificate_join_total{outcome='
  for port in "$@"; do
    p=$((p + $(metric "$port" countersign_events_processed_total)))
    f=$((f + $(metric "$port" countersign_observations_forwarded_total)))
    j=$((j + $(metric "$port" countersign_observations_total) + $(metric "$port" "${join}\"held\"}") +
      $(metric "$port" "${join}\"evicted\"}") - $(metric "$port" "${join}\"joined_late\"}")))
  done
  echo "$p $f $j"
}

# One countersign row: N instances on `topic` (already loaded), then the live phase.
run_countersign() { # row topic instances extra_yaml threads
  local row="$1" topic="$2" n="$3" extra="${4:-}" threads="${5:-1}" i port group="bench-$1" live="bench.live.$1" alerts="bench.alerts.$1"
  local ports=() target processed forwarded judged t0="" t1 perf_pid="" cpu0=0 cpu1=0 rss=0 r a total_alerts=0
  local b0=0 b1 busy0=0 total0=0 busy1 total1
  target="${TOPIC_EVENTS[$topic]}"
  "$LOADGEN" --bootstrap "$BOOTSTRAP" --topic "$live" --generate 1 --hashes 1 --count 0 >/dev/null  # create it now
  for ((i = 0; i < n; i++)); do
    port="$(free_port)"
    ports+=("$port")
    write_config "$WORK/$row-$i.yaml" "$group" "$port" "$WORK/$row-state-$i" "$topic, $live" "$alerts" "$extra" "$threads"
    (cd "$FLEET/sim" && exec "$BIN" run --config "$WORK/$row-$i.yaml" 2>"$WORK/$row-$i.log") &
    PIDS+=($!)
  done
  for ((i = 0; i < n; i++)); do
    until [[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${ports[i]}/readyz")" == 200 ]]; do
      kill -0 "${PIDS[i]}" 2>/dev/null || { tail -20 "$WORK/$row-$i.log" >&2; die "countersign ($row) exited"; }
      sleep 0.05
    done
  done
  # The 1-event live topic seed counts as input too.
  target=$((target + 1))
  while :; do
    read -r processed forwarded judged < <(progress "${ports[@]}")
    if [[ -z "$t0" && "$processed" -gt 0 ]]; then
      t0=$(now)
      cpu0=0
      b0=$(broker_ticks)
      read -r busy0 total0 < <(machine_ticks)
      for ((i = 0; i < n; i++)); do cpu0=$((cpu0 + $(cpu_ticks "${PIDS[i]}"))); done
      if [[ -n "${E2E_PERF:-}" ]]; then
        perf record -F 499 ${E2E_PERF_ARGS:-} -o "$E2E_PERF.$row.data" -p "${PIDS[0]}" >/dev/null 2>&1 &
        perf_pid=$!
      fi
    fi
    if [[ "$processed" -ge "$target" && "$judged" -ge "$forwarded" ]]; then break; fi
    for ((i = 0; i < n; i++)); do
      kill -0 "${PIDS[i]}" 2>/dev/null || { tail -20 "$WORK/$row-$i.log" >&2; die "countersign ($row) exited"; }
    done
    sleep 0.1
  done
  t1=$(now)
  b1=$(broker_ticks)
  read -r busy1 total1 < <(machine_ticks)
  if [[ -n "$perf_pid" ]]; then kill -INT "$perf_pid"; wait "$perf_pid" || true; fi
  for ((i = 0; i < n; i++)); do
    cpu1=$((cpu1 + $(cpu_ticks "${PIDS[i]}")))
    r=$(awk '/VmHWM/ { print $2 }' "/proc/${PIDS[i]}/status")
    ((r > rss)) && rss=$r
  done
  for port in "${ports[@]}"; do total_alerts=$((total_alerts + $(metric "$port" countersign_alerts_total))); done
  local seconds eps cpu
  seconds="$(calc "$t1 - $t0")"
  eps="$(calc "$target / $seconds")"
  cpu="$(calc "($cpu1 - $cpu0) / $(getconf CLK_TCK) / $target * 1000000")"
  local broker_cpu busy
  broker_cpu="$(calc "($b1 - $b0) / $(getconf CLK_TCK) / $target * 1000000")"
  busy="$(calc "100 * ($busy1 - $busy0) / ($total1 - $total0)")"
  log "$row: $target events in $seconds s ($eps/s), $total_alerts alerts; live phase: $LIVE_RATE/s for $LIVE_SECONDS s"
  # Where the first instance's memory is, as RocksDB reports it (the rest of peak RSS is
  # librdkafka's queues, the in-memory caches and the heap).
  local part parts=""
  for part in memtables block_cache table_readers; do
    parts+=" $part=$(( $(metric "${ports[0]}" "countersign_state_memory_bytes{part=\"$part\"}") >> 20 ))MiB"
  done
  log "$row: peak RSS $((rss / 1024)) MiB; state memory now:$parts"

  # Live phase: the backlog is gone; alerts of new revoked files at a fixed rate.
  local live_n=$((LIVE_RATE * LIVE_SECONDS)) lat
  "$LOADGEN" --bootstrap "$BOOTSTRAP" --topic "$live" --generate "$live_n" --rate "$LIVE_RATE" --hashes 2000 \
    --hosts 500 --alert-permille 20 --seed 7 >/dev/null
  target=$((target + live_n))
  local deadline=$((SECONDS + 120))
  while ((SECONDS < deadline)); do
    read -r processed forwarded judged < <(progress "${ports[@]}")
    [[ "$processed" -ge "$target" && "$judged" -ge "$forwarded" ]] && break
    sleep 0.2
  done
  sleep 1.5  # alerts in flight (linger) are on the topic
  lat="$("$CONSUME" latency --bootstrap "$BOOTSTRAP" --alerts "$alerts" --input "$live")"
  log "$row latency: $lat"
  local lat_n p50 p99 max
  lat_n="$(sed -E 's/^alerts=([0-9]+).*/\1/' <<<"$lat")"
  p50="$(sed -E 's/.*p50_ms=(-?[0-9]+).*/\1/' <<<"$lat")"
  p99="$(sed -E 's/.*p99_ms=(-?[0-9]+).*/\1/' <<<"$lat")"
  max="$(sed -E 's/.*max_ms=(-?[0-9]+).*/\1/' <<<"$lat")"
  stop_instances
  rm -rf "$WORK/$row-state-"*
  record "$row" "$topic" "$((target - live_n))" "$seconds" "$eps" "${TOPIC_CEILING[$topic]}" "$cpu" "$((rss / 1024))" "$n" \
    "$total_alerts" "$lat_n" "$p50" "$p99" "$max" "$broker_cpu" "$busy"
}

# ───────────── the rows ─────────────
load bench.fleet "$FLEET/events.ndjson"
ceiling bench.fleet
want ceiling && record ceiling bench.fleet "$FLEET_EVENTS" "$(calc "$FLEET_EVENTS / ${TOPIC_CEILING[bench.fleet]}")" \
  "${TOPIC_CEILING[bench.fleet]}" "${TOPIC_CEILING[bench.fleet]}" "${TOPIC_CEILING_CPU[bench.fleet]}" 0 1 0 0 - - - \
  "${TOPIC_CEILING_BROKER[bench.fleet]}" "${TOPIC_CEILING_BUSY[bench.fleet]}"
want cs-1 && run_countersign cs-1 bench.fleet 1
want cs-2 && run_countersign cs-2 bench.fleet 2
want cs-1t2 && run_countersign cs-1t2 bench.fleet 1 "" 2
if want state-100k; then
  load bench.gen.100k --generate "$((EVENTS > 200000 ? EVENTS : 200000))" --hashes 100000 --hosts 5000
  ceiling bench.gen.100k
  run_countersign state-100k bench.gen.100k 1
fi
if want state-1m; then
  load bench.gen.1m --generate 1200000 --hashes 1000000 --hosts 5000
  ceiling bench.gen.1m
  run_countersign state-1m bench.gen.1m 1
fi
for rules in 10 1000; do
  want "sigma-$rules" || continue
  if ! grep -q '^sigma:' "$ROOT/config/countersign.yaml"; then
    log "sigma-$rules: skipped (no sigma section in config/countersign.yaml yet)"
    continue
  fi
  python3 "$ROOT/bench/sigma_rules.py" "$rules" "$WORK/sigma-$rules"
  run_countersign "sigma-$rules" bench.fleet 1 "sigma:
  rules_dir: \"$WORK/sigma-$rules\""
done
SIGMAHQ="$(realpath -m "${E2E_SIGMAHQ:-$ROOT/../shared/sigmahq/rules/windows}")"
if want sigma-sigmahq; then
  if [[ -d "$SIGMAHQ" ]]; then
    run_countersign sigma-sigmahq bench.fleet 1 "sigma:
  rules_dir: \"$SIGMAHQ\""
  else
    log "sigma-sigmahq: skipped ($SIGMAHQ does not exist)"
  fi
fi

printf '\n%-11s %-9s %9s %8s %10s %10s %6s %8s %8s %5s %7s %5s %6s %7s %7s %7s\n' row input events seconds events/s ceiling ratio "CPU s/M" \
  "brkr s/M" "busy%" "RSS MiB" inst alerts "lat. n" "p50 ms" "p99 ms"
printf '%s\n' "${TABLE[@]}"
printf '\nfleet events: %d (%d bytes); 4 input partitions, topology.partitions 4; live phase %d events/s for %d s\n' \
  "$FLEET_EVENTS" "$FLEET_BYTES" "$LIVE_RATE" "$LIVE_SECONDS"
printf 'machine: %s cores, %s, %s MiB RAM; CSV: %s\n' "$(nproc)" \
  "$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)" "$(awk '/MemTotal/ { print int($2 / 1024) }' /proc/meminfo)" "$CSV"
if [[ "${E2E_PLOT:-0}" == 1 ]]; then "$ROOT/bench/plot.py" "$CSV" "$ROOT/docs/img"; fi
