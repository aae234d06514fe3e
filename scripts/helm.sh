#!/usr/bin/env bash
# Checks the Helm chart in helm/countersign. Installs Helm first if needed.
#
#   scripts/helm.sh                 helm lint and helm template with the default values and
#                                   with each helm/countersign/ci/*.yaml; values that must be
#                                   refused (unknown keys, replicas above the partitions, ...)
#                                   are refused with a message naming the problem; the config
#                                   file the chart renders, with the content files and Sigma
#                                   rules it mounts, is accepted by `countersign rules check`
#                                   when a built binary is at hand (and a broken Sigma rule
#                                   is not); every rendered object decodes strictly into
#                                   its Kubernetes or Prometheus-operator Go API type, and
#                                   KEDA's objects match the schemas of KEDA's CRDs
#                                   (scripts/chartcheck: unknown or misspelt fields, wrong
#                                   types and unknown kinds fail)
#   scripts/helm.sh --install-only  only install Helm and build the chart checker; prints the
#                                   path of the helm binary
#
# Helm is built from source with this machine's Go through the Go module proxy
# (go install helm.sh/helm/v4/cmd/helm@$HELM_VERSION, with the version stamp of Helm's own
# release build) into $ROOT/.cache/bin; the module and build caches go to $ROOT/.cache/go.
# A helm already there at that version is reused. The first run takes a few minutes.
# scripts/chartcheck (k8s.io/api and the Prometheus-operator monitoring API at the
# versions of its go.mod) is built the same way into .cache/bin/countersign-chartcheck,
# again when its sources change; it checks KEDA's objects against the CustomResource-
# Definitions of the KEDA module pinned below (go mod download; its Go API package would
# add controller-runtime and client-go, about 560 packages, to the build).
#
# Env:
#   COUNTERSIGN_GO   the go binary (default: go on PATH, else /usr/local/go/bin/go)
#   COUNTERSIGN_BIN  countersign binary for checking rendered configs and Sigma rules
#                    (default: build/release/processor/countersign when built; a binary
#                    without `rules check --sigma`, or none, skips those checks)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$ROOT/scripts/lib/common.sh"

# Helm 4: the version the Go module proxy serves as approved, and it builds against the
# same Kubernetes modules (k8s.io/api v0.37.2) as scripts/chartcheck, so the packages both
# need are compiled once (one GOCACHE).
HELM_VERSION=v4.3.2
HELM_MODULE=helm.sh/helm/v4
# What Helm's own Makefile stamps into a release build, which a bare `go install` leaves at
# its source default ("v4.3"). Helm 4 reads the Kubernetes version it renders for from the
# k8s.io/client-go module in its build info, so that needs no stamp any more.
HELM_LDFLAGS="-s -w -X $HELM_MODULE/internal/version.version=$HELM_VERSION"
# Helm and the chart checker only render and read a small chart here: both are compiled
# without optimization or inlining (a cold build of Helm took 181 CPU s, 142 without),
# with the same flags, so that the Kubernetes packages they share are compiled once.
GO_GCFLAGS="all=-N -l"
# The KEDA release whose CRDs (config/crd/bases in its module) the chart's ScaledObject
# and TriggerAuthentication are checked against.
KEDA_MODULE=github.com/kedacore/keda/v2
KEDA_VERSION=v2.20.2
KEDA_CRDS=(keda.sh_scaledobjects.yaml keda.sh_triggerauthentications.yaml)
BIN_DIR="$ROOT/.cache/bin"
HELM="$BIN_DIR/helm"
CHART="$ROOT/helm/countersign"
# Where the chart mounts Sigma rule files (sigmaRules, sigmaRulesConfigMap), and the
# sigma.rules_dir it sets: the ..data folder of that ConfigMap volume (see
# countersign.sigmaRulesDir in templates/_helpers.tpl).
SIGMA_MOUNT=/etc/countersign/sigma
SIGMA_RULES_DIR=$SIGMA_MOUNT/..data

usage() { header_comment "${BASH_SOURCE[0]}"; }

