#!/usr/bin/env bash
# A throw-away single-node Apache Kafka (KRaft, broker and controller in one JVM) on
# 127.0.0.1, for tests and the demo.
#
#   scripts/kafka.sh start      start it (fetching the jars if needed); prints the
#                               bootstrap address 127.0.0.1:<port> and nothing else on stdout
#   scripts/kafka.sh stop       stop it and delete its data; a no-op when stopped
#   scripts/kafka.sh status     'running 127.0.0.1:<port>' (exit 0) or 'stopped' (exit 3)
#   scripts/kafka.sh bootstrap  the bootstrap address (exit 3 when stopped)
#   scripts/kafka.sh kill       (chaos) SIGKILL the broker, keeping its data, ports and
#                               files: a crash; 'restart' brings it back on the same data
#   scripts/kafka.sh restart    (chaos) start the killed broker again on its data and ports
#   scripts/kafka.sh pause|resume  (chaos) SIGSTOP / SIGCONT the broker: a hung JVM
#   scripts/kafka.sh client-config  (SASL_SSL mode) path of the librdkafka properties
#                               file of the client user (kcat -F accepts it)
#   scripts/kafka.sh ca         (SASL_SSL mode) path of the test CA certificate (PEM)
#
# Env:
#   COUNTERSIGN_KAFKA_DIR         state dir (default $ROOT/.cache/kafka-run, or
#                                 $ROOT/.cache/kafka-sasl-run in SASL_SSL mode); give
#                                 each concurrent broker its own, e.g. one per build dir
#   COUNTERSIGN_TEST_BROKERS      with COUNTERSIGN_KAFKA_DIR: the state dir keeps its name but
#                                 moves into this directory (scripts/test.sh runs two passes
#                                 of one build's broker tests side by side this way; the
#                                 test harness applies the same rule)
#   COUNTERSIGN_KAFKA_PARTITIONS  num.partitions for auto-created topics (default 4)
#   COUNTERSIGN_KAFKA_SECURITY    plaintext (default) or sasl_ssl, see below
#   COUNTERSIGN_KAFKA_VERSION     the broker: 3.9 (default; 3.9.2), 4 (4.x: 4.4.0), or an
#                                 exact version of either line; jars are cached per version
#                                 in .cache/kafka/<version>. 'restart' keeps the version
#                                 the broker was started with
#   COUNTERSIGN_KAFKA_SASL_PASSWORD  SASL_SSL mode: the client user's password
#                                 (default: a random one per start); [A-Za-z0-9._-]
#
# The state dir holds server.properties, data/ (log.dirs), broker.log, pid, bootstrap and
# version (the Kafka version running).
# broker.log and server.properties survive 'stop' for post-mortems; data/ does not.
#
# SASL_SSL mode (COUNTERSIGN_KAFKA_SECURITY=sasl_ssl on start; stop and status need only
# the state dir): the one client listener is SASL_SSL (SCRAM-SHA-512 and SCRAM-SHA-256,
# also used between brokers), the controller listener stays PLAINTEXT. Each start makes
# a test CA and a broker certificate for 127.0.0.1 and localhost in tls/ (tls/ca.pem)
# and the SCRAM users 'admin' (the broker's own) and 'countersign' (for clients, password
# in client.properties) at format time. There is no authorizer: any authenticated user
# may do anything. 'start' still prints only the bootstrap address on stdout; status
# says 'running 127.0.0.1:<port> SASL_SSL'. 'stop' also deletes tls/, client.properties.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$ROOT/scripts/lib/common.sh"

START_TIMEOUT_S=90
STOP_TIMEOUT_S=30
# A port picked free can be taken by someone else before the broker binds it.
START_ATTEMPTS=3

SECURITY="${COUNTERSIGN_KAFKA_SECURITY:-plaintext}"
SECURITY="${SECURITY,,}"
case "$SECURITY" in
  plaintext) DEFAULT_STATE="$ROOT/.cache/kafka-run" ;;
  sasl_ssl) DEFAULT_STATE="$ROOT/.cache/kafka-sasl-run" ;;
  *) die "COUNTERSIGN_KAFKA_SECURITY must be plaintext or sasl_ssl, not '$COUNTERSIGN_KAFKA_SECURITY'" ;;
