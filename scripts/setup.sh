#!/usr/bin/env bash
# Prepares this machine for building and testing countersign. Idempotent: a re-run on a
# prepared machine does nothing and prints only the Kafka libs dir.
#
#   scripts/setup.sh               Debian packages, Java check, Kafka broker jars
#   scripts/setup.sh --kafka-only  Java check and Kafka broker jars (no apt)
#   scripts/setup.sh --no-kafka    Debian packages and Java check only
#
# Env: COUNTERSIGN_SKIP_APT=1 skips the Debian package step (e.g. on a machine without
# root where the packages are known to be present).
#
# Everything it fetches goes under $ROOT/.cache (git-ignored), so a fresh clone on a new
# machine gets the same result and nothing depends on ~/.m2 or other per-user state.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$ROOT/scripts/lib/common.sh"

# kcat (formerly kafkacat; bookworm ships 'kafkacat' only as a transitional package
# depending on kcat) is not needed by the build, but it is the quickest way to look at
# a topic by hand. clang-16 and its runtime build the libFuzzer target (scripts/fuzz.sh).
APT_PACKAGES=(
  build-essential g++ cmake ninja-build pkg-config git curl ca-certificates python3 python3-venv
  maven openjdk-17-jdk-headless
  librdkafka-dev libsimdjson-dev librocksdb-dev prometheus-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev libyaml-cpp-dev
  libfmt-dev libspdlog-dev libcli11-dev libxxhash-dev libcivetweb-dev libre2-dev libicu-dev libhyperscan-dev
  libevtx-dev libbfio-dev libevtx-utils
  openssl kcat
  clang-16 libclang-rt-16-dev
)

# Another process (a provisioning step, a second session) may hold the dpkg lock:
# wait for it instead of failing.
APT_GET=(apt-get -o DPkg::Lock::Timeout=600)

usage() { header_comment "${BASH_SOURCE[0]}"; }

missing_apt_packages() {
  local p status
  for p in "${APT_PACKAGES[@]}"; do
    status="$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)"
    [[ "$status" == installed ]] || printf '%s\n' "$p"
  done
}

# DPkg::Lock::Timeout covers the dpkg lock but not the lists lock that 'apt-get update'
# takes (apt 2.6), so a concurrent update would make ours fail at once: retry on that.
apt_update() {
  local deadline=$((SECONDS + 600)) out
  while :; do
    if out="$("${APT_GET[@]}" -qq update 2>&1)"; then
      return 0
    fi
    if [[ "$out" == *"Could not get lock"* || "$out" == *"Unable to lock"* ]] &&
      ((SECONDS < deadline)); then
      sleep 5
      continue
    fi
    printf '%s\n' "$out" >&2
    die "apt-get update failed"
  done
}

