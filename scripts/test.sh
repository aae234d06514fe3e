#!/usr/bin/env bash
# Builds countersign and runs every test, installing what it needs first.
#
#   scripts/test.sh            setup, then five lanes that run side by side:
#
#     main lane      Release build with -Werror of what the broker tests run (the
#                    countersign binary, LTO, and the integration, security and chaos
#                    test programs); then the integration tests against a real Kafka 3.9
#                    broker the tests start and stop, one processing thread
#     unit lane      once that build passed: the rest of the Release build (the unit
#                    test programs, without LTO) and the unit tests, in parallel
#     kafka4 lane    once that build passed: the same integration tests against
#                    Kafka 4.x (COUNTERSIGN_KAFKA_VERSION=4), brokers of their own, two
#                    processing threads (COUNTERSIGN_TEST_THREADS=2)
#     chaos lane     once that build passed: the short chaos suite (scripts/chaos.sh,
#                    a broker of its own), then the Helm chart checks
#     idle lane      from the start, at idle CPU priority: Helm and the chart checker
#                    built with Go, then one clang build with ASan + UBSan that runs the
#                    unit tests (not the quality and Sigma-differential ones, which
#                    exercise the same code on bigger inputs) while it fuzzes the parser
#                    for a bounded time, and compiles the benchmarks
#
#                    The broker tests mostly wait (on brokers, rebalances, timers), and
#                    the compiles of the unit and idle lanes take that CPU. The idle lane
#                    runs under SCHED_IDLE (chrt --idle; nice 19 where that is refused)
#                    in a session whose autogroup is at nice 19 too: with the kernel's
#                    autogroup scheduling on, every session (each lane has its own, so
#                    that it can be stopped whole) gets an equal share of the CPU
#                    whatever its processes' priorities, and the idle lane had slowed
#                    the Release build to twice its time alone. Each lane's output goes
#                    to build/test-logs/<lane>.log, the main lane's also to the
#                    terminal, another's tail when it fails. Every phase prints the time
#                    it took.
#
#   scripts/test.sh --serial   the same steps one after the other (to time each alone)
#
# Env: COUNTERSIGN_SKIP_ASAN=1 skips the sanitizer build (and the fuzzer),
#      COUNTERSIGN_SKIP_FUZZ=1 only the fuzzer, COUNTERSIGN_FUZZ_SECONDS its duration
#      (default 60); COUNTERSIGN_TEST_JOBS the ctest parallelism for the unit tests
#      (default: the number of cores); COUNTERSIGN_SKIP_APT=1 is passed to setup.sh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$ROOT/scripts/lib/common.sh"
[[ "${1:-}" == -h || "${1:-}" == --help ]] && { header_comment "${BASH_SOURCE[0]}"; exit 0; }
SERIAL=0
[[ "${1:-}" == --serial ]] && SERIAL=1

JOBS="$(nproc)"
TEST_JOBS="${COUNTERSIGN_TEST_JOBS:-$JOBS}"
RELEASE="$ROOT/build/release"
SAN="$ROOT/build/sanitize"
LOGS="$ROOT/build/test-logs"
TOOLS_READY="$LOGS/tools.ready"
KAFKA4_BROKERS="$RELEASE/brokers-kafka4"

phase_start=$SECONDS
phase() { # name: logs the time the previous phase of this lane took, then the new name
  [[ -n "${PHASE:-}" ]] && log "(${PHASE} took $((SECONDS - phase_start)) s)"
  PHASE="$1"
  phase_start=$SECONDS
  [[ "$1" == done ]] || log "$1"
}

# ── the steps ──

# What the broker tests run: the shipped binary and the integration, security and chaos
# test programs (the other lanes never build in this tree; chaos.sh is told so).
BROKER_TEST_TARGETS=(countersign countersign_integration_tests countersign_security_tests countersign_chaos_tests)

shipped_build() {
  phase "Release build of the binary and the broker tests (-Werror; LTO on the shipped binary)"
  cmake -S "$ROOT" -B "$RELEASE" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCOUNTERSIGN_WERROR=ON \
    -DCOUNTERSIGN_BUILD_BENCH=OFF >/dev/null
  cmake --build "$RELEASE" -j "$JOBS" --target "${BROKER_TEST_TARGETS[@]}"
}

unit_build_and_tests() {
  phase "Release build of the unit test programs (-Werror; no LTO, no benchmarks)"
  cmake --build "$RELEASE" -j "$JOBS"
  phase "unit tests (-j $TEST_JOBS)"
  ctest --test-dir "$RELEASE" -L unit -j "$TEST_JOBS" --output-on-failure --no-tests=error
}

