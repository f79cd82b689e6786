{{/*
The rtcd container's environment: configuration.environmentVariables (in
key order, values unquoted as the official chart's users wrote them), then
what the networking mode needs unless the user set it, then
configuration.extraEnv.
*/}}
{{- define "mattermost-rtcd.env" -}}
{{- $root := . }}
{{- $mode := include "mattermost-rtcd.mode" . }}
{{- $env := list }}
{{- if eq $mode "loadBalancerPerReplica" }}
{{- /* Referenced as $(POD_NAME) / $(POD_INDEX) in values; the kubelet expands them per pod. */}}
{{- $env = append $env (dict "name" "POD_NAME" "valueFrom" (dict "fieldRef" (dict "fieldPath" "metadata.name"))) }}
{{- $env = append $env (dict "name" "POD_INDEX" "valueFrom" (dict "fieldRef" (dict "fieldPath" "metadata.labels['apps.kubernetes.io/pod-index']"))) }}
{{- end }}
{{- $secret := include "mattermost-rtcd.secretEnv" . | fromJson }}
{{- $secretName := include "mattermost-rtcd.secretEnvName" . }}
{{- range $name, $value := (.Values.configuration.environmentVariables | default dict) }}
{{- if hasKey $secret $name }}
{{- $env = append $env (dict "name" $name "valueFrom" (dict "secretKeyRef" (dict "name" $secretName "key" $name))) }}
{{- else }}
{{- $env = append $env (dict "name" $name "value" (include "mattermost-rtcd.envValue" $value)) }}
{{- end }}
{{- end }}
{{- $derived := dict }}
{{- if ne (int .Values.service.APIport) 8045 }}
{{- $_ := set $derived "RTCD_API_HTTP_LISTENADDRESS" (printf ":%d" (int .Values.service.APIport)) }}
{{- end }}
{{- $workers := int (include "mattermost-rtcd.mediaWorkers" .) }}
{{- $listen := int (include "mattermost-rtcd.rtcListenPort" .) }}
{{- if ne $listen 8443 }}
{{- $_ := set $derived "RTCD_RTC_ICEPORTUDP" (toString $listen) }}
{{- $_ := set $derived "RTCD_RTC_ICEPORTTCP" (toString $listen) }}
{{- end }}
{{- if and (eq $mode "nodePort") (eq $workers 1) }}
{{- $_ := set $derived "RTCD_RTC_ICEHOSTPORTOVERRIDE" (toString (int .Values.service.nodePorts.rtc)) }}
{{- end }}
{{- if gt $workers 1 }}
{{- $_ := set $derived "RTCD_MEDIA_WORKERS" (toString $workers) }}
{{- end }}
{{- if and (eq $mode "loadBalancerPerReplica") .Values.service.perReplicaLoadBalancer.iceHostOverride }}
{{- $_ := set $derived "RTCD_RTC_ICEHOSTOVERRIDE" .Values.service.perReplicaLoadBalancer.iceHostOverride }}
{{- end }}
{{- /* Our rtcd closes the calls left just before the kubelet would kill it (Mattermost's ignores this). */}}
{{- $grace := int (.Values.configuration.terminationGracePeriod | default 18000) }}
{{- $_ := set $derived "RTCD_DRAIN_DEADLINESECONDS" (toString (max 0 (sub $grace 10))) }}
{{- /* rtcd logs to a file in its working directory by default, which the read-only root filesystem refuses; kubectl logs reads the console. */}}
{{- $_ := set $derived "RTCD_LOGGER_ENABLEFILE" "false" }}
{{- range $name := keys $derived | sortAlpha }}
{{- if not (include "mattermost-rtcd.userSetsEnv" (dict "root" $root "name" $name)) }}
{{- $env = append $env (dict "name" $name "value" (get $derived $name)) }}
{{- end }}
{{- end }}
{{- range (.Values.configuration.extraEnv | default list) }}
{{- $env = append $env . }}
{{- end }}
{{- if $env }}{{ toYaml $env }}{{ end }}
{{- end }}

{{- define "mattermost-rtcd.probe" -}}
{{- $root := .root -}}
httpGet:
  path: {{ .path }}
  port: api
  scheme: {{ include "mattermost-rtcd.apiScheme" $root | upper }}
initialDelaySeconds: {{ include "mattermost-rtcd.probeValue" (dict "root" $root "key" (printf "%sProbeInitialDelaySeconds" .kind) "default" 30) }}
failureThreshold: {{ include "mattermost-rtcd.probeValue" (dict "root" $root "key" (printf "%sProbeFailureThreshold" .kind) "default" 3) }}
periodSeconds: {{ include "mattermost-rtcd.probeValue" (dict "root" $root "key" (printf "%sProbePeriodSeconds" .kind) "default" 10) }}
timeoutSeconds: {{ include "mattermost-rtcd.probeValue" (dict "root" $root "key" (printf "%sProbeTimeoutSeconds" .kind) "default" 5) }}
{{- end }}

