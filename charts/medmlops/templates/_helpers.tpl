{{/* Chart name, truncated to the 63 characters a label value allows. */}}
{{- define "medmlops.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-scoped name: the release name when it already contains the chart name. */}}
{{- define "medmlops.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "medmlops.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "medmlops.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: medmlops
{{- end -}}

{{- define "medmlops.selectorLabels" -}}
app.kubernetes.io/name: {{ include "medmlops.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end -}}

{{- define "medmlops.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "medmlops.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "medmlops.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "medmlops.sidecarImage" -}}
{{- printf "%s:%s" .Values.sidecar.image.repository (default .Chart.AppVersion .Values.sidecar.image.tag) -}}
{{- end -}}

{{- define "medmlops.monitorSelectorLabels" -}}
app.kubernetes.io/name: {{ include "medmlops.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: monitor
{{- end -}}

{{/* The monitor's in-cluster URL, handed to the operator (--monitor-url) and through it to every sidecar. */}}
{{- define "medmlops.monitorUrl" -}}
{{- printf "http://%s-monitor.%s.svc:%v" (include "medmlops.fullname" .) .Release.Namespace .Values.monitor.port -}}
{{- end -}}

{{/*
The admission allow-list of images (JSON list): admission.allowedImagePrefixes, or the chart's sidecar repository by
tag or digest. One definition for the ValidatingAdmissionPolicy and the operator's re-check, so they never disagree.
*/}}
{{- define "medmlops.admission.images" -}}
{{- toJson (.Values.admission.allowedImagePrefixes | default (list (printf "%s:" .Values.sidecar.image.repository) (printf "%s@sha256:" .Values.sidecar.image.repository))) -}}
{{- end }}

{{/* A comma-separated allow-list for the operator's environment (an item with a comma or space is refused). */}}
{{- define "medmlops.admission.csv" -}}
{{- range . }}{{ if regexMatch "[,\\s]" . }}{{ fail (printf "admission allow-list item %q must not contain a comma or space" .) }}{{ end }}{{ end -}}
{{- join "," . -}}
{{- end }}