esac

if [[ -n "${COUNTERSIGN_TEST_BROKERS:-}" && -n "${COUNTERSIGN_KAFKA_DIR:-}" ]]; then
  COUNTERSIGN_KAFKA_DIR="$COUNTERSIGN_TEST_BROKERS/$(basename "$COUNTERSIGN_KAFKA_DIR")"
fi
STATE="$(realpath -m "${COUNTERSIGN_KAFKA_DIR:-$DEFAULT_STATE}")"
PIDFILE="$STATE/pid"
BOOTFILE="$STATE/bootstrap"
LOGFILE="$STATE/broker.log"
PROPS="$STATE/server.properties"
DATADIR="$STATE/data"
# SASL_SSL mode only: the running broker's protocol (absent: PLAINTEXT), the test CA and
# broker certificate, and the client user's librdkafka settings.
MODEFILE="$STATE/security"
VERSIONFILE="$STATE/version"
TLSDIR="$STATE/tls"
CLIENTPROPS="$STATE/client.properties"
SASL_CLIENT_USER=countersign
SASL_ADMIN_USER="admin"

usage() { header_comment "${BASH_SOURCE[0]}"; }

# True if $1 is a live process (a dead child of ours stays a zombie until reaped, and
# kill -0 succeeds on zombies).
pid_alive() {
  local stat
  [[ "$1" =~ ^[0-9]+$ ]] || return 1
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }" # the command name in parentheses may contain spaces
  [[ "${stat%% *}" != Z ]]
}

# True if $1 is the broker of this state dir, not some other process that got its PID
# after ours died (PIDs are reused) nor the broker of another state dir.
pid_is_our_broker() {
  local cmdline
  pid_alive "$1" || return 1
  cmdline="$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null)" || return 1
  [[ "$cmdline" == *kafka.Kafka* && "$cmdline" == *"$PROPS"* ]]
}

# Prints the recorded PID if that broker is running.
running_pid() {
  local pid
  [[ -f "$PIDFILE" ]] || return 1
  pid="$(<"$PIDFILE")"
  pid_is_our_broker "$pid" || return 1
  printf '%s\n' "$pid"
}

# Serialises start and stop on one state dir (say, two test runners sharing it).
# The lock fd must not leak into the broker, or it would hold the lock for its lifetime.
lock_state() {
  mkdir -p "$STATE"
  exec 9>"$STATE/.lock"
  flock 9
}