ensure_apt_packages() {
  if [[ "${COUNTERSIGN_SKIP_APT:-0}" == 1 ]]; then
    return 0
  fi
  local missing
  mapfile -t missing < <(missing_apt_packages)
  ((${#missing[@]} > 0)) || return 0

  ((EUID == 0)) || die "missing Debian packages (${missing[*]}); run as root or install them and set COUNTERSIGN_SKIP_APT=1"
  log "installing Debian packages (may take minutes): ${missing[*]}"
  apt_update
  # apt and dpkg print hundreds of progress lines: keep them for when it fails.
  local aptlog
  aptlog="$(mktemp "${TMPDIR:-/tmp}/countersign-apt.XXXXXX")"
  if ! DEBIAN_FRONTEND=noninteractive "${APT_GET[@]}" -y -q --no-install-recommends \
    install "${missing[@]}" >"$aptlog" 2>&1; then
    tail -n 40 "$aptlog" >&2
    die "apt-get install failed (full log: $aptlog)"
  fi
  rm -f "$aptlog"
}

# The broker jars are built for Java 17, and 'java' on PATH is what kafka.sh runs.
ensure_java17() {
  command -v java >/dev/null 2>&1 ||
    die "java not found on PATH; install openjdk-17-jdk-headless (or run without COUNTERSIGN_SKIP_APT)"
  local first major
  first="$(java -version 2>&1 | head -n 1)"
  # e.g. 'openjdk version "17.0.21.1" 2026-11-17'; pre-9 releases said "1.8.0_...".
  major="$(sed -n 's/.*version "\([0-9][0-9]*\)[."].*/\1/p' <<<"$first")"
  [[ "$major" == 17 ]] ||
    die "Java 17 is required, but 'java -version' says: ${first:-nothing} ($(command -v java)); select it with update-alternatives --config java"
}

write_pom() { # version dir
  cat >"$2/pom.xml" <<POM
<?xml version="1.0" encoding="UTF-8"?>
<!-- Throw-away project: it exists only to let Maven resolve the broker's runtime jars. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>countersign.local</groupId>
  <artifactId>kafka-broker-jars</artifactId>
  <version>0</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>$1</version>
    </dependency>
    <!-- Command-line tools for tests (TopicCommand, ConsoleConsumer, GetOffsetShell): the
         broker jar keeps only a few of them in 3.9. Its own dependencies are excluded:
         what the tools need already comes with the broker, and the rest is Kafka
         Connect with Jetty and Jersey (some 40 jars) that nothing here uses. -->
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka-tools</artifactId>
      <version>$1</version>
      <exclusions>
        <exclusion>
          <groupId>*</groupId>
          <artifactId>*</artifactId>
        </exclusion>
      </exclusions>
    </dependency>
    <!-- Kafka 3.9 publishes no logging backend: without one it logs nothing at all. -->
    <dependency>
      <groupId>org.slf4j</groupId>
      <artifactId>slf4j-reload4j</artifactId>
      <version>1.7.36</version>
    </dependency>
    <dependency>
      <groupId>ch.qos.reload4j</groupId>
      <artifactId>reload4j</artifactId>
      <version>1.2.25</version>
    </dependency>
  </dependencies>
  <build>
    <pluginManagement>
      <plugins>
        <!-- Pinned so that the result does not depend on whatever is newest today. -->
        <plugin>
          <groupId>org.apache.maven.plugins</groupId>
          <artifactId>maven-dependency-plugin</artifactId>
          <version>3.8.1</version>
        </plugin>
      </plugins>
    </pluginManagement>
  </build>
</project>
POM
}

# Kafka's own scripts ship equivalents; we run the jars without them.
write_log4j_configs() { # home
  # The broker logs to the console; kafka.sh sends its stdout and stderr to broker.log,
  # so JVM-level failures (bad flags, OOM) land in the same file as the broker's log.
  cat >"$1/log4j.properties" <<'PROPS'
# Broker logging (used by scripts/kafka.sh via -Dlog4j.configuration).
log4j.rootLogger=INFO, stdout

log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n

# Quiet loggers that write a screenful per request, per config object or per segment
# and hide the lines that matter when a test broker misbehaves.
log4j.logger.kafka.request.logger=WARN
log4j.logger.kafka.network.RequestChannel$=WARN
log4j.logger.kafka.network.Processor=WARN
log4j.logger.kafka.server.KafkaApis=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.log.LogCleaner=WARN
log4j.logger.kafka.authorizer.logger=WARN
log4j.logger.kafka.server.KafkaConfig=WARN
log4j.logger.org.apache.kafka.common.config.AbstractConfig=WARN
log4j.logger.org.apache.kafka.common.utils.AppInfoParser=WARN
log4j.logger.org.apache.kafka.storage.internals.log=WARN
log4j.logger.kafka.log.UnifiedLog=WARN
log4j.logger.kafka.log.LogManager=WARN
log4j.logger.kafka.cluster.Partition=WARN
log4j.logger.kafka.server.ReplicaFetcherManager=WARN
log4j.logger.kafka.server.metadata.BrokerMetadataPublisher=WARN
log4j.logger.org.apache.kafka.controller=WARN
log4j.logger.org.apache.kafka.image=WARN
log4j.logger.org.apache.kafka.metadata=WARN
log4j.logger.org.apache.kafka.raft=WARN
log4j.logger.org.apache.kafka.coordinator=WARN
log4j.logger.kafka.coordinator=WARN
PROPS

  # Command-line tools (topics, console producer/consumer) must keep stdout for data.
  cat >"$1/tools-log4j.properties" <<'PROPS'
# Logging for Kafka's command-line tools: warnings only, on stderr.
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
PROPS
}

# Resolves one version into a scratch dir and moves it into place only when complete,
# so an interrupted fetch never looks like a usable one.
fetch_kafka_version() { # version
  local v="$1" home="$KAFKA_CACHE/$1" tmp
  tmp="$(mktemp -d "$KAFKA_CACHE/.fetch-$v.XXXXXX")"
  chmod 755 "$tmp" # mktemp makes it private; the jars are for every user of the clone
  write_pom "$v" "$tmp"
  # -B: no colours or progress bars in logs; the local repo under .cache keeps fetches
  # independent of ~/.m2 and reusable across re-fetches.
  if ! mvn -q -B -Dstyle.color=never -f "$tmp/pom.xml" \
    -Dmaven.repo.local="$ROOT/.cache/m2" \
    dependency:copy-dependencies \
    -DincludeScope=runtime \
    -DoutputDirectory="$tmp/libs" >"$tmp/mvn.log" 2>&1; then
    log "could not resolve org.apache.kafka:kafka_2.13:$v; Maven said:"
    tail -n 20 "$tmp/mvn.log" >&2
    rm -rf "$tmp"
    return 1
  fi
  if [[ ! -f "$tmp/libs/kafka_2.13-$v.jar" ]]; then
    log "Maven finished but kafka_2.13-$v.jar is missing"
    rm -rf "$tmp"
    return 1
  fi
  write_log4j_configs "$tmp"
  rm -f "$tmp/pom.xml" "$tmp/mvn.log"
  rm -rf "$home"
  mv "$tmp" "$home"
  date -u +%FT%TZ >"$(kafka_marker "$v")"
}

ensure_kafka_jars() {
  local home v
  # Any complete pinned version is good enough: re-trying an unresolvable preferred
  # version on every run would make re-runs slow and network-dependent.
  if home="$(kafka_home)"; then
    printf '%s/libs\n' "$home"
    return 0
  fi
  command -v mvn >/dev/null 2>&1 || die "mvn not found on PATH; install the 'maven' package"
  mkdir -p "$KAFKA_CACHE"

  # Two brokers started in parallel on a fresh clone would otherwise both fetch.
  exec 8>"$KAFKA_CACHE/.fetch.lock"
  flock 8
  if ! home="$(kafka_home)"; then
    # Left by an interrupted fetch; safe to remove while we hold the lock.
    rm -rf "$KAFKA_CACHE"/.fetch-*
    for v in "${COUNTERSIGN_KAFKA_VERSIONS[@]}"; do
      log "fetching Apache Kafka $v broker jars from Maven Central"
      if fetch_kafka_version "$v"; then
        break
      fi
    done
    home="$(kafka_home)" ||
      die "no Kafka version of ${COUNTERSIGN_KAFKA_VERSIONS[*]} could be fetched (see Maven's output above)"
    log "Kafka $(basename "$home") ready"
  fi
  flock -u 8
  exec 8>&-
  printf '%s/libs\n' "$home"
}

main() {
  local do_apt=1 do_kafka=1
  while (($#)); do
    case "$1" in
      --kafka-only) do_apt=0 ;;
      --no-kafka) do_kafka=0 ;;
      -h | --help) usage; return 0 ;;
      *) usage >&2; die "unknown argument: $1" ;;
    esac
    shift
  done

  ((do_apt)) && ensure_apt_packages
  ensure_java17
  ((do_kafka)) && ensure_kafka_jars
  return 0
}

main "$@"
