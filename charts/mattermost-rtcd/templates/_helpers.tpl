{{/*
Names and labels. They match the official chart 1.4.1 so that `helm upgrade`
from it keeps the workload (its selector is immutable) and so that the
anti-affinity users wrote (`app.kubernetes.io/name: mattermost-rtcd`) still
selects the pods.
*/}}
{{- define "mattermost-rtcd.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release name alone when it already contains the chart name. */}}
{{- define "mattermost-rtcd.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "mattermost-rtcd.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "mattermost-rtcd.selectorLabels" -}}
app.kubernetes.io/name: {{ include "mattermost-rtcd.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "mattermost-rtcd.labels" -}}
helm.sh/chart: {{ include "mattermost-rtcd.chart" . }}
{{ include "mattermost-rtcd.selectorLabels" . }}
app.kubernetes.io/version: {{ regexReplaceAll "[^-A-Za-z0-9_.]" (.Values.image.tag | default .Chart.AppVersion | toString) "_" | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: mattermost-calls
{{- end }}

{{- define "mattermost-rtcd.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "mattermost-rtcd.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "mattermost-rtcd.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion | toString) }}
{{- end }}

{{/*
Networking mode, one of: hostNetwork, clusterIP, nodePort, loadBalancer,
loadBalancerPerReplica. It decides where clients send media and which
Services exist.
*/}}
{{- define "mattermost-rtcd.mode" -}}
{{- $type := .Values.service.type | default "ClusterIP" }}
{{- if eq $type "NodePort" }}nodePort
{{- else if eq $type "LoadBalancer" }}
{{- if (.Values.service.perReplicaLoadBalancer | default dict).enabled }}loadBalancerPerReplica{{ else }}loadBalancer{{ end }}
{{- else if .Values.networking.hostNetwork }}hostNetwork
{{- else }}clusterIP
{{- end }}
{{- end }}

{{/* Media workers of our rtcd (configuration.mediaWorkers); worker i listens on the RTC port + i. */}}
{{- define "mattermost-rtcd.mediaWorkers" -}}
{{- $n := .Values.configuration.mediaWorkers }}
{{- if kindIs "invalid" $n }}1{{ else }}{{ int $n }}{{ end }}
{{- end }}

{{/*
rtcd's base RTC port in the pod. rtcd advertises one port override for all
its workers, so several workers behind node ports listen on their node
ports (nodePorts.rtc + i, free in the pod's network namespace) and advertise
those; one worker keeps service.RTCport and the override, as before.
*/}}
{{- define "mattermost-rtcd.rtcListenPort" -}}
{{- if and (eq (include "mattermost-rtcd.mode" .) "nodePort") (gt (int (include "mattermost-rtcd.mediaWorkers" .)) 1) (.Values.service.nodePorts | default dict).rtc }}
{{- int .Values.service.nodePorts.rtc }}
{{- else }}
{{- int .Values.service.RTCport }}
{{- end }}
{{- end }}

{{/* The RTC ports of a Service (NodePort, LoadBalancer, per-replica LoadBalancer): one UDP and one TCP per media worker. */}}
{{- define "mattermost-rtcd.rtcServicePorts" -}}
{{- $root := .root }}
{{- $nodePort := .nodePort }}
{{- range $i := until (int (include "mattermost-rtcd.mediaWorkers" $root)) }}
{{- $suffix := ternary "" (printf "-%d" $i) (eq $i 0) }}
{{- range $proto := list "udp" "tcp" }}
- name: rtc-{{ $proto }}{{ $suffix }}
  port: {{ add (int $root.Values.service.RTCport) $i }}
  targetPort: rtc-{{ $proto }}{{ $suffix }}
  protocol: {{ upper $proto }}
  {{- if $nodePort }}
  nodePort: {{ add (int $nodePort) $i }}
  {{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/* The workload kind. Per-replica load balancers need stable pod names. */}}
{{- define "mattermost-rtcd.workloadKind" -}}
{{- if eq .Values.deploymentType "daemonset" }}DaemonSet
{{- else if eq (include "mattermost-rtcd.mode" .) "loadBalancerPerReplica" }}StatefulSet
{{- else }}Deployment
{{- end }}
{{- end }}

{{/* "true" when the main Service is headless (the plugin discovers rtcd hosts by its DNS A records). */}}
{{- define "mattermost-rtcd.mainServiceHeadless" -}}
{{- $mode := include "mattermost-rtcd.mode" . }}
{{- if eq $mode "loadBalancerPerReplica" }}true
{{- else if and (has $mode (list "hostNetwork" "clusterIP")) (eq (toString .Values.service.clusterIP) "None") }}true
{{- end }}
{{- end }}

{{/* The headless Service the Calls plugin should use. */}}
{{- define "mattermost-rtcd.discoveryServiceName" -}}
{{- if include "mattermost-rtcd.mainServiceHeadless" . }}
{{- include "mattermost-rtcd.fullname" . }}
{{- else }}
{{- printf "%s-headless" (include "mattermost-rtcd.fullname" . | trunc 54 | trimSuffix "-") }}
{{- end }}
{{- end }}

{{/*
An environment value as the container sees it. The official chart pasted
values into the manifest unquoted, so users wrote "\"true\"" and
"'[...]'"; a value wrapped in matching quotes is therefore unquoted the way
YAML would, and anything else is taken literally (numbers and booleans as
written, null as empty).
*/}}
{{- define "mattermost-rtcd.envValue" -}}
{{- $v := . }}
{{- if kindIs "invalid" $v }}
{{- else if kindIs "string" $v }}
{{- $quoted := and (ge (len $v) 2) (or (and (hasPrefix "\"" $v) (hasSuffix "\"" $v)) (and (hasPrefix "'" $v) (hasSuffix "'" $v))) }}
{{- if $quoted }}
{{- $parsed := fromYaml (printf "v: %s" $v) }}
{{- if and (hasKey $parsed "v") (kindIs "string" $parsed.v) }}{{ $parsed.v }}{{ else }}{{ $v }}{{ end }}
{{- else }}{{ $v }}
{{- end }}
{{- else }}{{ toJson $v }}
{{- end }}
{{- end }}

{{/*
RTCD_* variables that hold secrets. Set in configuration.environmentVariables
(as the official chart's users do), they go to a Secret the chart makes, and
the pod reads them through secretKeyRef: never as plain values in the pod
spec.
*/}}
{{- define "mattermost-rtcd.secretEnvNames" -}}
{{- toJson (list "RTCD_API_SECURITY_ADMINSECRETKEY" "RTCD_RTC_TURNCONFIG_STATICAUTHSECRET") }}
{{- end }}

{{/* The secret variables set in configuration.environmentVariables, as a JSON map of name to value ("{}" when none). */}}
{{- define "mattermost-rtcd.secretEnv" -}}
{{- $env := .Values.configuration.environmentVariables | default dict }}
{{- $out := dict }}
{{- range $name := include "mattermost-rtcd.secretEnvNames" . | fromJsonArray }}
{{- if and (hasKey $env $name) (not (kindIs "invalid" (get $env $name))) }}
{{- $_ := set $out $name (include "mattermost-rtcd.envValue" (get $env $name)) }}
{{- end }}
{{- end }}
{{- toJson $out }}
{{- end }}

{{- define "mattermost-rtcd.secretEnvName" -}}
{{- printf "%s-env" (include "mattermost-rtcd.fullname" . | trunc 59 | trimSuffix "-") }}
{{- end }}

{{/* The effective value of an RTCD_* variable set in configuration.environmentVariables ("" when unset). */}}
{{- define "mattermost-rtcd.userEnv" -}}
{{- $env := .root.Values.configuration.environmentVariables | default dict }}
{{- if hasKey $env .name }}{{ include "mattermost-rtcd.envValue" (get $env .name) }}{{ end }}
{{- end }}

{{/* "true" when a boolean RTCD_* variable is set to a value Go's strconv.ParseBool reads as true. */}}
{{- define "mattermost-rtcd.userEnvTrue" -}}
{{- if has (include "mattermost-rtcd.userEnv" . | trim | lower) (list "1" "t" "true") }}true{{ end }}
{{- end }}

{{/* True when the user named this variable anywhere (their value wins over the chart's). */}}
{{- define "mattermost-rtcd.userSetsEnv" -}}
{{- $name := .name }}
{{- $found := hasKey (.root.Values.configuration.environmentVariables | default dict) $name }}
{{- range (.root.Values.configuration.extraEnv | default list) }}
{{- if eq .name $name }}{{ $found = true }}{{ end }}
{{- end }}
{{- if $found }}true{{ end }}
{{- end }}

{{/* "true" when rtcd serves its API over TLS. */}}
{{- define "mattermost-rtcd.tls" -}}
{{- $scheme := (.Values.configuration.probes | default dict).scheme | default "auto" }}
{{- if eq $scheme "HTTPS" }}true
{{- else if eq $scheme "auto" }}{{ include "mattermost-rtcd.userEnvTrue" (dict "root" . "name" "RTCD_API_HTTP_TLS_ENABLE") }}
{{- end }}
{{- end }}

{{- define "mattermost-rtcd.apiScheme" -}}
{{- if include "mattermost-rtcd.tls" . }}https{{ else }}http{{ end }}
{{- end }}

{{/*
"true" when the image serves /healthz and /readyz (our rtcd). rtcd v1.2.6
only has /version, which says nothing about draining.
*/}}
{{- define "mattermost-rtcd.drainAware" -}}
{{- $endpoints := (.Values.configuration.probes | default dict).endpoints | default "auto" }}
{{- if eq $endpoints "drainAware" }}true
{{- else if and (eq $endpoints "auto") (regexMatch "(^|/)mattermost-rtcd-mediasoup$" .Values.image.repository) }}true
{{- end }}
{{- end }}

{{/* A probe timing: the value, or the official chart's default when unset (0 stays 0). */}}
{{- define "mattermost-rtcd.probeValue" -}}
{{- $v := get .root.Values.configuration .key }}
{{- if kindIs "invalid" $v }}{{ .default }}{{ else }}{{ int64 $v }}{{ end }}
{{- end }}

{{/*
Pod affinity: the user's, plus one pod per node where media reaches a pod
through its node (NodePort with externalTrafficPolicy Local) and the user's
affinity does not already say so.
*/}}
{{- define "mattermost-rtcd.affinity" -}}
{{- $aff := deepCopy (.Values.affinity | default dict) }}
{{- if and (eq (include "mattermost-rtcd.mode" .) "nodePort") (ne .Values.deploymentType "daemonset") }}
{{- $paa := get $aff "podAntiAffinity" | default dict }}
{{- $required := get $paa "requiredDuringSchedulingIgnoredDuringExecution" | default list }}
{{- $perNode := false }}
{{- range $required }}
{{- if eq (toString .topologyKey) "kubernetes.io/hostname" }}{{ $perNode = true }}{{ end }}
{{- end }}
{{- if not $perNode }}
{{- $term := dict "labelSelector" (dict "matchLabels" (include "mattermost-rtcd.selectorLabels" . | fromYaml)) "topologyKey" "kubernetes.io/hostname" }}
{{- $_ := set $paa "requiredDuringSchedulingIgnoredDuringExecution" (append $required $term) }}
{{- $_ := set $aff "podAntiAffinity" $paa }}
{{- end }}
{{- end }}
{{- if $aff }}{{ toYaml $aff }}{{ end }}
{{- end }}

{{/* Operator mode: names and labels of the operator's own objects. */}}
{{- define "mattermost-rtcd.operator.fullname" -}}
{{- printf "%s-operator" (include "mattermost-rtcd.fullname" . | trunc 54 | trimSuffix "-") }}
{{- end }}

{{/* Cluster-scoped names must not clash between releases of the same name in two namespaces. */}}
{{- define "mattermost-rtcd.operator.clusterName" -}}
{{- printf "%s-%s" (include "mattermost-rtcd.operator.fullname" .) .Release.Namespace }}
{{- end }}

{{- define "mattermost-rtcd.operator.selectorLabels" -}}
app.kubernetes.io/name: {{ printf "%s-operator" (include "mattermost-rtcd.name" . | trunc 54 | trimSuffix "-") }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "mattermost-rtcd.operator.labels" -}}
helm.sh/chart: {{ include "mattermost-rtcd.chart" . }}
{{ include "mattermost-rtcd.operator.selectorLabels" . }}
app.kubernetes.io/version: {{ regexReplaceAll "[^-A-Za-z0-9_.]" (.Values.operator.image.tag | default .Chart.AppVersion | toString) "_" | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: mattermost-calls
app.kubernetes.io/component: operator
{{- end }}

{{- define "mattermost-rtcd.operator.serviceAccountName" -}}
{{- $sa := .Values.operator.serviceAccount | default dict }}
{{- if $sa.create }}
{{- default (include "mattermost-rtcd.operator.fullname" .) $sa.name }}
{{- else }}
{{- default "default" $sa.name }}
{{- end }}
{{- end }}

{{/*
The operator's rights, the same rules as operator/config/rbac/cluster_role.yaml:
read its resources, write their status, own the objects it renders, record
events. Granted per watched namespace (the release's by default), or
cluster-wide with operator.clusterWide. Each verb is one the operator uses.
*/}}
{{- define "mattermost-rtcd.operator.rules" -}}
- apiGroups: ["rtcd.mattermost.com"]
  resources: ["mattermostrtcds"]
  verbs: ["list", "watch"]
- apiGroups: ["rtcd.mattermost.com"]
  resources: ["mattermostrtcds/status"]
  verbs: ["patch"]
# Setting blockOwnerDeletion on an owner reference needs this where the
# OwnerReferencesPermissionEnforcement admission plugin is on (OpenShift).
- apiGroups: ["rtcd.mattermost.com"]
  resources: ["mattermostrtcds/finalizers"]
  verbs: ["update"]
# Server-side apply (patch) of the objects it renders; creating one by apply
# also needs create. get: before creating, whether the name is taken by an
# object it did not create (which it then leaves alone).
- apiGroups: ["apps"]
  resources: ["deployments", "daemonsets"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: [""]
  resources: ["services", "configmaps", "serviceaccounts"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["policy"]
  resources: ["poddisruptionbudgets"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
- apiGroups: ["monitoring.coreos.com"]
  resources: ["servicemonitors"]
  verbs: ["get", "list", "watch", "create", "patch", "delete"]
# Secrets: get the ones a MattermostRTCD references; list and watch their
# metadata only (to react to a change); create and delete the admin key it
# generates. Never patch or update: it writes no Secret it did not create.
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch", "create", "delete"]
# Pods are read (to say in status why a rollout waits); patch only sets the
# autoscaler's controller.kubernetes.io/pod-deletion-cost annotation before
# a scale-in, so that the emptiest pods go first.
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["list", "watch", "patch"]
# Pod status: only the condition of the readiness gate that says Mattermost's
# client is registered on the pod (spec.mattermostClient).
- apiGroups: [""]
  resources: ["pods/status"]
  verbs: ["patch"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
{{- end }}

{{/*
The namespaces the operator watches, as a JSON list: operator.watchNamespaces,
else the release's own; empty (every namespace) only with operator.clusterWide.
*/}}
{{- define "mattermost-rtcd.operator.namespaces" -}}
{{- $op := .Values.operator }}
{{- if and $op.clusterWide $op.watchNamespaces }}
{{- fail "operator.clusterWide and operator.watchNamespaces exclude each other: cluster-wide watches every namespace" }}
{{- end }}
{{- if $op.clusterWide }}{{ list | toJson }}{{ else }}{{ $op.watchNamespaces | default (list .Release.Namespace) | toJson }}{{ end }}
{{- end }}

{{/* "true" when the MattermostRTCD is part of this release (operator.customResource and the cluster's APIs decide). */}}
{{- define "mattermost-rtcd.operator.rendersResource" -}}
{{- $mode := .Values.operator.customResource | default "auto" }}
{{- if eq $mode "always" }}true
{{- else if and (eq $mode "auto") (.Capabilities.APIVersions.Has "rtcd.mattermost.com/v1alpha1/MattermostRTCD") }}true
{{- end }}
{{- end }}