go_binary() {
  if [[ -n "${COUNTERSIGN_GO:-}" ]]; then
    printf '%s\n' "$COUNTERSIGN_GO"
  elif command -v go >/dev/null 2>&1; then
    command -v go
  elif [[ -x /usr/local/go/bin/go ]]; then
    printf '%s\n' /usr/local/go/bin/go
  else
    return 1
  fi
}

# True when $HELM was built from module $HELM_VERSION ('go version -m' reads the build
# info embedded in it) with our stamps (it then reports that version itself).
helm_is_current() { # go
  [[ -x "$HELM" ]] || return 1
  [[ "$("$1" version -m "$HELM" 2>/dev/null | awk -v m="$HELM_MODULE" '$1 == "mod" && $2 == m { print $3 }')" == "$HELM_VERSION" ]] &&
    [[ "$("$HELM" version --template '{{.Version}}' 2>/dev/null)" == "$HELM_VERSION" ]]
}

ensure_helm() {
  local go
  go="$(go_binary)" || die "Go is needed to build Helm: install it or set COUNTERSIGN_GO"
  if helm_is_current "$go"; then
    return 0
  fi
  log "building Helm $HELM_VERSION with $("$go" version | cut -d' ' -f3) (first time only, takes minutes)"
  mkdir -p "$BIN_DIR" "$ROOT/.cache/go"
  local gologf
  gologf="$(mktemp "${TMPDIR:-/tmp}/countersign-helm-build.XXXXXX")"
  # GOTOOLCHAIN=local: build with this Go, never download another toolchain.
  if ! GOBIN="$BIN_DIR" GOMODCACHE="$ROOT/.cache/go/mod" GOCACHE="$ROOT/.cache/go/build" \
    GOTOOLCHAIN=local GOFLAGS="-buildvcs=false -modcacherw" CGO_ENABLED=0 \
    "$go" install -gcflags="$GO_GCFLAGS" -ldflags "$HELM_LDFLAGS" "$HELM_MODULE/cmd/helm@$HELM_VERSION" >"$gologf" 2>&1; then
    tail -n 40 "$gologf" >&2
    die "go install $HELM_MODULE/cmd/helm@$HELM_VERSION failed (full log: $gologf)"
  fi
  rm -f "$gologf"
  helm_is_current "$go" || die "$HELM is not Helm $HELM_VERSION after go install"
}

CHARTCHECK="$BIN_DIR/countersign-chartcheck"
CHARTCHECK_SRC="$ROOT/scripts/chartcheck"

# Builds the strict API-type check when missing or older than its sources.
ensure_chartcheck() {
  local go
  go="$(go_binary)" || die "Go is needed to build scripts/chartcheck: install it or set COUNTERSIGN_GO"
  if [[ -x "$CHARTCHECK" ]] && [[ -z "$(find "$CHARTCHECK_SRC" -newer "$CHARTCHECK" -type f)" ]]; then
    return 0
  fi
  log "building scripts/chartcheck (Kubernetes, Prometheus-operator and KEDA API types; first time only)"
  mkdir -p "$BIN_DIR" "$ROOT/.cache/go"
  local gologf
  gologf="$(mktemp "${TMPDIR:-/tmp}/countersign-chartcheck-build.XXXXXX")"
  if ! (cd "$CHARTCHECK_SRC" && GOMODCACHE="$ROOT/.cache/go/mod" GOCACHE="$ROOT/.cache/go/build" \
    GOTOOLCHAIN=local GOFLAGS="-buildvcs=false -modcacherw -mod=readonly" CGO_ENABLED=0 \
    "$go" build -gcflags="$GO_GCFLAGS" -o "$CHARTCHECK" .) >"$gologf" 2>&1; then
    tail -n 40 "$gologf" >&2
    die "building scripts/chartcheck failed (full log: $gologf)"
  fi
  rm -f "$gologf"
}

