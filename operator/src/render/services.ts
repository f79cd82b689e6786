// Services: the headless API Service the Mattermost plugin resolves (and
// drains by), and the RTC Service for the NodePort and LoadBalancer modes.
import type { KubernetesObject, V1Service, V1ServicePort } from "@kubernetes/client-node";
import type { DefaultedMattermostRTCD } from "../api/index.ts";
import { RESOURCES } from "../api/resources.ts";
import { workerPorts } from "./media-ports.ts";
import { meta, nameOf, object, rtcServiceName, selectorLabels } from "./names.ts";

/**
 * Headless, and only ready pods appear in it: the plugin re-resolves the name
 * every 10 s, pins each call to one address, and stops placing new calls on
 * an address once it leaves DNS. A stopping pod is not ready, so it leaves at
 * once while keeping its calls.
 */
export function apiService(cr: DefaultedMattermostRTCD): KubernetesObject {
  return object<V1Service>(RESOURCES.Service, meta(cr, nameOf(cr)), {
    spec: {
      type: "ClusterIP",
      clusterIP: "None",
      // publishNotReadyAddresses stays unset, which means false. Writing the
      // false out would not survive the round trip (the API omits false), so
      // every resync would see a difference and apply again.
      selector: selectorLabels(nameOf(cr)),
      ports: [{ name: "api", port: cr.spec.apiPort, targetPort: "api", protocol: "TCP" }],
    },
  });
}

export function rtcService(cr: DefaultedMattermostRTCD): KubernetesObject | undefined {
  const n = cr.spec.networking;
  if (n.mode !== "NodePort" && n.mode !== "LoadBalancer") return undefined;
  const lb = n.mode === "LoadBalancer" ? n.loadBalancer : undefined;
  // One UDP and one TCP port per media worker (media-ports.ts).
  const ports: V1ServicePort[] = workerPorts(cr).flatMap((w) => {
    const nodePort = w.nodePort !== undefined ? { nodePort: w.nodePort } : {};
    return [
      { name: w.udpName, port: w.servicePort, targetPort: w.udpName, protocol: "UDP", ...nodePort },
      { name: w.tcpName, port: w.servicePort, targetPort: w.tcpName, protocol: "TCP", ...nodePort },
    ];
  });
  return object<V1Service>(
    RESOURCES.Service,
    meta(cr, rtcServiceName(cr), { annotations: lb?.annotations }),
    {
      spec: {
        type: n.mode,
        externalTrafficPolicy: n.externalTrafficPolicy,
        selector: selectorLabels(nameOf(cr)),
        ports,
        loadBalancerClass: lb?.loadBalancerClass,
        loadBalancerSourceRanges: lb?.sourceRanges?.length ? lb.sourceRanges : undefined,
      },
    },
  );
}
