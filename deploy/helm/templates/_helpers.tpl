{{/*
Chart name, truncated to the 63-character DNS label limit.
*/}}
{{- define "sluice.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Fully qualified app name. StatefulSet pods append "-<ordinal>" and the controller adds a
revision label of its own, so stay well under 63 characters.
*/}}
{{- define "sluice.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "sluice.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "sluice.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sluice.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "sluice.labels" -}}
helm.sh/chart: {{ include "sluice.chart" . }}
{{ include "sluice.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: stream-processor
{{- end }}

{{- define "sluice.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "sluice.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "sluice.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion | toString) }}
{{- end }}

{{/*
The HTTP server's port (/metrics, /healthz, /readyz, /events): config.http.port, else sluice's
default, 8080. The probes, the Service and the ServiceMonitor all use it.
*/}}
{{- define "sluice.httpPort" -}}
{{- $http := .Values.config.http | default dict }}
{{- if hasKey $http "port" }}{{ $http.port | int }}{{ else }}8080{{ end }}
{{- end }}

{{/* Where the chart mounts the Secrets of .Values.secrets, one folder each (beside, not inside, the
ConfigMap volume at /etc/sluice: a mount point inside a read-only volume may not be creatable). */}}
{{- define "sluice.secretsDir" -}}
/var/run/secrets/sluice
{{- end }}

{{/* The variable the chart puts each pod's own URL in, for config.http.advertisedUrl. */}}
{{- define "sluice.advertisedUrlVar" -}}
SLUICE_ADVERTISED_URL
{{- end }}

{{/*
The pod's name, and the URL other pods send it queries at (GET /aggregates redirects to the
partition's owner): the pod's stable DNS name under the headless Service (service.yaml), which
resolves from the pod's start on (publishNotReadyAddresses), in any namespace of the cluster.
POD_NAME comes first: a variable can use only those defined before it.
*/}}
{{- define "sluice.podEnv" -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: {{ include "sluice.advertisedUrlVar" . }}
  value: "http://$(POD_NAME).{{ include "sluice.fullname" . }}-headless.{{ .Release.Namespace }}.svc:{{ include "sluice.httpPort" . }}"
{{- end }}

{{/*
The pipeline config as rendered into the ConfigMap: .Values.config plus what only the chart
knows: that the HTTP server must listen beyond the pod's loopback, the URL other pods reach it
at, and where the Secrets are mounted.
*/}}
{{- define "sluice.config" -}}
{{- $dir := include "sluice.secretsDir" . }}
{{- $config := deepCopy .Values.config }}
{{- $http := $config.http | default dict }}
{{- $_ := set $http "host" ($http.host | default "0.0.0.0") }}
{{- $_ := set $http "port" (include "sluice.httpPort" . | int) }}
{{- if not (hasKey $http "advertisedUrl") }}
{{- $_ := set $http "advertisedUrl" (dict "env" (include "sluice.advertisedUrlVar" .)) }}
{{- end }}
{{- with .Values.secrets.httpToken }}
{{- if .secretName }}
{{- $_ := set $http "authToken" (dict "file" (printf "%s/http-token/%s" $dir .key)) }}
{{- end }}
{{- end }}
{{- $_ := set $config "http" $http }}
{{- $kafka := $config.kafka | default dict }}
{{- with .Values.secrets.kafkaTls }}
{{- if .secretName }}
{{- $ssl := $kafka.ssl | default dict }}
{{- if .caKey }}{{ $_ := set $ssl "ca" (printf "%s/kafka-tls/%s" $dir .caKey) }}{{ end }}
{{- if .certKey }}{{ $_ := set $ssl "cert" (printf "%s/kafka-tls/%s" $dir .certKey) }}{{ end }}
{{- if .keyKey }}{{ $_ := set $ssl "key" (printf "%s/kafka-tls/%s" $dir .keyKey) }}{{ end }}
{{- $_ := set $kafka "ssl" $ssl }}
{{- end }}
{{- end }}
{{- with .Values.secrets.kafkaSasl }}
{{- if .secretName }}
{{- $sasl := $kafka.sasl | default dict }}
{{- $_ := set $sasl "passwordFile" (printf "%s/kafka-sasl/%s" $dir .key) }}
{{- $_ := set $kafka "sasl" $sasl }}
{{- end }}
{{- end }}
{{- $_ := set $config "kafka" $kafka }}
{{- toYaml $config }}
{{- end }}

{{/* Where the state volume is mounted; config.application.stateDir must point here. */}}
{{- define "sluice.stateMountPath" -}}
/var/lib/sluice
{{- end }}

{{/*
Render-time checks for settings the pod cannot work without.
*/}}
{{- define "sluice.validate" -}}
{{- $stateDir := (.Values.config.application | default dict).stateDir | default "" }}
{{- $mount := include "sluice.stateMountPath" . }}
{{- if not (or (eq $stateDir $mount) (hasPrefix (printf "%s/" $mount) $stateDir)) }}
{{- fail (printf "config.application.stateDir must be %s (or a directory under it), the state volume's mount path; got %q. Any other path is on the read-only root filesystem." $mount $stateDir) }}
{{- end }}
{{- if eq (include "sluice.httpPort" .) "0" }}
{{- fail "config.http.port must not be 0 in the chart: the probes and the scrapes use the HTTP server" }}
{{- end }}
{{- $http := .Values.config.http | default dict }}
{{- if and .Values.secrets.httpToken.secretName $http.authToken }}
{{- fail "set config.http.authToken or secrets.httpToken.secretName, not both" }}
{{- end }}
{{- $sasl := (.Values.config.kafka | default dict).sasl }}
{{- if and .Values.secrets.kafkaSasl.secretName (not $sasl) }}
{{- fail "secrets.kafkaSasl needs config.kafka.sasl with the mechanism and username" }}
{{- end }}
{{- if and .Values.secrets.kafkaSasl.secretName $sasl ($sasl | default dict).passwordEnv }}
{{- fail "set config.kafka.sasl.passwordEnv or secrets.kafkaSasl.secretName, not both" }}
{{- end }}
{{- end }}

{{/*
OTEL_* variables for sluice's tracing; none while otel.endpoint is empty, so tracing stays off.
*/}}
{{- define "sluice.otelEnv" -}}
{{- with .Values.otel }}
{{- if .endpoint }}
# The SDK's default, spelt out: sluice traces only when an exporter is configured.
- name: OTEL_TRACES_EXPORTER
  value: otlp
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ .endpoint | quote }}
{{- with .protocol }}
- name: OTEL_EXPORTER_OTLP_PROTOCOL
  value: {{ . | quote }}
{{- end }}
- name: OTEL_SERVICE_NAME
  value: {{ .serviceName | default (include "sluice.fullname" $) | quote }}
# Which pod a span came from (POD_NAME: sluice.podEnv, defined first).
- name: OTEL_RESOURCE_ATTRIBUTES
  value: "k8s.pod.name=$(POD_NAME),k8s.namespace.name={{ $.Release.Namespace }},k8s.statefulset.name={{ include "sluice.fullname" $ }}"
{{- with .sampler }}
- name: OTEL_TRACES_SAMPLER
  value: {{ . | quote }}
{{- end }}
{{- with .samplerArg }}
- name: OTEL_TRACES_SAMPLER_ARG
  value: {{ . | quote }}
{{- end }}
{{- if .headersSecret.name }}
- name: OTEL_EXPORTER_OTLP_HEADERS
  valueFrom:
    secretKeyRef:
      name: {{ .headersSecret.name }}
      key: {{ .headersSecret.key }}
{{- end }}
{{- range $name, $value := .extraEnv }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
