#!/usr/bin/env bash
# Prepares this machine for building and testing countersign. Idempotent: a re-run on a
# prepared machine does nothing and prints only the Kafka libs dir.
#
#   scripts/setup.sh               Debian packages, librdkafka, Java check, Kafka broker jars
#   scripts/setup.sh --kafka-only  Java check and Kafka broker jars (no apt)
#   scripts/setup.sh --no-kafka    Debian packages, librdkafka and Java check only
#   scripts/setup.sh --librdkafka-only  librdkafka only (the Dockerfile's build stage);
#                                  prints its prefix
#
# librdkafka is Debian trixie's source package (version and checksums pinned in
# scripts/lib/common.sh), fetched with apt from trixie's signed index and built here with
# Debian's build flags into .cache/librdkafka-<version>, once; CMake finds it there.
#
# Env: COUNTERSIGN_SKIP_APT=1 skips the Debian package step (e.g. on a machine without
# root where the packages are known to be present); COUNTERSIGN_KAFKA_VERSION picks the
# broker line whose jars are fetched (3.9, the default, or 4); COUNTERSIGN_RDKAFKA_PREFIX
# installs librdkafka elsewhere (the Dockerfile uses /opt/librdkafka).
#
# Everything it fetches goes under $ROOT/.cache (git-ignored), so a fresh clone on a new
# machine gets the same result and nothing depends on ~/.m2 or other per-user state.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$ROOT/scripts/lib/common.sh"

# What building librdkafka needs (trixie's Build-Depends that matter for the features
# we build: TLS, SASL with Cyrus for GSSAPI, lz4, zstd, zlib) and unpacking its source.
RDKAFKA_BUILD_PACKAGES=(
  build-essential dpkg-dev python3 pkg-config ca-certificates debian-archive-keyring
  libssl-dev libsasl2-dev liblz4-dev libzstd-dev zlib1g-dev
)

