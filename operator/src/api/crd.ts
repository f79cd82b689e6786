// The CustomResourceDefinition, built from the schema in schema.ts.
import { toCrdSchema } from "./openapi.ts";
import { NAME_RULE, specSchema, statusSchema } from "./schema.ts";

export const GROUP = "rtcd.mattermost.com";
export const VERSION = "v1alpha1";
export const KIND = "MattermostRTCD";
export const PLURAL = "mattermostrtcds";
export const SINGULAR = "mattermostrtcd";
export const SHORT_NAMES = ["mmrtcd"];
export const CATEGORIES = ["mattermost"];

export function crd(): object {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: `${PLURAL}.${GROUP}`,
      labels: { "app.kubernetes.io/name": "mattermost-rtcd", "app.kubernetes.io/part-of": "mattermost-rtcd" },
    },
    spec: {
      group: GROUP,
      names: {
        kind: KIND,
        listKind: `${KIND}List`,
        plural: PLURAL,
        singular: SINGULAR,
        shortNames: SHORT_NAMES,
        categories: CATEGORIES,
      },
      scope: "Namespaced",
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: {
            status: {},
            scale: {
              specReplicasPath: ".spec.replicas",
              statusReplicasPath: ".status.replicas",
              labelSelectorPath: ".status.selector",
            },
          },
          additionalPrinterColumns: [
            { name: "Type", type: "string", jsonPath: ".spec.deploymentType" },
            { name: "Desired", type: "integer", jsonPath: ".status.desiredReplicas" },
            { name: "Ready", type: "integer", jsonPath: ".status.readyReplicas" },
            // Capacity at a glance; empty unless spec.autoscaling is enabled.
            { name: "Sessions", type: "integer", jsonPath: ".status.autoscaling.sessions" },
            { name: "Load%", type: "integer", jsonPath: ".status.autoscaling.loadPercent" },
            { name: "Headroom", type: "integer", jsonPath: ".status.autoscaling.headroomSessions" },
            { name: "Draining", type: "integer", jsonPath: ".status.autoscaling.drainingPods", priority: 1 },
            {
              name: "Status",
              type: "string",
              jsonPath: '.status.conditions[?(@.type=="Ready")].reason',
              priority: 1,
            },
            { name: "Endpoint", type: "string", jsonPath: ".status.endpoint" },
            // The ports to open for call media (one per media worker).
            { name: "Media", type: "string", jsonPath: ".status.mediaPorts.summary", priority: 1 },
            { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
          ],
          schema: {
            openAPIV3Schema: {
              type: "object",
              description:
                "MattermostRTCD runs rtcd, the media server of Mattermost Calls, and reports the URL to give the Mattermost server.",
              properties: {
                apiVersion: { type: "string", description: "API version of this object." },
                kind: { type: "string", description: "Kind of this object." },
                metadata: { type: "object" },
                spec: toCrdSchema(specSchema),
                status: toCrdSchema(statusSchema),
              },
              "x-kubernetes-validations": [
                // No fieldPath: metadata has no declared properties to point into.
                { rule: NAME_RULE.rule, message: `metadata.name ${NAME_RULE.message}` },
              ],
            },
          },
        },
      ],
    },
  };
}
