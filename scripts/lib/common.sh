# shellcheck shell=bash
# Helpers shared by scripts/setup.sh and scripts/kafka.sh. Source it; do not run it.
#
# The caller sets ROOT (the repository root, derived from its own location) before
# sourcing, so that nothing here depends on the caller's working directory.

: "${ROOT:?ROOT must be set before sourcing scripts/lib/common.sh}"

# The broker is pinned to the 3.9 line: it still speaks every protocol version that
# Debian's librdkafka 2.0.2 uses (Kafka 4.x dropped some, and refuses its SCRAM logins;
# docs/dependencies.md). The first entry is preferred; later ones are fall-backs when
# Maven Central cannot resolve it.
COUNTERSIGN_KAFKA_VERSIONS=(3.9.2 3.9.1)

KAFKA_CACHE="$ROOT/.cache/kafka"

# Prints a script's leading comment block (after the #! line) as its usage text, so
# the help cannot drift from the header.
header_comment() { # file
  awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$1"
}

# Messages go to stderr so that a script's stdout can carry exactly one machine-readable
# value (a path, a bootstrap address) for callers that capture it.
log() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# The marker is written last by setup.sh, so its presence means the libs dir is whole.
kafka_marker() { printf '%s/%s/.complete\n' "$KAFKA_CACHE" "$1"; }

# Prints the home of the first pinned Kafka version that was fetched completely
# (it holds libs/, log4j.properties, tools-log4j.properties); fails if there is none.
kafka_home() {
  local v
  for v in "${COUNTERSIGN_KAFKA_VERSIONS[@]}"; do
    if [[ -f "$(kafka_marker "$v")" ]]; then
      printf '%s/%s\n' "$KAFKA_CACHE" "$v"
      return 0
    fi
  done
  return 1
}
