{{/*
Operator mode: the MattermostRTCD spec for the same values that direct mode
renders as a workload. RTCD_* variables with a typed field in the API become
that field; the rest stay environment variables (spec.env). Values the API
cannot express fail with the key named, rather than being dropped.
*/}}
{{- define "mattermost-rtcd.operator.spec" -}}
{{- $v := .Values }}
{{- $c := $v.configuration }}
{{- $svc := $v.service }}
{{- $mode := include "mattermost-rtcd.mode" . }}
{{- range $key := list "envFrom" "extraVolumes" "extraVolumeMounts" }}
{{- if get $c $key }}
{{- fail (printf "configuration.%s is not supported with operator.enabled (a MattermostRTCD has no such field); use configuration.extraEnv, or direct mode" $key) }}
{{- end }}
{{- end }}
{{- if eq $mode "loadBalancerPerReplica" }}
{{- fail "service.perReplicaLoadBalancer is not supported with operator.enabled; use direct mode" }}
{{- end }}
{{- if include "mattermost-rtcd.tls" . }}
{{- fail "RTCD_API_HTTP_TLS_ENABLE (or configuration.probes.scheme HTTPS) is not supported with operator.enabled: the certificates need configuration.extraVolumes, which a MattermostRTCD lacks; use direct mode, or operator.customResource: never and your own MattermostRTCD with spec.rtcd.tls" }}
{{- end }}
{{- if $v.ingress.enabled }}
{{- fail "ingress.enabled is not supported with operator.enabled (the plugin should reach rtcd through the in-cluster headless Service)" }}
{{- end }}
{{- $name := include "mattermost-rtcd.fullname" . }}
{{- if not (regexMatch "^[a-z]([-a-z0-9]{0,57}[a-z0-9])?$" $name) }}
{{- fail (printf "operator.enabled: the MattermostRTCD is named %q (the release name, or fullnameOverride), which must be at most 59 characters, start with a letter and use only a-z, 0-9 and '-'" $name) }}
{{- end }}
{{- $spec := dict }}
{{- $_ := set $spec "image" (dict "repository" $v.image.repository "tag" ($v.image.tag | default .Chart.AppVersion | toString) "pullPolicy" ($v.image.pullPolicy | default "IfNotPresent")) }}
{{- with $v.imagePullSecrets }}{{ $_ := set $spec "imagePullSecrets" . }}{{ end }}
{{- $daemonset := eq $v.deploymentType "daemonset" }}
{{- $_ := set $spec "deploymentType" (ternary "DaemonSet" "Deployment" $daemonset) }}
{{- $as := $v.autoscaling | default dict }}
{{- if and $as.enabled $daemonset }}
{{- fail "autoscaling.enabled is for deploymentType: deployment (a DaemonSet runs one pod per node)" }}
{{- end }}
{{- if $as.enabled }}
{{- /* The operator owns the replicas then: the API refuses spec.replicas beside it. */}}
{{- $a := dict "enabled" true "minReplicas" (int $as.minReplicas) "maxReplicas" (int $as.maxReplicas) "scaleDownStabilizationSeconds" (int $as.scaleDownStabilizationSeconds) "bufferPods" (int $as.bufferPods) }}
{{- if not (kindIs "invalid" $as.targetSessionsPerPod) }}{{ $_ := set $a "targetSessionsPerPod" (int $as.targetSessionsPerPod) }}{{ end }}
{{- if not (kindIs "invalid" $as.targetCPUPercent) }}{{ $_ := set $a "targetCPUPercent" (int $as.targetCPUPercent) }}{{ end }}
{{- $_ := set $spec "autoscaling" $a }}
{{- else if not $daemonset }}{{ $_ := set $spec "replicas" (int $c.replicas) }}{{ end }}
{{- $strategy := dict "type" ($c.updateStrategy | default "RollingUpdate") }}
{{- if eq $strategy.type "RollingUpdate" }}{{ $_ := set $strategy "maxUnavailable" ($c.maxUnavailable | default 1) }}{{ end }}
{{- $_ := set $spec "updateStrategy" $strategy }}
{{- $_ := set $spec "terminationGracePeriodSeconds" (int64 ($c.terminationGracePeriod | default 18000)) }}
{{- $_ := set $spec "apiPort" (int $svc.APIport) }}
{{- $_ := set $spec "rtcPort" (int $svc.RTCport) }}
{{- with $v.resources }}{{ $_ := set $spec "resources" . }}{{ end }}
{{- with $v.nodeSelector }}{{ $_ := set $spec "nodeSelector" . }}{{ end }}
{{- if kindIs "slice" $v.tolerations }}{{ with $v.tolerations }}{{ $_ := set $spec "tolerations" . }}{{ end }}{{ end }}
{{- /* Always set: unset would mean the operator's default, not these values'. */}}
{{- $_ := set $spec "affinity" (include "mattermost-rtcd.affinity" . | fromYaml | default dict) }}
{{- with $v.topologySpreadConstraints }}{{ $_ := set $spec "topologySpreadConstraints" . }}{{ end }}
{{- with $v.dnsConfig }}{{ $_ := set $spec "dnsConfig" . }}{{ end }}
{{- with $v.podAnnotations }}{{ $_ := set $spec "podAnnotations" . }}{{ end }}
{{- with $v.priorityClassName }}{{ $_ := set $spec "priorityClassName" . }}{{ end }}
{{- $_ := set $spec "podSecurityContext" ($v.podSecurityContext | default dict) }}
{{- $_ := set $spec "securityContext" ($v.securityContext | default dict) }}
{{- $probes := dict }}
{{- $endpoints := ($c.probes | default dict).endpoints | default "auto" }}
{{- $_ := set $probes "endpoints" (get (dict "auto" "Auto" "drainAware" "Health" "version" "Version") $endpoints) }}
{{- range $kind := list "readiness" "liveness" }}
{{- $p := dict }}
{{- range $field, $default := dict "InitialDelaySeconds" 30 "PeriodSeconds" 10 "TimeoutSeconds" 5 "FailureThreshold" 3 }}
{{- $_ := set $p (printf "%s%s" (substr 0 1 $field | lower) (substr 1 -1 $field)) (include "mattermost-rtcd.probeValue" (dict "root" $ "key" (printf "%sProbe%s" $kind $field) "default" $default) | int) }}
{{- end }}
{{- $_ := set $probes $kind $p }}
{{- end }}
{{- $media := ($c.probes | default dict).media | default dict }}
{{- /* hasKey, not default: 0 (off) is a value, not an absence. */}}
{{- $interval := ternary $media.intervalSeconds 300 (hasKey $media "intervalSeconds") }}
{{- $_ := set $probes "media" (dict "intervalSeconds" (int $interval) "timeoutSeconds" (int ($media.timeoutSeconds | default 10))) }}
{{- $_ := set $spec "probes" $probes }}
{{- $sa := dict "create" $v.serviceAccount.create }}
{{- with $v.serviceAccount.name }}{{ $_ := set $sa "name" . }}{{ end }}
{{- with $v.serviceAccount.annotations }}{{ $_ := set $sa "annotations" . }}{{ end }}
{{- $_ := set $spec "serviceAccount" $sa }}
{{- $r := include "mattermost-rtcd.operator.rtcdSettings" . | fromJson }}
{{- $workers := int (include "mattermost-rtcd.mediaWorkers" .) }}
{{- /* Only when not 1 (the API's default), so that existing releases render the same resource. */}}
{{- if ne $workers 1 }}{{ $_ := set $r.rtcd "mediaWorkers" $workers }}{{ end }}
{{- $_ := set $spec "rtcd" $r.rtcd }}
{{- $env := $r.env }}
{{- range ($c.extraEnv | default list) }}{{ $env = append $env . }}{{ end }}
{{- with $env }}{{ $_ := set $spec "env" . }}{{ end }}
{{- $net := dict }}
{{- if eq $mode "hostNetwork" }}{{ $_ := set $net "mode" "HostNetwork" }}
{{- else if eq $mode "clusterIP" }}
{{- if not $v.networking.useHostPort }}
{{- fail "operator.enabled: with networking.hostNetwork false and service.type ClusterIP, set networking.useHostPort true (HostPort mode), or use NodePort or LoadBalancer: nothing else reaches rtcd's media port" }}
{{- end }}
{{- $_ := set $net "mode" "HostPort" }}
{{- else if eq $mode "nodePort" }}
{{- $_ := set $net "mode" "NodePort" }}
{{- $_ := set $net "nodePort" (int $svc.nodePorts.rtc) }}
{{- else if eq $mode "loadBalancer" }}
{{- $_ := set $net "mode" "LoadBalancer" }}
{{- with $svc.annotations }}{{ $_ := set $net "loadBalancer" (dict "annotations" .) }}{{ end }}
{{- end }}
{{- if has $mode (list "nodePort" "loadBalancer") }}
{{- $_ := set $net "externalTrafficPolicy" ($svc.externalTrafficPolicy | default "Local") }}
{{- end }}
{{- $_ := set $spec "networking" $net }}
{{- $pdb := $v.podDisruptionBudget | default dict }}
{{- $pdbSpec := dict "enabled" (not (not $pdb.enabled)) }}
{{- if $pdb.enabled }}
{{- if not (kindIs "invalid" $pdb.minAvailable) }}{{ $_ := set $pdbSpec "minAvailable" $pdb.minAvailable }}
{{- else }}{{ $_ := set $pdbSpec "maxUnavailable" (kindIs "invalid" $pdb.maxUnavailable | ternary 1 $pdb.maxUnavailable) }}
{{- end }}
{{- end }}
{{- $_ := set $spec "podDisruptionBudget" $pdbSpec }}
{{- $sm := ($v.metrics | default dict).serviceMonitor | default dict }}
{{- $smSpec := dict "enabled" (not (not $sm.enabled)) }}
{{- with $sm.interval }}{{ $_ := set $smSpec "interval" . }}{{ end }}
{{- with $sm.labels }}{{ $_ := set $smSpec "labels" . }}{{ end }}
{{- $_ := set $spec "serviceMonitor" $smSpec }}
{{- toYaml $spec }}
{{- end }}

