{{/* The chart's name. */}}
{{- define "meterplane.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The prefix of every resource's name: <release>-meterplane, or the release's name when it says meterplane already. */}}
{{- define "meterplane.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The services, in the order they depend on each other. */}}
{{- define "meterplane.services" -}}catalog subscription metering quota invoice{{- end -}}

{{/* Every component: the services and the gateway. */}}
{{- define "meterplane.components" -}}{{ include "meterplane.services" . }} gateway{{- end -}}

{{/* The standard labels of every resource. */}}
{{- define "meterplane.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "meterplane.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: meterplane
{{- end -}}

{{/* The labels that select the release's pods. */}}
{{- define "meterplane.selectorLabels" -}}
app.kubernetes.io/name: {{ include "meterplane.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* A component's resource name: (dict "root" $ "name" "catalog"). */}}
{{- define "meterplane.componentName" -}}
{{- printf "%s-%s" (include "meterplane.fullname" .root) .name -}}
{{- end -}}

{{/* A component's image: (dict "root" $ "name" "catalog"). */}}
{{- define "meterplane.image" -}}
{{- printf "%s/%s:%s" (.root.Values.image.registry | trimSuffix "/") .name (.root.Values.image.tag | default .root.Chart.AppVersion) -}}
{{- end -}}

{{/* A component's gRPC address, as its peers dial it. */}}
{{- define "meterplane.grpcAddr" -}}
{{- printf "%s.%s.svc:%v" (include "meterplane.componentName" .) .root.Release.Namespace .root.Values.ports.grpc -}}
{{- end -}}

{{/* The Secret of the chart's own keys. */}}
{{- define "meterplane.secretName" -}}
{{- include "meterplane.fullname" . -}}
{{- end -}}

{{/* The Secret and key of DATABASE_URL, REDIS_URL and the API keys: the existing Secrets when named, else the chart's. */}}
{{- define "meterplane.databaseSecret" -}}{{ .Values.database.existingSecret | default (include "meterplane.secretName" .) }}{{- end -}}
{{- define "meterplane.databaseKey" -}}{{ ternary .Values.database.existingSecretKey "DATABASE_URL" (ne .Values.database.existingSecret "") }}{{- end -}}
{{- define "meterplane.redisSecret" -}}{{ .Values.redis.existingSecret | default (include "meterplane.secretName" .) }}{{- end -}}
{{- define "meterplane.redisKey" -}}{{ ternary .Values.redis.existingSecretKey "REDIS_URL" (ne .Values.redis.existingSecret "") }}{{- end -}}
{{- define "meterplane.authSecret" -}}{{ .Values.auth.existingSecret | default (include "meterplane.secretName" .) }}{{- end -}}

{{/* Fail early on values that cannot run. */}}
{{- define "meterplane.validate" -}}
{{- if and (not .Values.database.url) (not .Values.database.existingSecret) -}}
{{- fail "database: set database.url or database.existingSecret (every service needs PostgreSQL)" -}}
{{- end -}}
{{- if and (not .Values.redis.url) (not .Values.redis.existingSecret) -}}
{{- fail "redis: set redis.url or redis.existingSecret (the services' event bus and quota's counters)" -}}
{{- end -}}
{{- if and .Values.redis.url (not (regexMatch "^rediss?(\\+cluster)?://" .Values.redis.url)) -}}
{{- fail "redis.url: want redis://host:port/db, or redis+cluster://host1:port1?addr=host2:port2 for a Redis Cluster" -}}
{{- end -}}
{{- if and .Values.database.url (not (regexMatch "^postgres(ql)?://" .Values.database.url)) -}}
{{- fail "database.url: want postgres://user:password@host:port/database" -}}
{{- end -}}
{{- if and .Values.tls.enabled (not .Values.tls.existingSecret) -}}
{{- fail "tls.enabled: name the kubernetes.io/tls Secret in tls.existingSecret" -}}
{{- end -}}
{{- end -}}

{{/* DATABASE_URL from a Secret: the component's own database.existingSecret, else the release's. (dict "root" $ "c" $componentValues) */}}
{{- define "meterplane.databaseEnv" -}}
{{- $secret := include "meterplane.databaseSecret" .root -}}
{{- $key := include "meterplane.databaseKey" .root -}}
{{- with .c.database }}{{ if .existingSecret }}
{{- $secret = .existingSecret }}{{ $key = .existingSecretKey | default "DATABASE_URL" }}
{{- end }}{{ end -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $key }}
{{- end -}}

{{/* The environment every pod reads from Secrets: (dict "root" $ "c" $componentValues "database" true "redis" true). */}}
{{- define "meterplane.secretEnv" -}}
{{- $root := .root -}}
{{- if .database }}
{{ include "meterplane.databaseEnv" . }}
{{- end }}
{{- if .redis }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "meterplane.redisSecret" $root }}
      key: {{ include "meterplane.redisKey" $root }}
{{- end }}
- name: MP_ADMIN_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "meterplane.authSecret" $root }}
      key: MP_ADMIN_KEY
- name: MP_SERVICE_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "meterplane.authSecret" $root }}
      key: MP_SERVICE_KEY
{{- end -}}
