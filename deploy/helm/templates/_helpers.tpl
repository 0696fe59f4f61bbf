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
The HTTP port (/metrics and the probes) from the pipeline config: sluice's default 8080 when
unset, "0" when the server is off.
*/}}
{{- define "sluice.metricsPort" -}}
{{- $http := .Values.config.http | default dict }}
{{- if hasKey $http "port" }}{{ $http.port | int }}{{ else }}8080{{ end }}
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
{{- if and .Values.serviceMonitor.enabled (eq (include "sluice.metricsPort" .) "0") }}
{{- fail "serviceMonitor.enabled needs config.http.port > 0" }}
{{- end }}
{{- end }}