integration_tests() { # 3.9 | 4
  # One at a time: they share one broker, and each runs several countersign instances.
  local -a env=(COUNTERSIGN_KAFKA_VERSION=3.9)
  local threads="one processing thread"
  if [[ "$1" != 3.9 ]]; then
    # The same tests against Kafka 4 (KRaft only, old protocol versions gone, stricter
    # SCRAM); the fixture's kafka.sh reads the version from the environment. This pass
    # runs every instance with two processing threads (processing.threads, through the
    # harness), the one above with one: each test passes both ways. Its brokers live
    # under brokers-kafka4 (COUNTERSIGN_TEST_BROKERS), so that both passes can run at once.
    env=(COUNTERSIGN_KAFKA_VERSION=4 COUNTERSIGN_TEST_THREADS=2 COUNTERSIGN_TEST_BROKERS="$KAFKA4_BROKERS")
    threads="two processing threads"
  fi
  phase "integration tests (a real Kafka broker, $1; $threads)"
  env "${env[@]}" ctest --test-dir "$RELEASE" -L integration --output-on-failure --no-tests=error
}

chaos_and_helm() {
  # Its own broker, which the scenarios kill and restart; the short run. broker_hung is
  # left out here: it failed once of five runs on a heavily loaded machine (the group did
  # not commit its ends within 240 s, with every alert delivered), cause not found yet
  # (docs/reliability.md); scripts/chaos.sh runs it.
  phase "chaos suite, short (scripts/chaos.sh: instance and broker kills, hostile input)"
  COUNTERSIGN_BUILD="$RELEASE" COUNTERSIGN_CHAOS_PREBUILT=1 COUNTERSIGN_CHAOS_EXCLUDE=broker_hung \
    "$ROOT/scripts/chaos.sh"
  phase "Helm chart checks (lint, template, schema, rendered configs)"
  if ((SERIAL == 0)); then
    # Helm and the chart checker are built by the idle lane.
    while [[ ! -e "$TOOLS_READY" ]]; do sleep 5; done
    [[ "$(cat "$TOOLS_READY")" == ok ]] || die "Helm or the chart checker did not build (build/test-logs/idle.log)"
  fi
  COUNTERSIGN_BIN="$RELEASE/processor/countersign" "$ROOT/scripts/helm.sh"
}

tools() {
  phase "Helm and the chart checker (built with Go)"
  if "$ROOT/scripts/helm.sh" --install-only; then echo ok >"$TOOLS_READY"; else
    echo failed >"$TOOLS_READY"
    return 1
  fi
}

sanitizer() {
  [[ "${COUNTERSIGN_SKIP_ASAN:-0}" == 1 ]] && return 0
  # One clang build serves the sanitizer pass, the fuzzer and a compile check of the
  # benchmarks; -O1 with line tables is what ASan reports need, and compiles fastest.
  # Warnings are errors in the GCC build; clang's extra ones are shown here. Only what
  # runs here is built: the programs of the unit tests, the fuzzer, the benchmarks (the
  # broker tests run against the Release build).
  phase "sanitizer build (clang, ASan + UBSan + libFuzzer instrumentation)"
  cmake -S "$ROOT" -B "$SAN" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-16 \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only -DNDEBUG" \
    -DCOUNTERSIGN_FUZZ=ON -DCOUNTERSIGN_BUILD_BENCH=ON >/dev/null
  cmake --build "$SAN" -j "$JOBS" --target countersign_unit_test_programs countersign_parse_fuzzer \
    countersign_benchmarks
  # A test program left out of countersign_unit_test_programs would only show up as an
  # unlabelled <program>_NOT_BUILT test, which -L unit never runs: refuse that.
  local unbuilt
  unbuilt="$(ctest --test-dir "$SAN" -N | grep -o '[A-Za-z0-9_]*_NOT_BUILT' |
    grep -v -E '^countersign_(integration|security|chaos)_tests_NOT_BUILT$' || true)"
  [[ -z "$unbuilt" ]] || die "not built for the sanitizer pass (add to countersign_unit_test_programs): $unbuilt"
  # The fuzzer runs on one core for a fixed time: the unit tests take the other meanwhile.
  local fuzz_pid="" fuzz_out="$LOGS/fuzz.out" rc=0
  if [[ "${COUNTERSIGN_SKIP_FUZZ:-0}" != 1 ]]; then
    phase "unit tests under ASan + UBSan, and fuzzing the parser for ${COUNTERSIGN_FUZZ_SECONDS:-60}s meanwhile"
    (COUNTERSIGN_FUZZ_BUILD="$SAN" "$ROOT/scripts/fuzz.sh" "${COUNTERSIGN_FUZZ_SECONDS:-60}" >"$fuzz_out" 2>&1) &
    fuzz_pid=$!
  else
    phase "unit tests under ASan + UBSan"
  fi
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir "$SAN" -L unit -LE 'quality|sigma' -j "$TEST_JOBS" --output-on-failure --no-tests=error || rc=$?
  if [[ -n "$fuzz_pid" ]]; then
    local fuzz_rc=0
    wait "$fuzz_pid" || fuzz_rc=$?
    log "the fuzzer's last lines:"
    tail -n 40 "$fuzz_out"
    ((fuzz_rc == 0)) || die "the fuzzer failed (exit $fuzz_rc; build/test-logs/fuzz.out)"
  fi
  ((rc == 0)) || die "unit tests under ASan + UBSan failed"
}