# The -crd arguments of chartcheck: KEDA's CRD files from its module (downloaded through
# the module proxy, checked against the checksum database, on first use).
KEDA_CRD_ARGS=()
ensure_keda_crds() {
  local go dir f
  go="$(go_binary)" || die "Go is needed to fetch KEDA's CRDs: install it or set COUNTERSIGN_GO"
  # Outside any module (a temp dir), so that no go.mod is consulted or changed.
  dir="$(cd "${TMPDIR:-/tmp}" && GOMODCACHE="$ROOT/.cache/go/mod" GOTOOLCHAIN=local GOFLAGS=-modcacherw \
    "$go" mod download -json "$KEDA_MODULE@$KEDA_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')" ||
    die "go mod download $KEDA_MODULE@$KEDA_VERSION failed"
  for f in "${KEDA_CRDS[@]}"; do
    [[ -f "$dir/config/crd/bases/$f" ]] || die "no $f in $KEDA_MODULE@$KEDA_VERSION (at '$dir')"
    KEDA_CRD_ARGS+=(-crd "$dir/config/crd/bases/$f")
  done
}

FAILURES=0
WORK=""

fail() { log "FAIL: $*"; FAILURES=$((FAILURES + 1)); }

# Runs a helm command quietly; on failure prints its output and counts a failure.
expect_ok() { # description helm-args...
  local what="$1" out
  shift
  if out="$("$HELM" "$@" 2>&1)"; then
    log "ok: $what"
  else
    printf '%s\n' "$out" >&2
    fail "$what"
  fi
}

# The output of a refusal must mention every given text; else it is printed and a
# failure counted (status 1).
expect_mentions() { # description output texts...
  local what="$1" out="$2" text
  shift 2
  for text in "$@"; do
    if [[ "$out" != *"$text"* ]]; then
      printf '%s\n' "$out" >&2
      fail "$what: the error does not mention '$text'"
      return 1
    fi
  done
}

# Runs a helm command that must fail with every given text in its output.
expect_refused() { # description file texts...
  local what="$1" values="$2" out
  shift 2
  if out="$("$HELM" template t "$CHART" -f "$values" 2>&1)"; then
    fail "$what: helm template accepted $values"
    return
  fi
  if expect_mentions "$what" "$out" "$@"; then log "ok: refused: $what"; fi
}

# Prints the countersign.yaml of a rendered config ConfigMap or Secret (one document of
# `helm template --show-only templates/config.yaml`), without needing a YAML library: the
# ConfigMap carries it as a block scalar indented by 4, the Secret as one base64 line.
extract_file() { # manifest key
  awk -v key="$2" '
    $1 == "kind:" { kind = $2 }
    kind == "Secret" && $1 == key ":" { print $2; exit }
    kind == "ConfigMap" && $0 == "  " key ": |" { inblock = 1; next }
    inblock && /^    / { print substr($0, 5); next }
    inblock && /^$/ { print ""; next }
    inblock { exit }
  ' "$1" | if grep -q '^kind: Secret' "$1"; then base64 -d; else cat; fi
}

# Keys of the data of a rendered ConfigMap whose values are block scalars (file texts).
configmap_keys() { # manifest
  awk '$0 == "data:" { data = 1; next } data && /^  [^ ].*: \|$/ { k = substr($0, 3); sub(/: \|$/, "", k); print k }' "$1"
}

# sigma.rules_dir of a countersign.yaml (empty when not set).
sigma_rules_dir() { # countersign.yaml
  awk '/^[^ #]/ { s = ($0 == "sigma:") } s && $1 == "rules_dir:" { print $2 }' "$1"
}

# The lines of the first list item "- name: NAME" of a rendered manifest, up to the next
# item (in a StatefulSet a volume mount comes before the volume of the same name).
named_item() { # manifest name
  awk -v name="$2" '
    !found && $0 ~ "^ *- name: " name "$" { found = 1; ind = index($0, "-"); print; next }
    found { match($0, /^ */); if (RLENGTH < ind) exit; print }
  ' "$1"
}

# A countersign binary whose `rules check` checks Sigma rules too (--sigma; an older
# build has no such option, or no `rules` at all).
countersign_binary() {
  local bin="${COUNTERSIGN_BIN:-$ROOT/build/release/processor/countersign}" help
  [[ -x "$bin" && -s "$bin" ]] || return 1
  help="$("$bin" rules check --help 2>/dev/null)" || return 1
  grep -qE '^[[:space:]]+--sigma[[:space:]]' <<<"$help" || return 1
  printf '%s\n' "$bin"
}