{{/* The pod template shared by the Deployment, DaemonSet and StatefulSet. */}}
{{- define "mattermost-rtcd.podTemplate" -}}
{{- $v := .Values }}
{{- $mode := include "mattermost-rtcd.mode" . }}
{{- $hostPort := and $v.networking.useHostPort (has $mode (list "hostNetwork" "clusterIP")) }}
{{- $drainAware := include "mattermost-rtcd.drainAware" . }}
{{- $mountsTmp := false }}
{{- range ($v.configuration.extraVolumeMounts | default list) }}
{{- if eq (toString .mountPath | trimSuffix "/") "/tmp" }}{{ $mountsTmp = true }}{{ end }}
{{- end }}
{{- $env := include "mattermost-rtcd.env" . }}
{{- $affinity := include "mattermost-rtcd.affinity" . -}}
{{- $secretEnv := include "mattermost-rtcd.secretEnv" . }}
{{- $annotations := deepCopy ($v.podAnnotations | default dict) }}
{{- if ne $secretEnv "{}" }}
{{- /* A changed secret value rolls the pods, as a changed plain value would. */}}
{{- $_ := set $annotations "checksum/secret-env" ($secretEnv | sha256sum) }}
{{- end }}
metadata:
  {{- with $annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  labels:
    {{- include "mattermost-rtcd.selectorLabels" . | nindent 4 }}
    {{- with $v.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  {{- with $v.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- if $v.networking.hostNetwork }}
  hostNetwork: true
  dnsPolicy: ClusterFirstWithHostNet
  {{- end }}
  serviceAccountName: {{ include "mattermost-rtcd.serviceAccountName" . }}
  automountServiceAccountToken: {{ $v.serviceAccount.automount | default false }}
  # rtcd reads only RTCD_* variables; no Service variables in its environment.
  enableServiceLinks: false
  {{- with $v.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  terminationGracePeriodSeconds: {{ int64 ($v.configuration.terminationGracePeriod | default 18000) }}
  {{- with $v.podSecurityContext }}
  securityContext:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
    - name: {{ .Chart.Name }}
      image: {{ include "mattermost-rtcd.image" . | quote }}
      imagePullPolicy: {{ $v.image.pullPolicy | default "IfNotPresent" }}
      {{- $sc := deepCopy ($v.securityContext | default dict) }}
      {{- if and $v.networking.hostNetwork (lt (min (int $v.service.APIport) (int $v.service.RTCport)) 1024) }}
      {{- /* On the node's network, ports below 1024 need this capability (a pod's own network namespace allows them). */}}
      {{- $caps := $sc.capabilities | default dict }}
      {{- $add := $caps.add | default list }}
      {{- if not (has "NET_BIND_SERVICE" $add) }}
      {{- $_ := set $caps "add" (append $add "NET_BIND_SERVICE") }}
      {{- $_ := set $sc "capabilities" $caps }}
      {{- end }}
      {{- end }}
      {{- with $sc }}
      securityContext:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $env }}
      env:
        {{- . | nindent 8 }}
      {{- end }}
      {{- with $v.configuration.envFrom }}
      envFrom:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      ports:
        - name: api
          containerPort: {{ int $v.service.APIport }}
          {{- if $hostPort }}
          hostPort: {{ int $v.service.APIport }}
          {{- end }}
          protocol: TCP
        {{- /* One UDP and one TCP port per media worker: worker i listens on the RTC port + i. */}}
        {{- $listen := int (include "mattermost-rtcd.rtcListenPort" .) }}
        {{- range $i := until (int (include "mattermost-rtcd.mediaWorkers" .)) }}
        {{- $suffix := ternary "" (printf "-%d" $i) (eq $i 0) }}
        {{- range $proto := list "udp" "tcp" }}
        - name: rtc-{{ $proto }}{{ $suffix }}
          containerPort: {{ add $listen $i }}
          {{- if $hostPort }}
          hostPort: {{ add $listen $i }}
          {{- end }}
          protocol: {{ upper $proto }}
        {{- end }}
        {{- end }}
      livenessProbe:
        {{- include "mattermost-rtcd.probe" (dict "root" . "kind" "liveness" "path" (ternary "/healthz" "/version" (eq $drainAware "true"))) | nindent 8 }}
      readinessProbe:
        {{- include "mattermost-rtcd.probe" (dict "root" . "kind" "readiness" "path" (ternary "/readyz" "/version" (eq $drainAware "true"))) | nindent 8 }}
      {{- with $v.resources }}
      resources:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- if or (not $mountsTmp) $v.configuration.extraVolumeMounts }}
      volumeMounts:
        {{- if not $mountsTmp }}
        {{- /* rtcd keeps its credential store in /tmp/rtcd_db; the root filesystem is read-only. */}}
        - name: tmp
          mountPath: /tmp
        {{- end }}
        {{- with $v.configuration.extraVolumeMounts }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- end }}
  {{- with $v.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $affinity }}
  affinity:
    {{- . | nindent 4 }}
  {{- end }}
  {{- if kindIs "slice" $v.tolerations }}
  {{- with $v.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- end }}
  {{- with $v.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- /* A constraint without a labelSelector counts this release's pods. */}}
    {{- $constraints := list }}
    {{- range . }}
    {{- $c := deepCopy . }}
    {{- if not $c.labelSelector }}
    {{- $_ := set $c "labelSelector" (dict "matchLabels" (include "mattermost-rtcd.selectorLabels" $ | fromYaml)) }}
    {{- end }}
    {{- $constraints = append $constraints $c }}
    {{- end }}
    {{- toYaml $constraints | nindent 4 }}
  {{- end }}
  {{- with $v.dnsConfig }}
  dnsConfig:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- if or (not $mountsTmp) $v.configuration.extraVolumes }}
  volumes:
    {{- if not $mountsTmp }}
    - name: tmp
      emptyDir: {}
    {{- end }}
    {{- with $v.configuration.extraVolumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- end }}
{{- end }}
