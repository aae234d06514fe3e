#!/usr/bin/env bash
# The chaos suite: faults an operator meets, against a real broker of its own and two
# countersign instances with state, while input streams in (tests/chaos/chaos_test.cpp):
#
#   instances_killed_in_a_loop    kill -9 of a random instance, restarted at once
#   broker_killed_and_restarted   kill -9 of the broker, restarted 5 s later on its data
#   broker_hung                   the broker stopped (SIGSTOP) for 10 s, then continued
#   state_disk_full               one instance's state on a 128 MiB tmpfs, filled below
#                                 its state.min_free_bytes for 15 s: /readyz must say 503
#                                 and refused writes be counted, then it recovers by
#                                 itself (needs root to mount; skipped otherwise)
#   hostile_flood                 2,000 hostile messages among 1,400 events
#
# Every scenario streams hostile messages among the events and checks at the end: every
# alert id replay raises over the same events arrived and no other (duplicates counted:
# after kill -9 delivery is at-least-once), every hostile message was dead-lettered and
# no real event, the input and internal topics are committed to their ends. A self-test
# shows each check failing on a missing alert, dead letter or commit.
#
#   scripts/chaos.sh            the short run (2 faults per scenario, about 5 minutes; CI
#                               runs it from scripts/test.sh)
#   scripts/chaos.sh --full     10 faults per scenario (about 15 minutes)
#
# Traffic stays on 127.0.0.1; the broker (ctest fixture `kafka_chaos`) and every
# instance are stopped at the end, whatever the outcome. Prints one table row per
# scenario (the figures of docs/reliability.md).
#
# Env: COUNTERSIGN_BUILD the build dir (default build/release; configured and built
#      when missing), COUNTERSIGN_CHAOS_ROUNDS faults per scenario (overrides --full),
#      COUNTERSIGN_CHAOS_EXCLUDE a regex of scenarios to leave out (ctest -E),
#      COUNTERSIGN_CHAOS_PREBUILT=1 skips building countersign and the chaos tests.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$ROOT/scripts/lib/common.sh"
[[ "${1:-}" == -h || "${1:-}" == --help ]] && { header_comment "${BASH_SOURCE[0]}"; exit 0; }

rounds=2
[[ "${1:-}" == --full ]] && rounds=10
rounds="${COUNTERSIGN_CHAOS_ROUNDS:-$rounds}"
BUILD="${COUNTERSIGN_BUILD:-$ROOT/build/release}"
if [[ ! -f "$BUILD/CMakeCache.txt" ]]; then
  "$ROOT/scripts/setup.sh" >/dev/null
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCOUNTERSIGN_BUILD_BENCH=OFF >/dev/null
fi
# COUNTERSIGN_CHAOS_PREBUILT=1: the caller has built both (scripts/test.sh, whose unit lane
# builds in the same tree meanwhile; two ninja processes on one tree corrupt its logs).
if [[ "${COUNTERSIGN_CHAOS_PREBUILT:-0}" != 1 ]]; then
  cmake --build "$BUILD" -j "$(nproc)" --target countersign countersign_chaos_tests >/dev/null
fi

out="$(mktemp)"
trap 'rm -f "$out"' EXIT
rc=0
exclude=()
[[ -n "${COUNTERSIGN_CHAOS_EXCLUDE:-}" ]] && exclude=(-E "$COUNTERSIGN_CHAOS_EXCLUDE")
COUNTERSIGN_CHAOS_ROUNDS="$rounds" ctest --test-dir "$BUILD" -L chaos "${exclude[@]}" -V --no-tests=error >"$out" 2>&1 || rc=$?

printf '| scenario | faults | events | hostile | alerts expected | received | duplicated | missing | unexpected | dead letters | hostile not dead-lettered | real dead-lettered | restarts | state write errors | recovered after (s) | peak RSS (MiB) | total (s) |\n'
printf '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n'
sed -n 's/^[0-9]*: chaos: //p' "$out" | while read -r line; do
  declare -A f=()
  for kv in $line; do f["${kv%%=*}"]="${kv#*=}"; done
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
    "${f[scenario]}" "${f[rounds]}" "${f[events]}" "${f[hostile]}" "${f[expected]}" "${f[received]}" \
    "${f[duplicated]}" "${f[missing]}" "${f[unexpected]}" "${f[dead_letters]}" "${f[hostile_missing]}" \
    "${f[real_dead_lettered]}" "${f[restarts]}" "${f[state_write_errors]}" "${f[recover_s]}" \
    "${f[peak_rss_mib]:-}" "${f[total_s]}"
done
if ((rc != 0)); then
  # The failures with their messages, without the instances' JSON log lines.
  grep -v '"level":' "$out" | grep -E -A4 'Failure|FAILED' | head -n 80 >&2 || true
  keep="$ROOT/build/chaos-last.log"
  cp "$out" "$keep"
  log "chaos: FAILED (ctest exit $rc; the whole output, instance logs included, in $keep)"
  exit "$rc"
fi
log "chaos: every scenario passed ($rounds fault(s) each)"
