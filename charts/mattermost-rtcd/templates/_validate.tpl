{{/*
Checks across keys that values.schema.json cannot express. Each message
names the keys to change.
*/}}
{{- define "mattermost-rtcd.validate" -}}
{{- $v := .Values }}
{{- $mode := include "mattermost-rtcd.mode" . }}
{{- $kind := include "mattermost-rtcd.workloadKind" . }}
{{- $strategy := $v.configuration.updateStrategy | default "RollingUpdate" }}
{{- if and (eq $kind "Deployment") (eq $strategy "OnDelete") }}
{{- fail "configuration.updateStrategy: OnDelete is for deploymentType \"daemonset\"; a Deployment takes RollingUpdate or Recreate" }}
{{- end }}
{{- if and (ne $kind "Deployment") (eq $strategy "Recreate") }}
{{- fail (printf "configuration.updateStrategy: Recreate is for Deployments; this chart renders a %s here, which takes RollingUpdate or OnDelete" $kind) }}
{{- end }}
{{- if eq $mode "nodePort" }}
{{- if $v.networking.hostNetwork }}
{{- fail "service.type NodePort needs networking.hostNetwork: false (with host networking rtcd already listens on the node's own ports)" }}
{{- end }}
{{- if not ($v.service.nodePorts | default dict).rtc }}
{{- fail "service.nodePorts.rtc is required when service.type is NodePort: rtcd must advertise that port to clients (RTCD_RTC_ICEHOSTPORTOVERRIDE)" }}
{{- end }}
{{- end }}
{{- if (($v.service.perReplicaLoadBalancer | default dict).enabled) }}
{{- if ne $v.service.type "LoadBalancer" }}
{{- fail "service.perReplicaLoadBalancer.enabled needs service.type: LoadBalancer" }}
{{- end }}
{{- if $v.networking.hostNetwork }}
{{- fail "service.perReplicaLoadBalancer.enabled needs networking.hostNetwork: false (media goes through each replica's load balancer, not the node)" }}
{{- end }}
{{- if eq $v.deploymentType "daemonset" }}
{{- fail "service.perReplicaLoadBalancer.enabled needs deploymentType: deployment (a load balancer per replica needs stable replica names)" }}
{{- end }}
{{- end }}
{{- $np := $v.service.nodePorts | default dict }}
{{- if and (or $np.api $np.rtc) (not (has $v.service.type (list "NodePort" "LoadBalancer"))) }}
{{- fail "service.nodePorts is only used with service.type NodePort or LoadBalancer" }}
{{- end }}
{{- $workers := int (include "mattermost-rtcd.mediaWorkers" .) }}
{{- if lt $workers 1 }}
{{- fail "configuration.mediaWorkers: at least 1" }}
{{- end }}
{{- if gt $workers 1 }}
{{- if regexMatch "(^|/)mattermost/rtcd$" $v.image.repository }}
{{- fail "configuration.mediaWorkers: Mattermost's rtcd (mattermost/rtcd) listens on one RTC port; keep 1, or use this project's rtcd (image.repository mattermost-rtcd-mediasoup)" }}
{{- end }}
{{- if include "mattermost-rtcd.userSetsEnv" (dict "root" . "name" "RTCD_MEDIA_WORKERS") }}
{{- fail "configuration.environmentVariables.RTCD_MEDIA_WORKERS: set configuration.mediaWorkers instead (it also opens each worker's port), not both" }}
{{- end }}
{{- $rtc := int (include "mattermost-rtcd.rtcListenPort" .) }}
{{- $api := int $v.service.APIport }}
{{- if and (ge $api $rtc) (lt $api (add $rtc $workers)) }}
{{- fail (printf "service.APIport %d is one of the media workers' ports %d-%d (configuration.mediaWorkers from service.RTCport%s); move one of them" $api $rtc (add $rtc $workers -1) (ternary ", in NodePort mode from service.nodePorts.rtc" "" (ne $rtc (int $v.service.RTCport)))) }}
{{- end }}
{{- end }}
{{- $pdb := $v.podDisruptionBudget | default dict }}
{{- if and $pdb.enabled (not (kindIs "invalid" $pdb.minAvailable)) (not (kindIs "invalid" $pdb.maxUnavailable)) }}
{{- fail "podDisruptionBudget: set minAvailable or maxUnavailable, not both (set the other to null)" }}
{{- end }}
{{- if and ($v.autoscaling | default dict).enabled (not $v.operator.enabled) }}
{{- fail "autoscaling.enabled needs operator.enabled: true (the operator reads the pods' load and sizes the fleet; the chart alone cannot)" }}
{{- end }}
{{- end }}
