{{/*
Names, labels and small computations shared by the templates.
*/}}

{{/* The chart name, or nameOverride. */}}
{{- define "drover.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The resource name prefix: fullnameOverride, else release-chart (or the
     release name when it already holds the chart name). 63 chars max. */}}
{{- define "drover.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* chart-version, as helm.sh/chart wants it. */}}
{{- define "drover.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels of every resource: the app.kubernetes.io set plus commonLabels. */}}
{{- define "drover.labels" -}}
helm.sh/chart: {{ include "drover.chart" . }}
{{ include "drover.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: drover
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* The labels that select the release's pods (stable across upgrades). */}}
{{- define "drover.selectorLabels" -}}
app.kubernetes.io/name: {{ include "drover.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Labels of one component: dict "ctx" $ "component" "worker". */}}
{{- define "drover.componentLabels" -}}
{{ include "drover.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Selector of one component's pods: dict "ctx" $ "component" "worker". */}}
{{- define "drover.componentSelector" -}}
{{ include "drover.selectorLabels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* metadata.annotations from commonAnnotations (a newline and the lines
     at indent 2), or nothing. */}}
{{- define "drover.annotations" -}}
{{- with .Values.commonAnnotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
{{- end }}
{{- end -}}

{{/* The ServiceAccount the pods run as. */}}
{{- define "drover.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "drover.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* registry/repository:tag or @digest. */}}
{{- define "drover.image" -}}
{{- $repo := .Values.image.repository -}}
{{- if .Values.image.registry -}}
{{- $repo = printf "%s/%s" .Values.image.registry $repo -}}
{{- end -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" $repo .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repo (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/*
The drover.yaml the pods read: .Values.config with the worker's HTTP
server set from worker.httpPort (every pod needs it on 0.0.0.0 for the
kubelet's probes and Prometheus).
*/}}
{{- define "drover.config" -}}
{{- $cfg := deepCopy .Values.config -}}
{{- $worker := default dict (get $cfg "worker") -}}
{{- $_ := set $worker "http_host" "0.0.0.0" -}}
{{- $_ := set $worker "http_port" (int .Values.worker.httpPort) -}}
{{- $_ := set $cfg "worker" $worker -}}
{{- $coord := default dict (get $cfg "coordinator") -}}
{{- $_ := set $coord "http_host" "0.0.0.0" -}}
{{- $_ := set $coord "http_port" (int .Values.coordinator.httpPort) -}}
{{- if .Values.coordinator.archive.enabled -}}
{{- $_ := set $coord "archive_dir" .Values.coordinator.archive.mountPath -}}
{{- end -}}
{{- $_ := set $cfg "coordinator" $coord -}}
{{- if .Values.coordinator.apiPort -}}
{{- $api := default dict (get $cfg "api") -}}
{{- $_ := set $api "host" "0.0.0.0" -}}
{{- $_ := set $api "port" (int .Values.coordinator.apiPort) -}}
{{- if .Values.coordinator.console -}}
{{- $_ := set $api "console_dir" "/usr/share/drover/console" -}}
{{- end -}}
{{- $_ := set $cfg "api" $api -}}
{{- end -}}
{{- toYaml $cfg -}}
{{- end -}}

{{/* config.worker.group, or drover's default. */}}
{{- define "drover.workerGroup" -}}
{{- $w := default dict .Values.config.worker -}}
{{- default "drover-workers" (get $w "group") -}}
{{- end -}}

{{/* config.kafka.topic_prefix, or drover's default. */}}
{{- define "drover.topicPrefix" -}}
{{- $k := default dict .Values.config.kafka -}}
{{- default "drover." (get $k "topic_prefix") -}}
{{- end -}}

{{/* config.kafka.partitions, or drover's default. */}}
{{- define "drover.partitions" -}}
{{- $k := default dict .Values.config.kafka -}}
{{- int (default 6 (get $k "partitions")) -}}
{{- end -}}

{{/*
Seconds in a drover duration (30s, 1m30s, 250ms, 2h, 1d, or bare ms),
rounded up. Used to derive the workers' grace period from
config.worker.shutdown_grace.
*/}}
{{- define "drover.durationSeconds" -}}
{{- $s := toString . | trim -}}
{{- $ms := 0 -}}
{{- if regexMatch "^[0-9]+$" $s -}}
{{- $ms = int64 $s -}}
{{- else if regexMatch "^([0-9]+(ms|s|m|h|d))+$" $s -}}
{{- range regexFindAll "[0-9]+(ms|s|m|h|d)" $s -1 -}}
{{- $n := int64 (regexFind "^[0-9]+" .) -}}
{{- $u := regexReplaceAll "^[0-9]+" . "" -}}
{{- $mult := get (dict "ms" 1 "s" 1000 "m" 60000 "h" 3600000 "d" 86400000) $u -}}
{{- $ms = add $ms (mul $n $mult) -}}
{{- end -}}
{{- else -}}
{{- fail (printf "config.worker.shutdown_grace: '%s' is not a duration (e.g. 30s, 1m30s)" $s) -}}
{{- end -}}
{{- div (add $ms 999) 1000 -}}
{{- end -}}

{{/* The workers' terminationGracePeriodSeconds: shutdown_grace + extra. */}}
{{- define "drover.workerGraceSeconds" -}}
{{- $w := default dict .Values.config.worker -}}
{{- $grace := include "drover.durationSeconds" (default "30s" (get $w "shutdown_grace")) | int -}}
{{- add $grace .Values.worker.preStopSleepSeconds .Values.worker.terminationGraceExtraSeconds -}}
{{- end -}}

{{/* The env every drover container gets: DROVER_CONFIG and the secrets. */}}
{{- define "drover.env" -}}
- name: DROVER_CONFIG
  value: /etc/drover/drover.yaml
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
{{- with .Values.secrets.redisPassword }}
{{- if .existingSecret }}
- name: DROVER_REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .existingSecret }}
      key: {{ .key }}
{{- end }}
{{- end }}
{{- with .Values.secrets.kafkaSasl }}
{{- if .existingSecret }}
- name: DROVER_KAFKA_PROPERTY_SASL_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ .existingSecret }}
      key: {{ .usernameKey }}
- name: DROVER_KAFKA_PROPERTY_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .existingSecret }}
      key: {{ .passwordKey }}
{{- end }}
{{- end }}
{{- with .Values.secrets.metricsToken }}
{{- if .existingSecret }}
{{- range $var := list "DROVER_WORKER_METRICS_TOKEN" "DROVER_COORDINATOR_METRICS_TOKEN" }}
- name: {{ $var }}
  valueFrom:
    secretKeyRef:
      name: {{ $.Values.secrets.metricsToken.existingSecret }}
      key: {{ $.Values.secrets.metricsToken.key }}
{{- end }}
{{- end }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* The config and /tmp volumes: dict "ctx" $ "configMap" NAME. */}}
{{- define "drover.volumes" -}}
- name: config
  configMap:
    name: {{ .configMap }}
- name: tmp
  emptyDir:
    sizeLimit: {{ .ctx.Values.tmpSizeLimit }}
{{- end -}}

{{- define "drover.volumeMounts" -}}
- name: config
  mountPath: /etc/drover
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- end -}}

{{/* A soft anti-affinity spreading one component over nodes. */}}
{{- define "drover.defaultAffinity" -}}
podAntiAffinity:
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "drover.componentSelector" . | nindent 12 }}
{{- end -}}

{{/* The most worker replicas an autoscaler may run: its maxReplicas, or
     the partition count; above the partition count only when allowed.
     dict "ctx" $ "max" .maxReplicas "allow" bool */}}
{{- define "drover.maxReplicas" -}}
{{- $parts := include "drover.partitions" .ctx | int -}}
{{- if kindIs "invalid" .max -}}
{{- $parts -}}
{{- else if and (gt (int .max) $parts) (not .allow) -}}
{{- fail (printf "autoscaling: maxReplicas %d is more than the %d partitions of each task topic (config.kafka.partitions); the extra workers would idle. Raise config.kafka.partitions or set autoscaling.keda.allowMoreReplicasThanPartitions" (int .max) $parts) -}}
{{- else -}}
{{- int .max -}}
{{- end -}}
{{- end -}}

{{/* config.kafka.brokers, or drover's default. */}}
{{- define "drover.brokers" -}}
{{- $k := default dict .Values.config.kafka -}}
{{- default "127.0.0.1:9092" (get $k "brokers") -}}
{{- end -}}

{{/* The claim of the DLQ archive: the existing one, or the chart's. */}}
{{- define "drover.archiveClaim" -}}
{{- default (printf "%s-dlq-archive" (include "drover.fullname" .)) .Values.coordinator.archive.existingClaim -}}
{{- end -}}

{{/* One alerting rule of the PrometheusRule, at indent 8: dict "ctx" $,
     "alert" NAME, "cfg" its values (for, severity), "expr", "summary" and
     "description" (Prometheus templates, passed through as they are). */}}
{{- define "drover.alertRule" -}}
{{- $v := .ctx.Values.prometheusRule }}
        - alert: {{ .alert }}
          expr: {{ .expr | quote }}
          for: {{ .cfg.for }}
          labels:
            severity: {{ .cfg.severity }}
            {{- with $v.alertLabels }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          annotations:
            summary: {{ .summary | quote }}
            description: {{ .description | quote }}
            {{- with $v.runbookUrl }}
            runbook_url: {{ printf "%s#%s" . (lower $.alert) | quote }}
            {{- end }}
{{- end -}}

{{/*
A NetworkPolicy ingress rule's `from`: (list namespaceLabels podLabels);
nothing (any source) when both are empty.
*/}}
{{- define "drover.networkPolicyFrom" }}
{{- $ns := index . 0 }}
{{- $pods := index . 1 }}
{{- if or $ns $pods }}
      from:
        - {{- with $ns }}
          namespaceSelector:
            matchLabels:
              {{- toYaml . | nindent 14 }}
          {{- end }}
          {{- with $pods }}
          podSelector:
            matchLabels:
              {{- toYaml . | nindent 14 }}
          {{- end }}
{{- end }}
{{- end }}