# The config file the chart renders for these values must be one countersign accepts
# (unknown keys and bad values are errors there too), with the content files it mounts.
check_rendered_config() { # name values-args...
  local name="$1" bin dir out
  shift
  bin="$(countersign_binary)" || return 0
  dir="$WORK/rendered-$name"
  mkdir -p "$dir/content"
  if ! "$HELM" template t "$CHART" "$@" --show-only templates/config.yaml >"$dir/config.manifest" 2>"$dir/err"; then
    if grep -q "could not find template" "$dir/err"; then
      log "ok: $name: no rendered config (existingConfigSecret) to check"
      return
    fi
    cat "$dir/err" >&2
    fail "$name: rendering templates/config.yaml"
    return
  fi
  extract_file "$dir/config.manifest" countersign.yaml >"$dir/countersign.yaml"
  [[ -s "$dir/countersign.yaml" ]] || { fail "$name: no countersign.yaml in the rendered config"; return; }
  local args=(rules check --config "$dir/countersign.yaml")
  if "$HELM" template t "$CHART" "$@" --show-only templates/content-configmap.yaml >"$dir/content.manifest" 2>/dev/null; then
    local f
    for f in trusted_publishers.yaml known_code_signing_cas.yaml protected_vendors.yaml user_writable_paths.yaml; do
      if grep -q "^  $f: |" "$dir/content.manifest"; then
        extract_file "$dir/content.manifest" "$f" >"$dir/content/$f"
      fi
    done
    args+=(--rules "$dir/content")
  fi
  # The SASL password file is a Secret mounted in the pod: stand in for it here.
  local env=()
  if grep -q '^    sasl_password_file: ' "$dir/countersign.yaml"; then
    env+=(COUNTERSIGN_KAFKA_SECURITY_SASL_PASSWORD_FILE= COUNTERSIGN_KAFKA_SECURITY_SASL_PASSWORD=stand-in)
  fi
  # The Sigma rule folder is a ConfigMap volume in the pod, absent here (and countersign
  # refuses a sigma.rules_dir that does not exist): rebuild it as the kubelet writes it
  # (the files in a hidden ..<timestamp> folder, ..data linking to that, one link per
  # file at the top) from the rendered sigmaRules, and point sigma.rules_dir (by its
  # environment override) and --sigma at it. Rules from sigmaRulesConfigMap are not in
  # the release: the folder stays empty. With rendered rules, --strict: a rule countersign
  # would skip, or load twice, fails too.
  local rules_dir
  rules_dir="$(sigma_rules_dir "$dir/countersign.yaml")"
  if [[ "$rules_dir" == "$SIGMA_MOUNT" || "$rules_dir" == "$SIGMA_MOUNT"/* ]]; then
    local vol="$dir/sigma" stamp="..2026_01_01_00_00_00.000000001" key
    mkdir -p "$vol/$stamp"
    ln -s "$stamp" "$vol/..data"
    if "$HELM" template t "$CHART" "$@" --show-only templates/sigma-rules-configmap.yaml >"$dir/sigma.manifest" 2>/dev/null; then
      while read -r key; do
        extract_file "$dir/sigma.manifest" "$key" >"$vol/$stamp/$key"
        ln -s "..data/$key" "$vol/$key"
      done < <(configmap_keys "$dir/sigma.manifest")
      args+=(--strict)
    fi
    env+=("COUNTERSIGN_SIGMA_RULES_DIR=$vol${rules_dir#"$SIGMA_MOUNT"}")
    args+=(--sigma "$vol${rules_dir#"$SIGMA_MOUNT"}")
  fi
  # Abused-certificate list files named in the config live on the cluster, not here:
  # `rules check` reports them missing after it has accepted config and content, which
  # is what this check is about.
  if out="$(env "${env[@]}" "$bin" "${args[@]}" 2>&1)"; then
    log "ok: $name: countersign rules check accepts the rendered config"
  elif [[ "$out" != *"FAILED (configuration or content)"* && "$out" == *"rules check: FAILED ("*" errors"* ]] &&
    ! grep -v -e '^content: ' -e '^exclusions: ' -e '^sigma: ' -e '^rules check: ' -e ': cannot \(open\|read\)' <<<"$out" | grep -q .; then
    log "ok: $name: countersign rules check accepts the rendered config (its list files are not here to load)"
  else
    printf '%s\n' "$out" >&2
    fail "$name: countersign rules check refuses the rendered config ($dir/countersign.yaml)"
  fi
}

# Values with Sigma rules (sigmaRules or sigmaRulesConfigMap): the ConfigMap of rules is
# rendered (sigmaRules) with every file, mounted as a whole folder at $SIGMA_MOUNT (no
# subPath, whose files the kubelet never updates: rule changes must reach the running pods
# to be hot-reloaded), and sigma.rules_dir is $SIGMA_RULES_DIR, in the rendered config or,
# with existingConfigSecret, in the environment.
check_sigma_render() { # name values-file
  local name="$1" values="$2" dir="$WORK/sigma-$1" cm key
  grep -qE '^sigmaRules(ConfigMap)?:' "$values" || return 0
  mkdir -p "$dir"
  if ! "$HELM" template t "$CHART" -f "$values" --show-only templates/statefulset.yaml >"$dir/sts.yaml" 2>&1; then
    cat "$dir/sts.yaml" >&2
    fail "$name: rendering templates/statefulset.yaml"
    return
  fi
  cm="$(awk '$1 == "sigmaRulesConfigMap:" { gsub(/"/, "", $2); print $2 }' "$values")"
  if [[ -z "$cm" ]]; then
    cm=t-countersign-sigma-rules
    if ! "$HELM" template t "$CHART" -f "$values" --show-only templates/sigma-rules-configmap.yaml >"$dir/cm.yaml" 2>&1; then
      cat "$dir/cm.yaml" >&2
      fail "$name: no ConfigMap of Sigma rules rendered"
      return
    fi
    grep -qx "  name: $cm" "$dir/cm.yaml" || { fail "$name: the ConfigMap of Sigma rules is not named $cm"; return; }
    while read -r key; do
      configmap_keys "$dir/cm.yaml" | grep -qxF "$key" || { fail "$name: sigmaRules file $key is not in the ConfigMap"; return; }
    done < <(awk '/^[^ #]/ { s = ($1 == "sigmaRules:") } s && /^  [^ #][^:]*:/ { k = substr($0, 3); sub(/:.*/, "", k); print k }' "$values")
  fi
  local mount volume
  mount="$(named_item "$dir/sts.yaml" sigma-rules)"
  volume="$(awk '$1 == "volumes:" { v = 1 } v' "$dir/sts.yaml" | named_item /dev/stdin sigma-rules)"
  if ! grep -qxE " +mountPath: $SIGMA_MOUNT" <<<"$mount" || grep -q subPath <<<"$mount"; then
    printf '%s\n' "$mount" >&2
    fail "$name: the Sigma rules are not mounted as a folder at $SIGMA_MOUNT"
    return
  fi
  if ! grep -qxE " +name: $cm" <<<"$volume"; then
    printf '%s\n' "$volume" >&2
    fail "$name: the sigma-rules volume is not ConfigMap $cm"
    return
  fi
  if grep -qE '^existingConfigSecret: *[^ "]' "$values"; then
    if ! grep -A1 -x ' *- name: COUNTERSIGN_SIGMA_RULES_DIR' "$dir/sts.yaml" | grep -qx " *value: \"$SIGMA_RULES_DIR\""; then
      fail "$name: COUNTERSIGN_SIGMA_RULES_DIR is not $SIGMA_RULES_DIR (existingConfigSecret)"
      return
    fi
  else
    if ! "$HELM" template t "$CHART" -f "$values" --show-only templates/config.yaml >"$dir/config.manifest" 2>&1; then
      cat "$dir/config.manifest" >&2
      fail "$name: rendering templates/config.yaml"
      return
    fi
    extract_file "$dir/config.manifest" countersign.yaml >"$dir/countersign.yaml"
    if [[ "$(sigma_rules_dir "$dir/countersign.yaml")" != "$SIGMA_RULES_DIR" ]]; then
      fail "$name: sigma.rules_dir in the rendered config is not $SIGMA_RULES_DIR"
      return
    fi
  fi
  log "ok: $name: Sigma rules from ConfigMap $cm mounted at $SIGMA_MOUNT, sigma.rules_dir $SIGMA_RULES_DIR"
}

