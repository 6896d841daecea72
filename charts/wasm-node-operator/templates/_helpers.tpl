{{/* Names are truncated to 63 characters: the DNS label limit of many fields. */}}
{{- define "wasm-node-operator.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "wasm-node-operator.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "wasm-node-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "wasm-node-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "wasm-node-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "wasm-node-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "wasm-node-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "wasm-node-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
An image reference from {repository, tag, digest}: repository:tag, or repository:tag@digest
when a digest pins it (the runtime pulls by digest; the tag stays for humans).
Call as (include "wasm-node-operator.image" (list .Values.image .Chart.AppVersion)).
*/}}
{{- define "wasm-node-operator.image" -}}
{{- $image := index . 0 -}}
{{- $ref := printf "%s:%s" $image.repository (default (index . 1) $image.tag) -}}
{{- if $image.digest -}}{{- $ref = printf "%s@%s" $ref $image.digest -}}{{- end -}}
{{- $ref -}}
{{- end -}}

{{/*
The operator's config file: .Values.config plus what the chart owns (the release namespace,
the installer image). Field names are those of src/operator/config.ts.
*/}}
{{- define "wasm-node-operator.config" -}}
{{- $config := deepCopy .Values.config -}}
{{- $_ := set $config "namespace" .Release.Namespace -}}
{{- $_ := set $config.installer "image" (include "wasm-node-operator.image" (list .Values.installerImage .Chart.AppVersion)) -}}
{{- toYaml $config -}}
{{- end -}}

{{/*
A rule JSON Schema cannot express clearly; the failure says what to change and why.
*/}}
{{- define "wasm-node-operator.validate" -}}
{{- if and (gt (int .Values.replicas) 1) (not .Values.config.leaderElection.enabled) -}}
{{- fail "replicas > 1 needs config.leaderElection.enabled=true: without a lease every replica would start installer Jobs and restart containerd on the same nodes" -}}
{{- end -}}
{{- end -}}
