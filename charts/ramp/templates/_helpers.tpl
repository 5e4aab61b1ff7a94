{{/* Object names: upstream's argo-rollouts unless fullnameOverride says otherwise. */}}
{{- define "ramp.fullname" -}}
{{- default "argo-rollouts" .Values.fullnameOverride | trunc 52 | trimSuffix "-" -}}
{{- end -}}

{{- define "ramp.dashboardName" -}}
{{- printf "%s-dashboard" (include "ramp.fullname" .) -}}
{{- end -}}

{{- define "ramp.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "ramp.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "ramp.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "ramp.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: ramp
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{- define "ramp.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ramp.fullname" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "ramp.dashboardSelectorLabels" -}}
app.kubernetes.io/name: {{ include "ramp.dashboardName" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "ramp.dashboardTokenSecret" -}}
{{- default (include "ramp.dashboardName" .) .Values.dashboard.token.existingSecret -}}
{{- end -}}