# Prints two distinct free TCP ports on 127.0.0.1 (broker, controller). Both sockets are
# held open until both are known so that the kernel cannot hand out the same port twice.
free_ports() {
  python3 - <<'PY'
import socket
socks = []
for _ in range(2):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

# Same format as 'kafka-storage.sh random-uuid' (base64url of 16 random bytes, never
# starting with '-', which the tools would take for an option), without starting a JVM.
random_cluster_id() {
  python3 - <<'PY'
import base64, os
while True:
    s = base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")
    if not s.startswith("-"):
        print(s)
        break
PY
}

# The listener lines of server.properties.
listener_properties() { # port controller_port
  if [[ "$SECURITY" == sasl_ssl ]]; then
    cat <<PROPS
listeners=SASL_SSL://127.0.0.1:$1,CONTROLLER://127.0.0.1:$2
advertised.listeners=SASL_SSL://127.0.0.1:$1
controller.listener.names=CONTROLLER
listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT
inter.broker.listener.name=SASL_SSL
PROPS
  else
    cat <<PROPS
listeners=PLAINTEXT://127.0.0.1:$1,CONTROLLER://127.0.0.1:$2
advertised.listeners=PLAINTEXT://127.0.0.1:$1
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
PROPS
  fi
}

# SASL_SSL mode: appended to server.properties. The JAAS lines carry the broker's own
# credentials for inter-broker connections; SCRAM needs nothing else on the server side
# (the users live in the metadata log, created by 'format --add-scram').
sasl_ssl_properties() { # admin_password
  local jaas="org.apache.kafka.common.security.scram.ScramLoginModule required username=\"$SASL_ADMIN_USER\" password=\"$1\";"
  cat <<PROPS

# SASL_SSL mode (COUNTERSIGN_KAFKA_SECURITY=sasl_ssl): TLS with the test CA in tls/.
sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=$jaas
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=$jaas
ssl.keystore.type=PEM
ssl.keystore.location=$TLSDIR/broker-keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=$TLSDIR/ca.pem
ssl.client.auth=none
PROPS
}

write_properties() { # port controller_port
  cat >"$PROPS" <<PROPS
# Written by scripts/kafka.sh on every start; edits are lost.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$2
$(listener_properties "$1" "$2")
log.dirs=$DATADIR

# One broker: internal topics cannot have more than one replica.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1

# Tests produce to topics they never created and expect several partitions.
auto.create.topics.enable=true
num.partitions=${COUNTERSIGN_KAFKA_PARTITIONS:-4}

# Large batches of events must not bounce off the 1 MiB defaults.
message.max.bytes=16777216
replica.fetch.max.bytes=16777216
socket.request.max.bytes=104857600

# Consumer groups in tests should get partitions at once, not after 3 s.
group.initial.rebalance.delay.ms=0
log.retention.hours=24
PROPS
  if [[ "$SECURITY" == sasl_ssl ]]; then
    chmod 600 "$PROPS" # the broker's own password
    sasl_ssl_properties "$SASL_ADMIN_PASSWORD" >>"$PROPS"
  fi
}

# A password of letters and digits: safe in JAAS quotes, in --add-scram's [k=v,...]
# syntax and in YAML or properties files without escaping.
random_password() {
  python3 -c 'import secrets; print(secrets.token_hex(16))'
}

# SASL_SSL mode: a new test CA and a broker certificate signed by it for 127.0.0.1 and
# localhost, in tls/. The broker's keystore is PEM: its key (PKCS#8, unencrypted) and
# certificate chain in one file.
make_tls() {
  local dir="$TLSDIR" tmp oslog
  rm -rf "$dir"
  mkdir -m 700 "$dir"
  oslog="$dir/openssl.log"
  tmp="$(python3 -c 'import secrets; print(secrets.token_hex(4))')"
  if ! {
    openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 30 \
      -subj "/CN=countersign test CA $tmp" \
      -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -keyout "$dir/ca.key" -out "$dir/ca.pem" &&
      openssl req -new -newkey rsa:2048 -nodes -sha256 -subj "/CN=localhost" \
        -keyout "$dir/broker.key" -out "$dir/broker.csr" &&
      openssl x509 -req -sha256 -days 30 -in "$dir/broker.csr" \
        -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -set_serial "0x$tmp" \
        -extfile <(printf '%s\n' \
          'subjectAltName=IP:127.0.0.1,DNS:localhost' \
          'basicConstraints=critical,CA:FALSE' \
          'keyUsage=critical,digitalSignature,keyEncipherment' \
          'extendedKeyUsage=serverAuth,clientAuth') \
        -out "$dir/broker.pem"
  } >"$oslog" 2>&1 9>&-; then
    log "creating the test CA and broker certificate failed:"
    tail -n 20 "$oslog" >&2
    return 1
  fi
  cat "$dir/broker.key" "$dir/broker.pem" "$dir/ca.pem" >"$dir/broker-keystore.pem"
  chmod 600 "$dir"/*.key "$dir/broker-keystore.pem"
  rm -f "$dir/broker.csr"
}

# SASL_SSL mode: librdkafka settings of the client user (kcat -F reads this format).
write_client_properties() { # bootstrap
  (
    umask 077
    cat >"$CLIENTPROPS" <<PROPS
# SASL_SSL client settings for the broker in $STATE, written by scripts/kafka.sh start.
bootstrap.servers=$1
security.protocol=SASL_SSL
sasl.mechanisms=SCRAM-SHA-512
sasl.username=$SASL_CLIENT_USER
sasl.password=$SASL_CLIENT_PASSWORD
ssl.ca.location=$TLSDIR/ca.pem
PROPS
  )
}

# The protocol of the broker recorded in the state dir.
state_security() {
  if [[ -s "$MODEFILE" ]]; then cat "$MODEFILE"; else echo PLAINTEXT; fi
}

# The Kafka version of the broker recorded in the state dir (a state dir from before
# versions were recorded ran 3.9).
state_version() {
  if [[ -s "$VERSIONFILE" ]]; then cat "$VERSIONFILE"; else echo "${KAFKA_VERSIONS_3_9[0]}"; fi
}

wanted_version() { # version
  local v
  for v in "${COUNTERSIGN_KAFKA_VERSIONS[@]}"; do
    [[ "$v" == "$1" ]] && return 0
  done
  return 1
}

# The JVM option naming the broker's logging config: log4j 1 for 3.9, log4j2 for 4.x
# (scripts/setup.sh writes the one the version reads).
log4j_option() { # home
  if [[ -f "$1/log4j2.properties" ]]; then
    printf -- '-Dlog4j2.configurationFile=file:%s/log4j2.properties\n' "$1"
  else
    printf -- '-Dlog4j.configuration=file:%s/log4j.properties\n' "$1"
  fi
}

wanted_security() {
  if [[ "$SECURITY" == sasl_ssl ]]; then echo SASL_SSL; else echo PLAINTEXT; fi
}

port_open() { # port
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Stops the broker with the given PID: TERM, then KILL after STOP_TIMEOUT_S.
kill_broker() { # pid
  local pid="$1" deadline
  pid_is_our_broker "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + STOP_TIMEOUT_S))
  while pid_alive "$pid" && ((SECONDS < deadline)); do
    sleep 0.2
  done
  if pid_alive "$pid"; then
    log "broker $pid ignored SIGTERM for ${STOP_TIMEOUT_S}s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    while pid_alive "$pid"; do sleep 0.1; done
  fi
}

# One attempt to start the broker. Returns 0 when ready, 2 when it died of a port
# clash (worth another attempt with new ports), 1 on any other failure.
start_once() { # libs_dir log4j_jvm_option
  local libs="$1" log4j="$2" port cport home
  home="$(dirname "$libs")"
  read -r port cport < <(free_ports)

  rm -rf "$DATADIR"
  rm -f "$BOOTFILE" "$PIDFILE"
  write_properties "$port" "$cport"
  : >"$LOGFILE"

  local cp=(-cp "$libs/*" "$log4j")
  # SASL_SSL mode: the SCRAM users go into the bootstrap metadata, so they exist from
  # the first moment the listener accepts connections.
  local scram=() mech
  if [[ "$SECURITY" == sasl_ssl ]]; then
    for mech in SCRAM-SHA-512 SCRAM-SHA-256; do
      scram+=(--add-scram "$mech=[name=$SASL_ADMIN_USER,password=$SASL_ADMIN_PASSWORD]")
      scram+=(--add-scram "$mech=[name=$SASL_CLIENT_USER,password=$SASL_CLIENT_PASSWORD]")
    done
  fi
  if ! java "${cp[@]}" kafka.tools.StorageTool format \
    -t "$(random_cluster_id)" -c "$PROPS" "${scram[@]}" >>"$LOGFILE" 2>&1 9>&-; then
    log "formatting the storage failed:"
    tail -n 40 "$LOGFILE" >&2
    return 1
  fi

  launch_broker "$port" "${cp[@]}" || return $?

  if [[ "$SECURITY" == sasl_ssl ]]; then
    write_client_properties "127.0.0.1:$port"
    echo SASL_SSL >"$MODEFILE"
  fi
  basename "$home" >"$VERSIONFILE"
  printf '127.0.0.1:%s\n' "$port" >"$BOOTFILE"
  return 0
}

# Runs the broker JVM on server.properties and data/ as they are, and waits until it
# listens on `port`. Same returns as start_once.
launch_broker() { # port classpath-args...
  local port="$1" pid deadline skip
  shift
  local cp=("$@")
  # Only lines written from now on tell whether this JVM started (a restart appends).
  skip=$(($(wc -l <"$LOGFILE") + 1))
  # setsid: the broker must outlive this script and not get the caller's Ctrl-C or
  # SIGHUP. It runs from the state dir so that JVM crash files land there. Without
  # job control the background child is no group leader, so setsid execs in place
  # and $! is the JVM's own PID.
  (
    cd "$STATE"
    exec setsid java -Xmx512m -Xms256m -XX:+ExitOnOutOfMemoryError \
      -Djava.awt.headless=true "${cp[@]}" kafka.Kafka "$PROPS"
  ) >>"$LOGFILE" 2>&1 </dev/null 9>&- &
  pid=$!
  printf '%s\n' "$pid" >"$PIDFILE"

  deadline=$((SECONDS + START_TIMEOUT_S))
  while :; do
    if ! pid_alive "$pid"; then
      wait "$pid" 2>/dev/null || true
      if tail -n "+$skip" "$LOGFILE" | grep -q -E 'BindException|Address already in use'; then
        log "port $port or $cport was taken before the broker bound it"
        rm -f "$PIDFILE"
        return 2
      fi
      log "the broker exited during start-up; last lines of $LOGFILE:"
      tail -n 40 "$LOGFILE" >&2
      rm -f "$PIDFILE"
      return 1
    fi
    if tail -n "+$skip" "$LOGFILE" | grep -q 'Kafka Server started' && port_open "$port"; then
      return 0
    fi
    if ((SECONDS >= deadline)); then
      log "the broker was not ready after ${START_TIMEOUT_S}s; last lines of $LOGFILE:"
      tail -n 40 "$LOGFILE" >&2
      kill_broker "$pid"
      rm -f "$PIDFILE"
      return 1
    fi
    sleep 0.2
  done
}

cmd_start() {
  local home attempt rc
  [[ "${COUNTERSIGN_KAFKA_PARTITIONS:-4}" =~ ^[1-9][0-9]*$ ]] ||
    die "COUNTERSIGN_KAFKA_PARTITIONS must be a positive integer, not '$COUNTERSIGN_KAFKA_PARTITIONS'"
  if [[ "$SECURITY" == sasl_ssl && -n "${COUNTERSIGN_KAFKA_SASL_PASSWORD:-}" ]]; then
    [[ "$COUNTERSIGN_KAFKA_SASL_PASSWORD" =~ ^[A-Za-z0-9._-]+$ ]] ||
      die "COUNTERSIGN_KAFKA_SASL_PASSWORD may hold only letters, digits, '.', '_' and '-'"
  fi
  lock_state
  if running_pid >/dev/null && [[ -s "$BOOTFILE" ]]; then
    if [[ "$(state_security)" != "$(wanted_security)" ]]; then
      die "a $(state_security) broker is running in $STATE, not $(wanted_security); stop it first or use another COUNTERSIGN_KAFKA_DIR"
    fi
    if ! wanted_version "$(state_version)"; then
      die "Kafka $(state_version) is running in $STATE, not ${COUNTERSIGN_KAFKA_VERSIONS[*]}; stop it first or use another COUNTERSIGN_KAFKA_DIR"
    fi
    [[ "$SECURITY" != sasl_ssl ]] || log_sasl_ssl
    cat "$BOOTFILE"
    return 0
  fi
  # A broker that was started by hand or lost its bootstrap file: start over cleanly.
  stop_locked

  if ! home="$(kafka_home)"; then
    # Its stdout (the libs dir) must not mix with our one line of output; its
    # progress and errors go to stderr.
    "$ROOT/scripts/setup.sh" --kafka-only >/dev/null 9>&-
    home="$(kafka_home)" || die "the Kafka jars are still missing after scripts/setup.sh"
  fi

  if [[ "$SECURITY" == sasl_ssl ]]; then
    SASL_CLIENT_PASSWORD="${COUNTERSIGN_KAFKA_SASL_PASSWORD:-$(random_password)}"
    SASL_ADMIN_PASSWORD="$(random_password)"
    make_tls || exit 1
  fi

  for ((attempt = 1; attempt <= START_ATTEMPTS; attempt++)); do
    rc=0
    start_once "$home/libs" "$(log4j_option "$home")" || rc=$?
    case "$rc" in
      0)
        log "Kafka $(basename "$home") running in $STATE (pid $(<"$PIDFILE"))"
        [[ "$SECURITY" != sasl_ssl ]] || log_sasl_ssl
        cat "$BOOTFILE"
        return 0
        ;;
      2) continue ;;
      *) rm -rf "$DATADIR" "$TLSDIR"; exit 1 ;;
    esac
  done
  rm -rf "$DATADIR" "$TLSDIR"
  die "gave up after $START_ATTEMPTS port clashes"
}

log_sasl_ssl() {
  log "SASL_SSL with SCRAM-SHA-512 or SCRAM-SHA-256, user $SASL_CLIENT_USER; CA $TLSDIR/ca.pem; client settings with the password in $CLIENTPROPS"
}

# Stop with the state lock already held (start reuses it).
stop_locked() {
  local pid
  if [[ -f "$PIDFILE" ]]; then
    pid="$(<"$PIDFILE")"
    if pid_is_our_broker "$pid"; then
      kill_broker "$pid"
    elif pid_alive "$pid"; then
      log "pid $pid is not this state dir's broker (reused PID?); leaving it alone"
    fi
  fi
  rm -f "$PIDFILE" "$BOOTFILE" "$MODEFILE" "$VERSIONFILE" "$CLIENTPROPS"
  rm -rf "$DATADIR" "$TLSDIR"
}

cmd_stop() {
  # Nothing to stop and nothing to clean: do not create the state dir just to lock it.
  [[ -d "$STATE" ]] || return 0
  lock_state
  stop_locked
}

# Chaos: a crash of the broker, data kept for 'restart'.
cmd_kill() {
  [[ -d "$STATE" ]] || die "no broker in $STATE"
  lock_state
  local pid
  pid="$(running_pid)" || die "no broker running in $STATE"
  kill -KILL "$pid" 2>/dev/null || true
  while pid_alive "$pid"; do sleep 0.1; done
  log "broker $pid killed (SIGKILL); data kept in $DATADIR"
}

# Chaos: the killed broker again, on the same data, ports and properties.
cmd_restart() {
  [[ -s "$BOOTFILE" && -d "$DATADIR" && -f "$PROPS" ]] || die "nothing to restart in $STATE (start it first)"
  lock_state
  if running_pid >/dev/null; then
    cat "$BOOTFILE"
    return 0
  fi
  local home port
  home="$KAFKA_CACHE/$(state_version)"
  [[ -f "$(kafka_marker "$(state_version)")" ]] ||
    die "the jars of Kafka $(state_version) are missing (COUNTERSIGN_KAFKA_VERSION=$(state_version) scripts/setup.sh --kafka-only)"
  port="$(sed -n 's/^127\.0\.0\.1:\([0-9]*\)$/\1/p' "$BOOTFILE")"
  local cp=(-cp "$home/libs/*" "$(log4j_option "$home")")
  launch_broker "$port" "${cp[@]}" || die "the broker did not come back on its data"
  log "broker restarted on its data (pid $(<"$PIDFILE"))"
  cat "$BOOTFILE"
}

# Chaos: a hung broker (SIGSTOP) and its recovery (SIGCONT).
cmd_signal() { # STOP|CONT
  local pid
  pid="$(running_pid)" || die "no broker running in $STATE"
  kill "-$1" "$pid"
}

# Running means: our broker process is alive and the start finished.
current_bootstrap() {
  running_pid >/dev/null && [[ -s "$BOOTFILE" ]] && cat "$BOOTFILE"
}

cmd_status() {
  local boot
  if boot="$(current_bootstrap)"; then
    if [[ -s "$MODEFILE" ]]; then
      printf 'running %s %s\n' "$boot" "$(state_security)"
    else
      printf 'running %s\n' "$boot"
    fi
  else
    echo stopped
    return 3
  fi
}

cmd_bootstrap() {
  current_bootstrap || { log "no broker running in $STATE"; return 3; }
}

# SASL_SSL mode: prints the path of a file of the running broker (client.properties, CA).
cmd_sasl_file() { # path
  current_bootstrap >/dev/null || { log "no broker running in $STATE"; return 3; }
  [[ -s "$MODEFILE" && -s "$1" ]] ||
    die "the broker in $STATE is $(state_security); start it with COUNTERSIGN_KAFKA_SECURITY=sasl_ssl"
  printf '%s\n' "$1"
}

main() {
  case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    bootstrap) cmd_bootstrap ;;
    kill) cmd_kill ;;
    restart) cmd_restart ;;
    pause) cmd_signal STOP ;;
    resume) cmd_signal CONT ;;
    client-config) cmd_sasl_file "$CLIENTPROPS" ;;
    ca) cmd_sasl_file "$TLSDIR/ca.pem" ;;
    -h | --help | help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

main "$@"
