#!/usr/bin/env bash
# Fuzzes the parser entry point (and the pipeline behind it) with libFuzzer under
# ASan + UBSan for a bounded time.
#
#   scripts/fuzz.sh [SECONDS]      default 60
#
# Env: COUNTERSIGN_FUZZ_BUILD=DIR uses that build tree (configured with COUNTERSIGN_FUZZ=ON)
#      instead of configuring build/fuzz.
#
# Seeds: every line of the project's fixtures (tests/data/**/*.ndjson) and every file in
# tests/data/fuzz-regressions/. The working corpus stays in build/fuzz/corpus between
# local runs. A crash leaves its input in build/fuzz/artifacts/ and fails the run: copy
# it into tests/data/fuzz-regressions/ (the unit tests replay that folder) and fix it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$ROOT/scripts/lib/common.sh"
[[ "${1:-}" == -h || "${1:-}" == --help ]] && { header_comment "${BASH_SOURCE[0]}"; exit 0; }
SECONDS_TO_RUN="${1:-60}"

"$ROOT/scripts/setup.sh" --no-kafka >/dev/null
if [[ -n "${COUNTERSIGN_FUZZ_BUILD:-}" ]]; then
  # A build tree configured with COUNTERSIGN_FUZZ=ON by the caller (scripts/test.sh's
  # sanitizer build): reuse it as it is.
  OUT="$COUNTERSIGN_FUZZ_BUILD"
else
  OUT="$ROOT/build/fuzz"
  log "building the fuzzer (clang 16, ASan + UBSan + libFuzzer)"
  cmake -S "$ROOT" -B "$OUT" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-16 \
    -DCOUNTERSIGN_FUZZ=ON -DCOUNTERSIGN_BUILD_TESTS=OFF -DCOUNTERSIGN_BUILD_BENCH=OFF >/dev/null
fi
cmake --build "$OUT" --target countersign_parse_fuzzer -j "$(nproc)"

SEEDS="$OUT/seeds"
rm -rf "$SEEDS"
mkdir -p "$SEEDS" "$OUT/corpus" "$OUT/artifacts"
n=0
while IFS= read -r -d '' file; do
  while IFS= read -r line || [[ -n "$line" ]]; do
    [[ -z "$line" ]] && continue
    printf '%s' "$line" >"$SEEDS/seed-$((n++))"
  done <"$file"
done < <(find "$ROOT/tests/data" -name '*.ndjson' -print0)
find "$ROOT/tests/data/fuzz-regressions" -type f ! -name README.md -exec cp {} "$SEEDS/" \;
log "$n seed lines; fuzzing for ${SECONDS_TO_RUN}s"

ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  "$OUT/tests/fuzz/countersign_parse_fuzzer" -max_total_time="$SECONDS_TO_RUN" -max_len=65536 -timeout=10 \
  -rss_limit_mb=2048 -print_final_stats=1 -dict="$ROOT/tests/fuzz/json.dict" \
  -artifact_prefix="$OUT/artifacts/" "$OUT/corpus" "$SEEDS"