# Values whose rendered config or Sigma rules `countersign rules check` must refuse, with
# every given text in its output: check_rendered_config, run in a subshell, must fail.
# Nothing to do without a countersign binary.
expect_check_refused() { # description values texts...
  local what="$1" values="$2" out
  shift 2
  countersign_binary >/dev/null || return 0
  out="$(check_rendered_config "refused-$(basename "$values" .yaml)" -f "$values" 2>&1)"
  if [[ "$out" != *"FAIL: "* ]]; then
    printf '%s\n' "$out" >&2
    fail "$what: countersign rules check accepted $values"
    return
  fi
  if expect_mentions "$what" "$out" "$@"; then log "ok: refused by countersign rules check: $what"; fi
}

# Every key of config/countersign.yaml (the reference listing every countersign key) must
# be accepted under `config` by values.schema.json, so the schema cannot fall behind the
# binary. The keys the chart sets itself are left out: it refuses them under `config`.
write_reference_values() { # out
  {
    echo "config:"
    awk '
      /^[a-z]/ { section = $1 }
      section == "metrics:" { next }
      section == "state:" && /^  dir:/ { next }
      section == "kafka:" && /^  group_instance_id:/ { next }
      { print "  " $0 }
    ' "$ROOT/config/countersign.yaml"
  } >"$1"
}

