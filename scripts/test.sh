#!/usr/bin/env bash
# Builds countersign and runs every test, installing what it needs first.
#
#   scripts/test.sh            setup; Release build with -Werror (LTO on the shipped binary
#                              only); unit tests (in parallel); integration tests against a
#                              real Kafka broker the tests start and stop, Kafka 3.9 with
#                              one processing thread, then Kafka 4.x
#                              (COUNTERSIGN_KAFKA_VERSION=4) with two
#                              (COUNTERSIGN_TEST_THREADS=2); the short chaos
#                              suite (scripts/chaos.sh, a broker of its own); the Helm
#                              chart checks; then one clang build with ASan + UBSan that
#                              runs the unit tests (not the quality and Sigma-differential
#                              ones, which exercise the same code on bigger inputs) and
#                              fuzzes the parser for a bounded time, and compiles the
#                              benchmarks
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

START=$SECONDS
phase_start=$SECONDS
phase() { # name: logs the time the previous phase took, then the new phase's name
  log "(${PHASE:-setup} took $((SECONDS - phase_start)) s)"
  PHASE="$1"
  phase_start=$SECONDS
  log "$1"
}

"$ROOT/scripts/setup.sh" >/dev/null
# The second broker line of the integration tests (3.9, the default, comes above).
COUNTERSIGN_KAFKA_VERSION=4 "$ROOT/scripts/setup.sh" --kafka-only >/dev/null

JOBS="$(nproc)"
TEST_JOBS="${COUNTERSIGN_TEST_JOBS:-$JOBS}"

phase "Release build (-Werror; LTO on the shipped binary; no benchmarks)"
cmake -S "$ROOT" -B "$ROOT/build/release" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCOUNTERSIGN_WERROR=ON \
  -DCOUNTERSIGN_BUILD_BENCH=OFF >/dev/null
cmake --build "$ROOT/build/release" -j "$JOBS"

phase "unit tests (-j $TEST_JOBS)"
ctest --test-dir "$ROOT/build/release" -L unit -j "$TEST_JOBS" --output-on-failure --no-tests=error
# One at a time: they share one broker, and each runs several countersign instances.
phase "integration tests (a real Kafka broker, 3.9)"
COUNTERSIGN_KAFKA_VERSION=3.9 \
  ctest --test-dir "$ROOT/build/release" -L integration --output-on-failure --no-tests=error
# The same tests against Kafka 4 (KRaft only, old protocol versions gone, stricter SCRAM);
# the fixture's kafka.sh reads the version from the environment. This pass runs every
# instance with two processing threads (processing.threads, through the harness), the
# one above with one: each test passes both ways.
phase "integration tests (a real Kafka broker, 4.x; two processing threads)"
COUNTERSIGN_KAFKA_VERSION=4 COUNTERSIGN_TEST_THREADS=2 \
  ctest --test-dir "$ROOT/build/release" -L integration --output-on-failure --no-tests=error

# Its own broker, which the scenarios kill, hang and restart; the short run.
phase "chaos suite, short (scripts/chaos.sh: instance and broker kills, a hung broker, hostile input)"
# broker_hung is left out here: it failed once of five runs on a heavily loaded machine
# (the group did not commit its ends within 240 s, with every alert delivered), cause not
# found yet (docs/reliability.md); scripts/chaos.sh runs it.
COUNTERSIGN_BUILD="$ROOT/build/release" COUNTERSIGN_CHAOS_EXCLUDE=broker_hung "$ROOT/scripts/chaos.sh"
phase "Helm chart checks (lint, template, schema, rendered configs)"
COUNTERSIGN_BIN="$ROOT/build/release/processor/countersign" "$ROOT/scripts/helm.sh"

if [[ "${COUNTERSIGN_SKIP_ASAN:-0}" != 1 ]]; then
  # One clang build serves the sanitizer pass, the fuzzer and a compile check of the
  # benchmarks; -O1 with line tables is what ASan reports need, and compiles fastest.
  # Warnings are errors in the GCC build above; clang's extra ones are shown here.
  SAN="$ROOT/build/sanitize"
  phase "sanitizer build (clang, ASan + UBSan + libFuzzer instrumentation)"
  cmake -S "$ROOT" -B "$SAN" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-16 \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only -DNDEBUG" \
    -DCOUNTERSIGN_FUZZ=ON -DCOUNTERSIGN_BUILD_BENCH=ON >/dev/null
  cmake --build "$SAN" -j "$JOBS"
  phase "unit tests under ASan + UBSan"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir "$SAN" -L unit -LE 'quality|sigma' -j "$TEST_JOBS" --output-on-failure --no-tests=error
  if [[ "${COUNTERSIGN_SKIP_FUZZ:-0}" != 1 ]]; then
    phase "fuzzing the parser for ${COUNTERSIGN_FUZZ_SECONDS:-60}s"
    COUNTERSIGN_FUZZ_BUILD="$SAN" "$ROOT/scripts/fuzz.sh" "${COUNTERSIGN_FUZZ_SECONDS:-60}" 2>&1 | tail -n 40
  fi
fi
phase "done"
log "all passed in $((SECONDS - START)) s"
