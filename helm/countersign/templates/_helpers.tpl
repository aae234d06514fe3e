{{/*
Names and labels.
*/}}
{{- define "countersign.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "countersign.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "countersign.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "countersign.selectorLabels" -}}
app.kubernetes.io/name: {{ include "countersign.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "countersign.labels" -}}
helm.sh/chart: {{ include "countersign.chart" . }}
{{ include "countersign.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: countersign
{{- end -}}

{{- define "countersign.testSelectorLabels" -}}
app.kubernetes.io/name: {{ include "countersign.name" . }}-test
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "countersign.testLabels" -}}
helm.sh/chart: {{ include "countersign.chart" . }}
{{ include "countersign.testSelectorLabels" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: test
{{- end -}}

{{- define "countersign.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "countersign.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "countersign.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{/*
Fixed paths inside the pod (the image's layout, see the Dockerfile).
*/}}
{{- define "countersign.stateDir" -}}/var/lib/countersign{{- end -}}
{{- define "countersign.configDir" -}}/etc/countersign{{- end -}}
{{- define "countersign.contentDir" -}}/etc/countersign/content{{- end -}}
{{- define "countersign.tlsDir" -}}/etc/countersign/kafka-tls{{- end -}}
{{- define "countersign.sigmaDir" -}}/etc/countersign/sigma{{- end -}}

{{/*
Sigma rule files from the release (sigmaRules) or from an existing ConfigMap
(sigmaRulesConfigMap), mounted as a directory at countersign.sigmaDir: never with subPath,
whose files the kubelet does not update, so that edited rules reach the running pods and
countersign's sigma.reload_interval picks them up.
*/}}
{{- define "countersign.mountsSigmaRules" -}}
{{- if or .Values.sigmaRules .Values.sigmaRulesConfigMap -}}true{{- end -}}
{{- end -}}

{{- define "countersign.sigmaRulesConfigMapName" -}}
{{- .Values.sigmaRulesConfigMap | default (printf "%s-sigma-rules" (include "countersign.fullname" .)) -}}
{{- end -}}

{{/*
sigma.rules_dir for the mounted rules: the ..data folder of the ConfigMap volume, not the
mount point itself. The kubelet writes a ConfigMap volume as a hidden ..<timestamp>
folder holding the files, a ..data symlink to it and one symlink per key into ..data;
countersign reads rule folders recursively, so at the mount point it would load every
rule twice (once through the hidden folder) and drop the second copy as a duplicate id
with a warning, and the files it keeps would change path at every update. Under ..data
the paths stay put and an update swaps all files at once.
*/}}
{{- define "countersign.sigmaRulesDir" -}}{{ include "countersign.sigmaDir" . }}/..data{{- end -}}

{{/*
The config file is a Secret when asked for (configAsSecret).
*/}}
{{- define "countersign.configIsSecret" -}}
{{- if .Values.configAsSecret -}}true{{- end -}}
{{- end -}}

{{/*
Name of the object holding countersign.yaml: the user's Secret or the chart's own.
*/}}
{{- define "countersign.configName" -}}
{{- if .Values.existingConfigSecret -}}
{{- .Values.existingConfigSecret -}}
{{- else -}}
{{- printf "%s-config" (include "countersign.fullname" .) -}}
{{- end -}}
{{- end -}}

{{/*
Values of `config` the chart reads itself, with countersign's defaults.
*/}}
{{- define "countersign.partitions" -}}
{{- $t := (.Values.config | default dict).topology | default dict -}}
{{- hasKey $t "partitions" | ternary $t.partitions 6 | int64 -}}
{{- end -}}

{{- define "countersign.drainTimeout" -}}
{{- $p := (.Values.config | default dict).processing | default dict -}}
{{- hasKey $p "drain_timeout" | ternary $p.drain_timeout "30s" -}}
{{- end -}}

{{/*
The producer's local queue bound in bytes: config.kafka.producer's
queue.buffering.max.kbytes, or countersign's default (131072 KiB = 128 MiB).
*/}}
{{- define "countersign.producerQueueBytes" -}}
{{- $p := ((.Values.config | default dict).kafka | default dict).producer | default dict -}}
{{- $kb := hasKey $p "queue.buffering.max.kbytes" | ternary (get $p "queue.buffering.max.kbytes") 131072 -}}
{{- mul (int64 $kb) 1024 -}}
{{- end -}}

{{- define "countersign.blockCacheBytes" -}}
{{- $s := (.Values.config | default dict).state | default dict -}}
{{- hasKey $s "block_cache_bytes" | ternary $s.block_cache_bytes 67108864 | int64 -}}
{{- end -}}

{{- define "countersign.topicPrefix" -}}
{{- $cfg := .Values.config | default dict -}}
{{- $t := $cfg.topology | default dict -}}
{{- $k := $cfg.kafka | default dict -}}
{{- $t.topic_prefix | default $k.group_id | default "countersign" -}}
{{- end -}}

{{/*
A countersign duration (500ms, 30s, 5m, 24h, 7d, or a bare number of milliseconds) in
milliseconds. Fails on anything else.
*/}}
{{- define "countersign.durationMs" -}}
{{- $text := toString . -}}
{{- if not (regexMatch "^[0-9]+(ms|s|m|h|d)?$" $text) -}}
{{- fail (printf "config.processing.drain_timeout: %q is not a duration such as 500ms, 30s, 5m, 24h or 7d" $text) -}}
{{- end -}}
{{- $n := regexFind "^[0-9]+" $text | int64 -}}
{{- $unit := trimPrefix (regexFind "^[0-9]+" $text) $text -}}
{{- $factor := dict "" 1 "ms" 1 "s" 1000 "m" 60000 "h" 3600000 "d" 86400000 -}}
{{- mul $n (get $factor $unit) -}}
{{- end -}}

{{/*
A Kubernetes memory quantity (512Mi, 1Gi, 1G, 1073741824, 1.5Gi) in bytes, rounded down.
*/}}
{{- define "countersign.memoryBytes" -}}
{{- $text := toString . -}}
{{- if not (regexMatch "^[0-9]+(\\.[0-9]+)?([EPTGMK]i|[kKMGTPE])?$" $text) -}}
{{- fail (printf "resources.limits.memory: %q is not a memory quantity such as 512Mi or 2Gi" $text) -}}
{{- end -}}
{{- $num := regexFind "^[0-9]+(\\.[0-9]+)?" $text -}}
{{- $suffix := trimPrefix $num $text -}}
{{- $factors := dict "" 1 "k" 1000 "K" 1000 "M" 1000000 "G" 1000000000 "T" 1000000000000 "P" 1000000000000000 "E" 1000000000000000000 "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776 "Pi" 1125899906842624 "Ei" 1152921504606846976 -}}
{{- mulf (float64 $num) (get $factors $suffix) | int64 -}}
{{- end -}}

{{- define "countersign.saslDir" -}}/etc/countersign/kafka-sasl{{- end -}}

{{/*
Name of the Secret holding the SASL password: the user's, or the chart's own made from
kafka.security.sasl.password.
*/}}
{{- define "countersign.saslSecretName" -}}
{{- .Values.kafka.security.sasl.existingSecret | default (printf "%s-kafka-sasl" (include "countersign.fullname" .)) -}}
{{- end -}}

{{- define "countersign.saslPasswordKey" -}}
{{- if .Values.kafka.security.sasl.existingSecret -}}
{{- .Values.kafka.security.sasl.passwordKey -}}
{{- else -}}
password
{{- end -}}
{{- end -}}

{{- define "countersign.isSasl" -}}
{{- if hasPrefix "SASL_" .Values.kafka.security.protocol -}}true{{- end -}}
{{- end -}}

{{- define "countersign.isTls" -}}
{{- if hasSuffix "SSL" .Values.kafka.security.protocol -}}true{{- end -}}
{{- end -}}

{{- define "countersign.mountsTls" -}}
{{- if and (include "countersign.isTls" .) .Values.kafka.security.tls.existingSecret -}}true{{- end -}}
{{- end -}}

{{/*
countersign's kafka.security keys for the kafka.security values, as YAML of a dict (empty
for PLAINTEXT). Secrets are files or environment variables, never values here.
*/}}
{{- define "countersign.securityConfig" -}}
{{- $sec := .Values.kafka.security -}}
{{- $out := dict -}}
{{- if ne $sec.protocol "PLAINTEXT" -}}
{{- $_ := set $out "protocol" $sec.protocol -}}
{{- end -}}
{{- if include "countersign.isSasl" . -}}
{{- $_ := set $out "sasl_mechanism" $sec.sasl.mechanism -}}
{{- $_ := set $out "sasl_username" $sec.sasl.username -}}
{{- $_ := set $out "sasl_password_file" (printf "%s/%s" (include "countersign.saslDir" .) (include "countersign.saslPasswordKey" .)) -}}
{{- end -}}
{{- if include "countersign.isTls" . -}}
{{- $_ := set $out "ssl_verify_hostname" $sec.tls.verifyHostname -}}
{{- if $sec.tls.existingSecret -}}
{{- $dir := include "countersign.tlsDir" . -}}
{{- if $sec.tls.caKey -}}
{{- $_ := set $out "ssl_ca_location" (printf "%s/%s" $dir $sec.tls.caKey) -}}
{{- end -}}
{{- if $sec.tls.certKey -}}
{{- $_ := set $out "ssl_certificate_location" (printf "%s/%s" $dir $sec.tls.certKey) -}}
{{- $_ := set $out "ssl_key_location" (printf "%s/%s" $dir $sec.tls.keyKey) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if $out -}}
{{- toYaml $out -}}
{{- end -}}
{{- end -}}

{{/*
The config file: `config` with the chart's own keys merged in.
*/}}
{{- define "countersign.configDocument" -}}
{{- $cfg := deepCopy (.Values.config | default dict) -}}
{{- $security := include "countersign.securityConfig" . | fromYaml -}}
{{- if $security -}}
{{- $kafka := deepCopy ($cfg.kafka | default dict) -}}
{{- $_ := set $kafka "security" $security -}}
{{- $_ := set $cfg "kafka" $kafka -}}
{{- end -}}
{{- $_ := set $cfg "state" (mergeOverwrite (deepCopy ($cfg.state | default dict)) (dict "dir" (include "countersign.stateDir" .))) -}}
{{- $_ := set $cfg "metrics" (dict "listen" (printf "0.0.0.0:%d" (int64 .Values.metrics.port))) -}}
{{- if .Values.content -}}
{{- $_ := set $cfg "detectors" (mergeOverwrite (deepCopy ($cfg.detectors | default dict)) (dict "content_dir" (include "countersign.contentDir" .))) -}}
{{- end -}}
{{- if include "countersign.mountsSigmaRules" . -}}
{{- $_ := set $cfg "sigma" (mergeOverwrite (deepCopy ($cfg.sigma | default dict)) (dict "rules_dir" (include "countersign.sigmaRulesDir" .))) -}}
{{- end -}}
{{- toYaml $cfg -}}
{{- end -}}

{{/*
Render-time checks of what the schema cannot express. Each failure names the values
involved and what to do.
*/}}
{{- define "countersign.validate" -}}
{{- $partitions := include "countersign.partitions" . | int64 -}}
{{- if .Values.keda.enabled -}}
{{- if gt (int64 .Values.keda.maxReplicaCount) $partitions -}}
{{- fail (printf "keda.maxReplicaCount (%d) is above config.topology.partitions (%d): instances beyond the partition count of the internal topics get no hash or signer work. Lower keda.maxReplicaCount or raise config.topology.partitions (before the internal topics exist)." (int64 .Values.keda.maxReplicaCount) $partitions) -}}
{{- end -}}
{{- if gt (int64 .Values.keda.minReplicaCount) (int64 .Values.keda.maxReplicaCount) -}}
{{- fail (printf "keda.minReplicaCount (%d) is above keda.maxReplicaCount (%d)" (int64 .Values.keda.minReplicaCount) (int64 .Values.keda.maxReplicaCount)) -}}
{{- end -}}
{{- else if gt (int64 .Values.replicaCount) $partitions -}}
{{- fail (printf "replicaCount (%d) is above config.topology.partitions (%d): instances beyond the partition count of the internal topics get no hash or signer work. Lower replicaCount or raise config.topology.partitions (before the internal topics exist)." (int64 .Values.replicaCount) $partitions) -}}
{{- end -}}
{{- $drainMs := include "countersign.durationMs" (include "countersign.drainTimeout" .) | int64 -}}
{{- /* Shutdown is the drain (drain_timeout), then the flush on revoke (up to
       min(drain_timeout, 30s)), the commit, the producer's last flush (5s) and closing
       the readers: 15s covers the last three. */ -}}
{{- $graceMs := mul (int64 .Values.terminationGracePeriodSeconds) 1000 -}}
{{- $shutdownMs := add $drainMs (min $drainMs 30000) 15000 -}}
{{- if le $graceMs $shutdownMs -}}
{{- fail (printf "terminationGracePeriodSeconds (%ds) must be longer than countersign's shutdown: config.processing.drain_timeout (%s), then a flush on revoke (up to %ds), the commit and the last producer flush (15s): %ds in all. Kubernetes would kill countersign before it has committed what it processed. Raise terminationGracePeriodSeconds or lower the drain timeout." (int64 .Values.terminationGracePeriodSeconds) (include "countersign.drainTimeout" .) (div (min $drainMs 30000) 1000) (div $shutdownMs 1000)) -}}
{{- end -}}
{{- $limits := (.Values.resources | default dict).limits | default dict -}}
{{- if $limits.memory -}}
{{- $limit := include "countersign.memoryBytes" $limits.memory | int64 -}}
{{- $cache := include "countersign.blockCacheBytes" . | int64 -}}
{{- $queue := include "countersign.producerQueueBytes" . | int64 -}}
{{- /* 256Mi: the peak measured above the block cache and the producer queue (chaos run,
       2,400 Sigma rules, consumer prefetch, caches: 168-317 MiB in all with a 64 MiB
       cache), rounded up. */ -}}
{{- $floor := add $cache $queue 268435456 -}}
{{- if lt $limit $floor -}}
{{- fail (printf "resources.limits.memory (%s) is below countersign's memory floor of %dMi: config.state.block_cache_bytes (%dMi, RocksDB's bound including its write buffers) + the producer queue (config.kafka.producer queue.buffering.max.kbytes, %dMi) + 256Mi for librdkafka's consumer buffers, the Sigma rule set and countersign's caches; see docs/deploy.md." (toString $limits.memory) (div $floor 1048576) (div $cache 1048576) (div $queue 1048576)) -}}
{{- end -}}
{{- end -}}
{{- $sec := .Values.kafka.security -}}
{{- $cfg := .Values.config | default dict -}}
{{- if and (ne $sec.protocol "PLAINTEXT") (($cfg.kafka | default dict).security) -}}
{{- fail "config.kafka.security and kafka.security.protocol (not PLAINTEXT) exclude each other: give TLS and SASL settings in kafka.security (the chart mounts the Secrets and writes config.kafka.security), or leave kafka.security.protocol at PLAINTEXT and write config.kafka.security yourself." -}}
{{- end -}}
{{- if include "countersign.isSasl" . -}}
{{- if not $sec.sasl.username -}}
{{- fail (printf "kafka.security.protocol %s needs kafka.security.sasl.username." $sec.protocol) -}}
{{- end -}}
{{- if and $sec.sasl.existingSecret $sec.sasl.password -}}
{{- fail "kafka.security.sasl.existingSecret and kafka.security.sasl.password exclude each other: the password comes from one of them." -}}
{{- end -}}
{{- if not (or $sec.sasl.existingSecret $sec.sasl.password) -}}
{{- fail (printf "kafka.security.protocol %s needs the SASL password: kafka.security.sasl.existingSecret (preferred) or kafka.security.sasl.password." $sec.protocol) -}}
{{- end -}}
{{- end -}}
{{- $tls := $sec.tls -}}
{{- if or $tls.certKey $tls.keyKey -}}
{{- if not (and $tls.certKey $tls.keyKey) -}}
{{- fail "kafka.security.tls.certKey and kafka.security.tls.keyKey go together (mutual TLS needs the client certificate and its key)." -}}
{{- end -}}
{{- end -}}
{{- if and (or $tls.certKey $tls.keyKey $tls.keyPasswordKey) (not $tls.existingSecret) -}}
{{- fail "kafka.security.tls.certKey, keyKey and keyPasswordKey name keys of kafka.security.tls.existingSecret, which is empty." -}}
{{- end -}}
{{- if and (or $tls.existingSecret $tls.certKey) (not (include "countersign.isTls" .)) -}}
{{- fail (printf "kafka.security.tls is set but kafka.security.protocol is %s: use SSL or SASL_SSL." $sec.protocol) -}}
{{- end -}}
{{- if and .Values.content ((($cfg.detectors | default dict).content_dir)) -}}
{{- fail "content and config.detectors.content_dir exclude each other: the chart mounts `content` at /etc/countersign/content and points content_dir there." -}}
{{- end -}}
{{- if and .Values.sigmaRules .Values.sigmaRulesConfigMap -}}
{{- fail "sigmaRules and sigmaRulesConfigMap exclude each other: the Sigma rule folder is one ConfigMap, the chart's own (sigmaRules) or yours (sigmaRulesConfigMap)." -}}
{{- end -}}
{{- $sigma := $cfg.sigma | default dict -}}
{{- $sigmaRulesFrom := empty .Values.sigmaRules | ternary "sigmaRulesConfigMap" "sigmaRules" -}}
{{- if and (include "countersign.mountsSigmaRules" .) $sigma.rules_dir -}}
{{- fail (printf "%s and config.sigma.rules_dir exclude each other: the chart mounts the rules at %s and points sigma.rules_dir there." $sigmaRulesFrom (include "countersign.sigmaDir" .)) -}}
{{- end -}}
{{- if and (include "countersign.mountsSigmaRules" .) (hasKey $sigma "enabled") (not $sigma.enabled) -}}
{{- fail (printf "%s is given but config.sigma.enabled is false: countersign would not load the rules. Enable Sigma or leave the rules out." $sigmaRulesFrom) -}}
{{- end -}}
{{- if and (not .Values.existingConfigSecret) (not (include "countersign.configIsSecret" .)) -}}
{{- $kafka := $cfg.kafka | default dict -}}
{{- range $side := list "consumer" "producer" "security" -}}
{{- range $key, $value := (get $kafka $side | default dict) -}}
{{- if and $value (regexMatch "(?i)(password|secret)" $key) (ne $key "sasl_password_file") -}}
{{- fail (printf "config.kafka.%s.%s would be rendered into a ConfigMap. Use kafka.security (the password comes from a Secret mounted as a file), set configAsSecret: true to render the config file into a Secret, or give a complete file with existingConfigSecret." $side $key) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- end -}}