# Key paths documented in values.yaml (those under a "# --" comment), e.g. keda.topic.
documented_keys() {
  awk '
    /^[[:space:]]*# --/ { doc = 1; next }
    /^[[:space:]]*#/ { next }
    /^[[:space:]]*[A-Za-z_][A-Za-z0-9_.-]*:/ {
      match($0, /^ */); ind = RLENGTH
      key = $0; sub(/^ */, "", key); sub(/:.*/, "", key)
      while (n > 0 && inds[n] >= ind) n--
      n++; inds[n] = ind; keys[n] = key
      if (doc) { p = keys[1]; for (i = 2; i <= n; i++) p = p "." keys[i]; print p }
      doc = 0; next
    }
    { doc = 0 }
  ' "$CHART/values.yaml"
}

# The chart README's table must list every documented value.
check_readme() {
  local key missing=()
  while read -r key; do
    grep -qF "| \`$key\` |" "$CHART/README.md" || missing+=("$key")
  done < <(documented_keys)
  if ((${#missing[@]} > 0)); then
    fail "helm/countersign/README.md does not list: ${missing[*]}"
  else
    log "ok: README.md lists all $(documented_keys | wc -l) documented values"
  fi
}

write_bad_values() {
  cat >"$WORK/bad-top.yaml" <<'EOF'
replicaCountt: 3
EOF
  cat >"$WORK/bad-nested.yaml" <<'EOF'
persistence:
  sizee: 20Gi
EOF
  cat >"$WORK/bad-config.yaml" <<'EOF'
config:
  state:
    retension: 30d
EOF
  cat >"$WORK/bad-managed.yaml" <<'EOF'
config:
  state:
    dir: /data
EOF
  cat >"$WORK/bad-replicas.yaml" <<'EOF'
replicaCount: 8
config:
  topology:
    partitions: 6
EOF
  cat >"$WORK/bad-keda.yaml" <<'EOF'
keda:
  enabled: true
  maxReplicaCount: 12
config:
  topology:
    partitions: 6
EOF
  cat >"$WORK/bad-grace.yaml" <<'EOF'
terminationGracePeriodSeconds: 30
config:
  processing:
    drain_timeout: 45s
EOF
  cat >"$WORK/bad-pdb.yaml" <<'EOF'
podDisruptionBudget:
  maxUnavailable: 0
EOF
  cat >"$WORK/bad-grace-revoke.yaml" <<'EOF'
terminationGracePeriodSeconds: 70
config:
  processing:
    drain_timeout: 30s
EOF
  cat >"$WORK/bad-memory-queue.yaml" <<'EOF'
resources:
  limits:
    memory: 512Mi
config:
  kafka:
    producer:
      queue.buffering.max.kbytes: "262144"
EOF
  cat >"$WORK/bad-password.yaml" <<'EOF'
config:
  kafka:
    consumer:
      sasl.password: hunter2
EOF
  cat >"$WORK/bad-sasl.yaml" <<'EOF'
kafka:
  security:
    protocol: SASL_SSL
    sasl:
      username: countersign
EOF
  cat >"$WORK/bad-memory.yaml" <<'EOF'
resources:
  limits:
    memory: 256Mi
config:
  state:
    block_cache_bytes: 268435456
EOF
  cat >"$WORK/bad-sigma-name.yaml" <<'EOF'
sigmaRules:
  rules.txt: |
    title: Not A Rule File Name
EOF
  cat >"$WORK/bad-sigma-rule.yaml" <<'EOF'
sigmaRules:
  broken_rule.yml: |
    title: A Rule With A YAML Error
    id: 0e2f4c1a-5b7d-4e8f-9a0b-1c2d3e4f5a6b
    logsource:
      category: process_creation
      product: windows
    detection:
      selection:
        CommandLine|contains: ['-addstore', 'root'
      condition: selection
EOF
}

# Every object the chart renders with these values decodes strictly into its Go API type.
check_api_types() { # name values-args...
  local name="$1" out
  shift
  if ! "$HELM" template t "$CHART" "$@" >"$WORK/api-$name.yaml" 2>&1; then
    fail "$name: helm template failed"
    return
  fi
  if out="$("$CHARTCHECK" "${KEDA_CRD_ARGS[@]}" <"$WORK/api-$name.yaml" 2>&1)"; then
    log "ok: $name: ${out##*: }"
  else
    printf '%s\n' "$out" >&2
    fail "$name: rendered objects do not match their API types"
  fi
}

# The check must be able to fail: a misspelt field in a rendered StatefulSet is refused.
check_api_types_refuse() {
  sed 's/^  serviceName:/  serviceNamee:/' "$WORK/api-default.yaml" >"$WORK/api-bad.yaml"
  if "$CHARTCHECK" "${KEDA_CRD_ARGS[@]}" <"$WORK/api-bad.yaml" >"$WORK/api-bad.out" 2>&1; then
    fail "countersign-chartcheck accepted a StatefulSet with a misspelt field"
  elif grep -q 'unknown field "serviceNamee"' "$WORK/api-bad.out"; then
    log "ok: a misspelt field in a rendered object is refused"
  else
    cat "$WORK/api-bad.out" >&2
    fail "countersign-chartcheck refused the misspelt field without naming it"
  fi
}

# The same for a KEDA ScaledObject (checked against KEDA's CRD schema): a misspelt field,
# a number where the schema wants an integer, a trigger without its type.
check_crd_refuse() { # rendered manifest with a ScaledObject
  local what
  local -a edits=(
    's/^  pollingInterval:/  pollingIntervall:/' 'spec: unknown field "pollingIntervall"'
    's/^  minReplicaCount: .*/  minReplicaCount: 1.5/' 'spec.minReplicaCount: want an integer, got the number 1.5'
    's/^    - type: kafka$/    - typ: kafka/' 'spec.triggers[0]: missing required field "type"'
  )
  grep -q '^kind: ScaledObject$' "$1" || { fail "no ScaledObject in $1 to check the CRD schema with"; return; }
  while ((${#edits[@]})); do
    sed "${edits[0]}" "$1" >"$WORK/crd-bad.yaml"
    what="${edits[1]}"
    edits=("${edits[@]:2}")
    if "$CHARTCHECK" "${KEDA_CRD_ARGS[@]}" <"$WORK/crd-bad.yaml" >"$WORK/crd-bad.out" 2>&1; then
      fail "countersign-chartcheck accepted a ScaledObject with $what"
    elif grep -qF "ScaledObject keda.sh/v1alpha1/" "$WORK/crd-bad.out" && grep -qF "$what" "$WORK/crd-bad.out"; then
      log "ok: refused by KEDA's CRD schema: $what"
    else
      cat "$WORK/crd-bad.out" >&2
      fail "countersign-chartcheck refused a broken ScaledObject without saying '$what'"
    fi
  done
}

run_checks() {
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/countersign-helm.XXXXXX")"
  trap 'rm -rf "$WORK"' EXIT
  local f name

  expect_ok "helm lint (default values)" lint --strict "$CHART"
  expect_ok "helm template (default values)" template t "$CHART"
  check_rendered_config default
  check_api_types default
  check_api_types_refuse

  local found=0
  for f in "$CHART"/ci/*.yaml; do
    [[ -e "$f" ]] || continue
    found=1
    name="$(basename "$f" .yaml)"
    expect_ok "helm lint -f ci/$name.yaml" lint --strict "$CHART" -f "$f"
    expect_ok "helm template -f ci/$name.yaml" template t "$CHART" -f "$f"
    check_rendered_config "$name" -f "$f"
    check_api_types "$name" -f "$f"
    check_sigma_render "$name" "$f"
  done
  ((found)) || fail "no values files in $CHART/ci"
  check_crd_refuse "$WORK/api-keda-monitoring-values.yaml"

  check_readme

  write_reference_values "$WORK/reference.yaml"
  expect_ok "every key of config/countersign.yaml passes the schema" template t "$CHART" -f "$WORK/reference.yaml"

  write_bad_values
  expect_refused "unknown top-level key" "$WORK/bad-top.yaml" replicaCountt
  expect_refused "unknown key in persistence" "$WORK/bad-nested.yaml" sizee
  expect_refused "unknown countersign key under config" "$WORK/bad-config.yaml" retension
  expect_refused "config.state.dir (set by the chart)" "$WORK/bad-managed.yaml" dir
  expect_refused "replicaCount above topology.partitions" "$WORK/bad-replicas.yaml" replicaCount topology.partitions
  expect_refused "keda.maxReplicaCount above topology.partitions" "$WORK/bad-keda.yaml" keda.maxReplicaCount topology.partitions
  expect_refused "grace period not above the drain timeout" "$WORK/bad-grace.yaml" terminationGracePeriodSeconds drain_timeout
  expect_refused "a PodDisruptionBudget that allows no eviction" "$WORK/bad-pdb.yaml" maxUnavailable
  expect_refused "grace period above the drain but not the whole shutdown" "$WORK/bad-grace-revoke.yaml" \
    terminationGracePeriodSeconds "flush on revoke" "75s in all"
  expect_refused "memory limit below cache + producer queue + 256Mi" "$WORK/bad-memory-queue.yaml" \
    resources.limits.memory queue.buffering.max.kbytes 576Mi
  expect_refused "a password in a ConfigMap" "$WORK/bad-password.yaml" config.kafka.consumer.sasl.password configAsSecret
  expect_refused "SASL without a password" "$WORK/bad-sasl.yaml" kafka.security.sasl.existingSecret
  expect_refused "memory limit below the block cache" "$WORK/bad-memory.yaml" resources.limits.memory block_cache_bytes
  expect_refused "a sigmaRules file not named .yml or .yaml" "$WORK/bad-sigma-name.yaml" sigmaRules rules.txt
  expect_check_refused "a Sigma rule file with a YAML error" "$WORK/bad-sigma-rule.yaml" "broken_rule.yml:" "YAML"

  if ! countersign_binary >/dev/null; then
    log "note: no countersign binary with 'rules check --sigma' (build/release/processor/countersign or COUNTERSIGN_BIN): rendered configs and Sigma rules were not checked by countersign"
  fi
  if ((FAILURES > 0)); then
    die "$FAILURES chart check(s) failed"
  fi
  log "all chart checks passed"
}

main() {
  case "${1:-}" in
    "") ensure_helm; ensure_chartcheck; ensure_keda_crds; run_checks ;;
    --install-only) ensure_helm; ensure_chartcheck; ensure_keda_crds; printf '%s\n' "$HELM" ;;
    -h | --help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

main "$@"