{{/*
spec.rtcd from configuration.environmentVariables, and the variables left
over as spec.env; as JSON {"rtcd": {...}, "env": [...]}.
*/}}
{{- define "mattermost-rtcd.operator.rtcdSettings" -}}
{{- $vars := .Values.configuration.environmentVariables | default dict }}
{{- $secret := include "mattermost-rtcd.secretEnv" . | fromJson }}
{{- $secretName := include "mattermost-rtcd.secretEnvName" . }}
{{- $rtcd := dict }}
{{- $logging := dict }}
{{- $security := dict }}
{{- $turn := dict }}
{{- $env := list }}
{{- range $name, $raw := $vars }}
{{- $val := include "mattermost-rtcd.envValue" $raw }}
{{- $bool := lower (trim $val) }}
{{- $isBool := has $bool (list "1" "t" "true" "0" "f" "false") }}
{{- $mapped := true }}
{{- if and (eq $name "RTCD_LOGGER_CONSOLELEVEL") (has (upper $val) (list "DEBUG" "INFO" "WARN" "ERROR")) }}
{{- $_ := set $logging "level" (upper $val) }}
{{- else if and (eq $name "RTCD_LOGGER_CONSOLEJSON") $isBool }}
{{- $_ := set $logging "format" (ternary "json" "text" (has $bool (list "1" "t" "true"))) }}
{{- else if and (eq $name "RTCD_LOGGER_ENABLEFILE") $isBool (not (has $bool (list "1" "t" "true"))) }}
{{- /* The operator keeps file logging off (read-only root filesystem). */}}
{{- else if and (eq $name "RTCD_API_SECURITY_ALLOWSELFREGISTRATION") $isBool }}
{{- $_ := set $security "allowSelfRegistration" (has $bool (list "1" "t" "true")) }}
{{- else if and (eq $name "RTCD_API_SECURITY_ADMINSECRETKEY") (hasKey $secret $name) }}
{{- $_ := set $security "adminSecretRef" (dict "name" $secretName "key" $name) }}
{{- else if and (eq $name "RTCD_RTC_TURNCONFIG_STATICAUTHSECRET") (hasKey $secret $name) }}
{{- $_ := set $turn "staticAuthSecretRef" (dict "name" $secretName "key" $name) }}
{{- else if and (eq $name "RTCD_RTC_TURNCONFIG_CREDENTIALSEXPIRATIONMINUTES") (regexMatch "^[0-9]+$" (trim $val)) }}
{{- $_ := set $turn "credentialsExpirationMinutes" (int (trim $val)) }}
{{- else if eq $name "RTCD_RTC_ICESERVERS" }}
{{- $servers := include "mattermost-rtcd.operator.iceServers" $val | fromJson }}
{{- if hasKey $servers "servers" }}{{ $_ := set $rtcd "iceServers" $servers.servers }}{{ else }}{{ $mapped = false }}{{ end }}
{{- else if and (eq $name "RTCD_RTC_ICEHOSTOVERRIDE") (trim $val) }}
{{- $o := include "mattermost-rtcd.operator.iceHostOverride" (trim $val) | fromJson }}
{{- if $o }}{{ $_ := set $rtcd "iceHostOverride" $o }}{{ else }}{{ $mapped = false }}{{ end }}
{{- else }}
{{- $mapped = false }}
{{- end }}
{{- if not $mapped }}
{{- if hasKey $secret $name }}
{{- $env = append $env (dict "name" $name "valueFrom" (dict "secretKeyRef" (dict "name" $secretName "key" $name))) }}
{{- else }}
{{- $env = append $env (dict "name" $name "value" $val) }}
{{- end }}
{{- end }}
{{- end }}
{{- /* Not set means the API's default (Mattermost's STUN server); an unset variable in direct mode means rtcd's (none). */}}
{{- if not (hasKey $vars "RTCD_RTC_ICESERVERS") }}{{ $_ := set $rtcd "iceServers" list }}{{ end }}
{{- with $logging }}{{ $_ := set $rtcd "logging" . }}{{ end }}
{{- with $security }}{{ $_ := set $rtcd "security" . }}{{ end }}
{{- with $turn }}{{ $_ := set $rtcd "turn" . }}{{ end }}
{{- toJson (dict "rtcd" $rtcd "env" $env) }}
{{- end }}