# ── lanes ──

# Runs a lane's steps; its phase times go to its log. Internal: `test.sh --lane NAME`.
if [[ "${1:-}" == --lane ]]; then
  case "$2" in
    idle)
      # This lane's session is an autogroup of its own (setsid): lower its weight
      # against the other lanes' too, not only its processes' within it.
      if [[ -w /proc/self/autogroup ]]; then echo 19 2>/dev/null >/proc/self/autogroup || true; fi
      tools
      sanitizer
      ;;
    unit) unit_build_and_tests ;;
    chaos) chaos_and_helm ;;
    kafka4) integration_tests 4 ;;
    *) die "unknown lane $2" ;;
  esac
  phase done
  exit 0
fi

START=$SECONDS
"$ROOT/scripts/setup.sh" >/dev/null
# The second broker line of the integration tests (3.9, the default, comes above).
COUNTERSIGN_KAFKA_VERSION=4 "$ROOT/scripts/setup.sh" --kafka-only >/dev/null
log "(setup took $((SECONDS - START)) s)"
rm -rf "$LOGS"
mkdir -p "$LOGS"

if ((SERIAL == 1)); then
  shipped_build
  unit_build_and_tests
  integration_tests 3.9
  integration_tests 4
  chaos_and_helm
  sanitizer
  phase done
  log "all passed in $((SECONDS - START)) s"
  exit 0
fi

# SCHED_IDLE, or nice 19 where that is refused.
IDLE=(chrt --idle 0)
"${IDLE[@]}" true 2>/dev/null || IDLE=(nice -n 19)
declare -A LANE_PID=() LANE_START=()
start_lane() { # name [idle]: in a session of its own, so that it can be stopped whole
  LANE_START[$1]=$SECONDS
  local prio=()
  [[ "${2:-}" == idle ]] && prio=("${IDLE[@]}")
  setsid "${prio[@]}" "$ROOT/scripts/test.sh" --lane "$1" >"$LOGS/$1.log" 2>&1 &
  LANE_PID[$1]=$!
  log "$1 lane started (build/test-logs/$1.log)"
}
FAILED=()
finish_lane() { # name: waits for it, then prints its phase times, or its tail if it failed
  local rc=0
  wait "${LANE_PID[$1]}" || rc=$?
  unset "LANE_PID[$1]"
  grep -a '^test.sh: (' "$LOGS/$1.log" | sed "s/^test.sh: /test.sh: [$1 lane] /" || true
  if ((rc == 0)); then
    log "$1 lane passed ($((SECONDS - LANE_START[$1])) s)"
  else
    FAILED+=("$1")
    log "$1 lane FAILED (exit $rc); the end of build/test-logs/$1.log:"
    tail -n 150 "$LOGS/$1.log"
  fi
}
stop_lanes() { # on an early exit: no lane, and no broker of theirs, outlives this script
  local p d
  for p in "${LANE_PID[@]}"; do kill -- "-$p" 2>/dev/null || true; done
  for d in "$RELEASE"/kafka-broker "$RELEASE"/kafka-sasl-broker "$RELEASE"/kafka-chaos-broker \
    "$KAFKA4_BROKERS"/kafka-broker "$KAFKA4_BROKERS"/kafka-sasl-broker; do
    [[ -d "$d" ]] && COUNTERSIGN_KAFKA_DIR="$d" "$ROOT/scripts/kafka.sh" stop >/dev/null 2>&1
  done
  return 0
}
trap stop_lanes EXIT

start_lane idle idle
main_rc=0
# Subshells, not `&&` lists: set -e does not apply inside a function called from one.
(
  shipped_build
  phase done
) 2>&1 | tee "$LOGS/main.log" || main_rc=$?
if ((main_rc == 0)); then
  start_lane unit
  start_lane chaos
  start_lane kafka4
  (
    integration_tests 3.9
    phase done
  ) 2>&1 | tee -a "$LOGS/main.log" || main_rc=$?
  finish_lane unit
  finish_lane kafka4
  finish_lane chaos
fi
if ((main_rc != 0)); then
  FAILED+=(main)
  # The run has failed already: stop the sanitizer pass instead of waiting for it.
  kill -- "-${LANE_PID[idle]}" 2>/dev/null || true
fi
finish_lane idle
trap - EXIT
if ((${#FAILED[@]} > 0)); then
  die "failed: ${FAILED[*]} (after $((SECONDS - START)) s)"
fi
log "all passed in $((SECONDS - START)) s"