# kcat (formerly kafkacat; bookworm ships 'kafkacat' only as a transitional package
# depending on kcat) is not needed by the build, but it is the quickest way to look at
# a topic by hand. clang-16 and its runtime build the libFuzzer target (scripts/fuzz.sh).
APT_PACKAGES=(
  build-essential g++ cmake ninja-build pkg-config git curl ca-certificates python3 python3-venv
  maven openjdk-17-jdk-headless
  libsimdjson-dev librocksdb-dev prometheus-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev libyaml-cpp-dev
  libfmt-dev libspdlog-dev libcli11-dev libxxhash-dev libcivetweb-dev libre2-dev libicu-dev libhyperscan-dev
  libevtx-dev libbfio-dev libevtx-utils
  openssl kcat
  clang-16 libclang-rt-16-dev
  "${RDKAFKA_BUILD_PACKAGES[@]}"
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

# apt with nothing but trixie's source index, in a private dir: neither the machine's
# package lists nor its pinning see it. apt checks the index's signature with Debian's
# archive keyring (the bookworm keyring carries trixie's keys).
rdkafka_apt() { # dir apt-get-args...
  local dir="$1"
  shift
  "${APT_GET[@]}" -q -o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$dir/sources" \
    -o Dir::State::Lists="$dir/lists" -o Dir::Cache="$dir/cache" \
    -o APT::Sandbox::User=root "$@"
}

# Fetches trixie's librdkafka source package, checks it against the pinned SHA-256 sums,
# unpacks it with Debian's patches applied, builds the C library with Debian's compiler
# and linker flags and installs it into RDKAFKA_PREFIX. The prefix appears only complete
# (staged install, then a rename), and its .complete marker records the version.
build_librdkafka() {
  local work="$1" v="$RDKAFKA_DEB_VERSION" src
  mkdir -p "$work/sources" "$work/lists/partial" "$work/cache/archives/partial" "$work/src"
  cat >"$work/sources/trixie-src.sources" <<SOURCES
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie trixie-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: trixie-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  log "fetching Debian trixie's librdkafka $v source package"
  rdkafka_apt "$work" update >"$work/apt.log" 2>&1 || {
    tail -n 20 "$work/apt.log" >&2
    die "apt-get update of trixie's source index failed"
  }
  (cd "$work/src" && rdkafka_apt "$work" source --download-only "librdkafka=$v") >>"$work/apt.log" 2>&1 || {
    tail -n 20 "$work/apt.log" >&2
    die "apt-get source librdkafka=$v failed; if trixie has a newer librdkafka now, pin it in scripts/lib/common.sh"
  }
  (cd "$work/src" && printf '%s\n' "${RDKAFKA_DEB_SHA256[@]}" | sha256sum --quiet -c -) ||
    die "librdkafka $v: the source package does not match the SHA-256 sums pinned in scripts/lib/common.sh"
  src="$work/src/librdkafka"
  dpkg-source -x "$work/src/librdkafka_$v.dsc" "$src" >>"$work/build.log" 2>&1 || {
    tail -n 20 "$work/build.log" >&2
    die "dpkg-source could not unpack librdkafka $v"
  }

  # Debian's flags (debian/rules: hardening with bindnow), and only the C library: the
  # C++ wrapper, examples and tests are not used. --enable-X makes a missing -dev fail
  # here instead of building without the feature. No libcurl: it serves only OIDC token
  # fetching, which countersign does not configure (bookworm's 2.0.2 has none either).
  log "building librdkafka $v (a few minutes on 2 cores; cached afterwards in $RDKAFKA_PREFIX)"
  local stage="$work/stage" jobs
  jobs="$(nproc)"
  if ! (
    cd "$src"
    eval "$(DEB_BUILD_MAINT_OPTIONS=hardening=+bindnow dpkg-buildflags --export=sh)"
    ./configure --prefix="$RDKAFKA_PREFIX" --enable-ssl --enable-gssapi --enable-zstd \
      --enable-lz4-ext --enable-zlib --disable-curl &&
      make -C src -j "$jobs" &&
      make -C src install DESTDIR="$stage"
  ) >>"$work/build.log" 2>&1 9>&- 8>&-; then
    tail -n 40 "$work/build.log" >&2
    die "building librdkafka $v failed (full log: $work/build.log)"
  fi
  # Only the shared library is used: no static archives for a link to pick by mistake.
  rm -f "$stage$RDKAFKA_PREFIX"/lib/*.a "$stage$RDKAFKA_PREFIX"/lib/pkgconfig/rdkafka-static.pc
  # Its licences (upstream's, and Debian's record of them) go wherever the library goes.
  install -D -m 644 "$src/LICENSES.txt" "$stage$RDKAFKA_PREFIX/share/doc/librdkafka/LICENSES.txt"
  install -D -m 644 "$src/debian/copyright" "$stage$RDKAFKA_PREFIX/share/doc/librdkafka/copyright"
  # The features countersign relies on must be in the library, whatever configure found.
  local features
  features="$(sed -n 's/^#define BUILT_WITH "\(.*\)"$/\1/p' "$src/config.h")"
  local f
  for f in SSL SASL_CYRUS SASL_SCRAM ZLIB ZSTD LZ4_EXT; do
    [[ " $features " == *" $f "* ]] || die "librdkafka $v was built without $f (built with: $features)"
  done
  printf 'librdkafka %s (Debian trixie source), built with: %s\n' "$v" "$features" \
    >"$stage$RDKAFKA_PREFIX/.complete"
  rm -rf "$RDKAFKA_PREFIX"
  mkdir -p "$(dirname "$RDKAFKA_PREFIX")"
  mv "$stage$RDKAFKA_PREFIX" "$RDKAFKA_PREFIX"
}

# True when RDKAFKA_PREFIX holds a complete build made for this very path (rdkafka.pc
# and the binaries' RUNPATH name it, so a moved clone must build again).
librdkafka_ready() {
  [[ -f "$RDKAFKA_PREFIX/.complete" ]] &&
    grep -qxF "prefix=$RDKAFKA_PREFIX" "$RDKAFKA_PREFIX/lib/pkgconfig/rdkafka.pc" 2>/dev/null
}

ensure_librdkafka() {
  if ! librdkafka_ready; then
    local t0=$SECONDS work
    mkdir -p "$(dirname "$RDKAFKA_PREFIX")"
    # Two setups at once on a fresh clone would otherwise both build.
    exec 8>"$RDKAFKA_PREFIX.lock"
    flock 8
    if ! librdkafka_ready; then
      work="$(mktemp -d "$RDKAFKA_PREFIX.build.XXXXXX")"
      build_librdkafka "$work"
      rm -rf "$work"
      log "librdkafka $RDKAFKA_DEB_VERSION ready in $RDKAFKA_PREFIX ($((SECONDS - t0)) s)"
    fi
    flock -u 8
    exec 8>&-
  fi
  return 0
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

# The broker's logging backend, which its pom leaves out: without one it logs nothing.
# 3.9 logs through log4j 1 (here reload4j); 4.x through log4j2, whose log4j-core it
# brings, but it still uses SLF4J 1.7, so the SLF4J 1.x binding of the same log4j2
# release is added.
logging_dependencies() { # kafka-version
  local log4j2
  case "$1" in
    3.*)
      cat <<'XML'
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
XML
      return 0
      ;;
    4.4.*) log4j2=2.25.5 ;;
    4.1.*) log4j2=2.24.3 ;;
    *) die "no log4j2 release is known for Kafka $1; add the one its log4j-core is to logging_dependencies" ;;
  esac
  cat <<XML
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>$log4j2</version>
    </dependency>
XML
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
$(logging_dependencies "$1")
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

# Loggers that write a screenful per request, per config object or per segment and hide
# the lines that matter when a test broker misbehaves: WARN and up only.
QUIET_LOGGERS=(
  kafka.request.logger 'kafka.network.RequestChannel$' kafka.network.Processor
  kafka.server.KafkaApis state.change.logger kafka.log.LogCleaner kafka.authorizer.logger
  kafka.server.KafkaConfig org.apache.kafka.common.config.AbstractConfig
  org.apache.kafka.common.utils.AppInfoParser org.apache.kafka.storage.internals.log
  kafka.log.UnifiedLog kafka.log.LogManager kafka.cluster.Partition
  kafka.server.ReplicaFetcherManager kafka.server.metadata.BrokerMetadataPublisher
  org.apache.kafka.controller org.apache.kafka.image org.apache.kafka.metadata
  org.apache.kafka.raft org.apache.kafka.coordinator kafka.coordinator
)

# Kafka's own scripts ship equivalents; we run the jars without them. The broker logs to
# the console; kafka.sh sends its stdout and stderr to broker.log, so JVM-level failures
# (bad flags, OOM) land in the same file as the broker's log. Command-line tools must
# keep stdout for data: warnings only, on stderr. 3.9 reads log4j 1 properties
# (log4j.properties), 4.x log4j2 properties (log4j2.properties); kafka.sh passes the one
# the home has.
write_log4j_configs() { # home kafka-version
  local logger i=0
  if [[ "$2" == 3.* ]]; then
    {
      echo '# Broker logging (used by scripts/kafka.sh via -Dlog4j.configuration).'
      echo 'log4j.rootLogger=INFO, stdout'
      echo 'log4j.appender.stdout=org.apache.log4j.ConsoleAppender'
      echo 'log4j.appender.stdout.layout=org.apache.log4j.PatternLayout'
      echo 'log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n'
      for logger in "${QUIET_LOGGERS[@]}"; do
        echo "log4j.logger.$logger=WARN"
      done
    } >"$1/log4j.properties"
    cat >"$1/tools-log4j.properties" <<'PROPS'
# Logging for Kafka's command-line tools: warnings only, on stderr.
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
PROPS
    return 0
  fi
  {
    echo '# Broker logging (used by scripts/kafka.sh via -Dlog4j2.configurationFile).'
    echo 'status = warn'
    echo 'appender.stdout.type = Console'
    echo 'appender.stdout.name = stdout'
    echo 'appender.stdout.layout.type = PatternLayout'
    echo 'appender.stdout.layout.pattern = [%d] %p %m (%c)%n'
    echo 'rootLogger.level = info'
    echo 'rootLogger.appenderRef.stdout.ref = stdout'
    for logger in "${QUIET_LOGGERS[@]}"; do
      i=$((i + 1))
      echo "logger.q$i.name = $logger"
      echo "logger.q$i.level = warn"
    done
  } >"$1/log4j2.properties"
  cat >"$1/tools-log4j2.properties" <<'PROPS'
# Logging for Kafka's command-line tools: warnings only, on stderr.
status = warn
appender.stderr.type = Console
appender.stderr.name = stderr
appender.stderr.target = SYSTEM_ERR
appender.stderr.layout.type = PatternLayout
appender.stderr.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = stderr
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
  write_log4j_configs "$tmp" "$v"
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
  local do_apt=1 do_kafka=1 do_rdkafka=1 do_java=1
  while (($#)); do
    case "$1" in
      --kafka-only) do_apt=0 do_rdkafka=0 ;;
      --no-kafka) do_kafka=0 ;;
      --librdkafka-only) do_apt=0 do_kafka=0 do_java=0 ;;
      -h | --help) usage; return 0 ;;
      *) usage >&2; die "unknown argument: $1" ;;
    esac
    shift
  done

  ((do_apt)) && ensure_apt_packages
  ((do_rdkafka)) && ensure_librdkafka
  ((do_java)) && ensure_java17
  ((do_kafka)) && ensure_kafka_jars
  if ((do_rdkafka && !do_kafka)) && ((!do_java)); then
    printf '%s\n' "$RDKAFKA_PREFIX"
  fi
  return 0
}

main "$@"