{{/*
RTCD_RTC_ICESERVERS (JSON: ["stun:..."] or [{"urls": [...]}]) as the API's
iceServers: {"servers": [...]}, or {} when it needs a field the API lacks
(TURN username/credential): it then stays an environment variable.
*/}}
{{- define "mattermost-rtcd.operator.iceServers" -}}
{{- $list := fromJsonArray (. | default "[]") }}
{{- $servers := list }}
{{- $ok := true }}
{{- range $list }}
{{- /* fromJsonArray turns invalid JSON into one error string, which is no URL. */}}
{{- if and (kindIs "string" .) (regexMatch "^(stuns?|turns?):" .) }}
{{- $servers = append $servers (dict "urls" (list .)) }}
{{- else if and (kindIs "map" .) (hasKey . "urls") (eq (len (keys .)) 1) }}
{{- $urls := .urls }}
{{- if kindIs "string" $urls }}{{ $urls = list $urls }}{{ end }}
{{- $servers = append $servers (dict "urls" $urls) }}
{{- else }}
{{- $ok = false }}
{{- end }}
{{- end }}
{{- if $ok }}{{ toJson (dict "servers" $servers) }}{{ else }}{}{{ end }}
{{- end }}

{{/* RTCD_RTC_ICEHOSTOVERRIDE as the API's iceHostOverride: one host, or "ext/int,..." mappings ({} when neither). */}}
{{- define "mattermost-rtcd.operator.iceHostOverride" -}}
{{- if not (contains "/" .) }}
{{- toJson (dict "host" .) }}
{{- else }}
{{- $mappings := list }}
{{- $ok := true }}
{{- range (splitList "," .) }}
{{- $pair := splitList "/" (trim .) }}
{{- if eq (len $pair) 2 }}
{{- $mappings = append $mappings (dict "external" (index $pair 0) "internal" (index $pair 1)) }}
{{- else }}{{ $ok = false }}
{{- end }}
{{- end }}
{{- if $ok }}{{ toJson (dict "mappings" $mappings) }}{{ else }}{}{{ end }}
{{- end }}
{{- end }}
