# shellcheck shell=bash
# Helpers and pinned versions shared by scripts/setup.sh, scripts/kafka.sh and the others.
# Source it; do not run it.
#
# The caller sets ROOT (the repository root, derived from its own location) before
# sourcing, so that nothing here depends on the caller's working directory.

: "${ROOT:?ROOT must be set before sourcing scripts/lib/common.sh}"

# Broker versions by line (COUNTERSIGN_KAFKA_VERSION=3.9 or 4, default 3.9). In each
# line the first entry is preferred; later ones are fall-backs when Maven Central cannot
# resolve it. 3.9 is the default: the last line with ZooKeeper-era protocol versions, which
# clusters still run. 4.x is KRaft-only and refuses the old protocol versions and the SCRAM
# login of librdkafka < 2.6.1 (docs/dependencies.md).
KAFKA_VERSIONS_3_9=(3.9.2 3.9.1)
KAFKA_VERSIONS_4=(4.4.0 4.1.1)

# Sets COUNTERSIGN_KAFKA_VERSIONS from COUNTERSIGN_KAFKA_VERSION: a line (3.9, 4) or one
# exact version of a line (4.1.0), which is then the only candidate.
select_kafka_versions() {
  local want="${COUNTERSIGN_KAFKA_VERSION:-3.9}"
  case "$want" in
    3.9) COUNTERSIGN_KAFKA_VERSIONS=("${KAFKA_VERSIONS_3_9[@]}") ;;
    4 | 4.x) COUNTERSIGN_KAFKA_VERSIONS=("${KAFKA_VERSIONS_4[@]}") ;;
    3.9.[0-9]* | 4.[0-9]*.[0-9]*) COUNTERSIGN_KAFKA_VERSIONS=("$want") ;;
    *) die "COUNTERSIGN_KAFKA_VERSION must be 3.9, 4 or an exact 3.9.x or 4.x.y version, not '$want'" ;;
  esac
}

# librdkafka: Debian trixie's source package, built on bookworm by scripts/setup.sh into a
# prefix under .cache (bookworm's own librdkafka 2.0.2 cannot log in to Kafka 4 with
# SCRAM). cmake/countersign_deps.cmake reads the version from the next line: keep its form.
RDKAFKA_DEB_VERSION=2.8.0-1
# SHA-256 of the source package's files, as trixie's signed Sources index lists them.
RDKAFKA_DEB_SHA256=(
  "0e9f099090072fe33da42303e1878f7f4713f91b94aa6523a9d630fe67eb2b51  librdkafka_2.8.0-1.dsc"
  "5bd1c46f63265f31c6bfcedcde78703f77d28238eadf23821c2b43fc30be3e25  librdkafka_2.8.0.orig.tar.gz"
  "85381d3e0f2f8a5f871a408df59ed7ee3071a7bdbce9adefabfc5d3324418ed1  librdkafka_2.8.0-1.debian.tar.xz"
)
# Where it is installed; the Dockerfile sets its own.
RDKAFKA_PREFIX="$(realpath -m "${COUNTERSIGN_RDKAFKA_PREFIX:-$ROOT/.cache/librdkafka-$RDKAFKA_DEB_VERSION}")"

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

select_kafka_versions
