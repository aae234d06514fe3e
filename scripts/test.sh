#!/usr/bin/env bash
# Builds countersign and runs every test, installing what it needs first.
#
#   scripts/test.sh            setup; Release build with -Werror; all tests (unit and
#                              integration against a real Kafka broker the tests start
#                              and stop); the parser fuzzer for a bounded time under
#                              ASan+UBSan; then an ASan+UBSan build running the unit tests
#
# Env: COUNTERSIGN_SKIP_ASAN=1 skips the sanitizer pass, COUNTERSIGN_SKIP_FUZZ=1 the
#      fuzzer, COUNTERSIGN_FUZZ_SECONDS its duration (default 60);
#      COUNTERSIGN_SKIP_APT=1 is passed to setup.sh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$ROOT/scripts/lib/common.sh"
[[ "${1:-}" == -h || "${1:-}" == --help ]] && { header_comment "${BASH_SOURCE[0]}"; exit 0; }

"$ROOT/scripts/setup.sh" >/dev/null

JOBS="$(nproc)"

log "Release build (-Werror)"
cmake -S "$ROOT" -B "$ROOT/build/release" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCOUNTERSIGN_WERROR=ON >/dev/null
cmake --build "$ROOT/build/release" -j "$JOBS"
log "all tests (unit + integration)"
ctest --test-dir "$ROOT/build/release" --output-on-failure --no-tests=error
log "Helm chart checks (lint, template, schema, rendered configs)"
COUNTERSIGN_BIN="$ROOT/build/release/processor/countersign" "$ROOT/scripts/helm.sh"

if [[ "${COUNTERSIGN_SKIP_FUZZ:-0}" != 1 ]]; then
  log "fuzzing the parser for ${COUNTERSIGN_FUZZ_SECONDS:-60}s"
  "$ROOT/scripts/fuzz.sh" "${COUNTERSIGN_FUZZ_SECONDS:-60}" 2>&1 | tail -n 40
fi

if [[ "${COUNTERSIGN_SKIP_ASAN:-0}" != 1 ]]; then
  log "sanitizer build (ASan + UBSan)"
  cmake -S "$ROOT" -B "$ROOT/build/asan" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCOUNTERSIGN_SANITIZE=ON -DCOUNTERSIGN_WERROR=ON -DCOUNTERSIGN_BUILD_BENCH=OFF >/dev/null
  cmake --build "$ROOT/build/asan" -j "$JOBS"
  log "unit tests under ASan + UBSan"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir "$ROOT/build/asan" -L unit --output-on-failure --no-tests=error
fi
