// Shared definitions of the chart's values schema: the Kubernetes types the
// chart passes through (checked key by key so that a typo is refused) and the
// small value types used in several places. Their `title` is the type name
// the README table shows.
import {
  anyObject,
  bool,
  group,
  int,
  list,
  objects,
  oneOf,
  str,
  typed,
  type JsonSchema,
} from "./json-schema.ts";

// Listed rather than derived from `definitions` because definitions refer to each other.
export type DefinitionName =
  | "stringMap"
  | "nullableStringMap"
  | "quantityMap"
  | "port"
  | "probeSeconds"
  | "probeCount"
  | "intOrPercent"
  | "envVar"
  | "podSecurityContext"
  | "securityContext"
  | "resources"
  | "dnsConfig"
  | "affinity"
  | "toleration";

/** A `$ref` to one of the definitions below (the name is checked by the compiler). */
export function def(name: DefinitionName, description?: string): JsonSchema {
  return { $ref: `#/definitions/${name}`, ...(description === undefined ? {} : { description }) };
}

const titled = (title: string, schema: JsonSchema): JsonSchema => ({ title, ...schema });
const strings = list(str());

export const definitions = {
  stringMap: titled("map of strings", typed("object", undefined, { additionalProperties: str() })),
  nullableStringMap: titled(
    "map of strings",
    typed(["object", "null"], undefined, { additionalProperties: str() }),
  ),
  quantityMap: titled(
    "map of quantities",
    typed("object", undefined, { additionalProperties: typed(["string", "number"]) }),
  ),
  port: titled("port", int(undefined, { minimum: 1, maximum: 65535 })),
  probeSeconds: titled("integer", int(undefined, { minimum: 0 })),
  probeCount: titled("integer", int(undefined, { minimum: 1 })),
  intOrPercent: titled(
    "integer or percentage",
    typed(["integer", "string"], undefined, { minimum: 0, pattern: "^[0-9]+%$" }),
  ),
  envVar: titled(
    "EnvVar",
    group(undefined, { name: str(), value: str(), valueFrom: anyObject() }, { required: ["name"] }),
  ),
  podSecurityContext: titled(
    "PodSecurityContext",
    group(undefined, {
      appArmorProfile: anyObject(),
      fsGroup: int(),
      fsGroupChangePolicy: str(),
      runAsGroup: int(),
      runAsNonRoot: bool(),
      runAsUser: int(),
      seLinuxChangePolicy: str(),
      seLinuxOptions: anyObject(),
      seccompProfile: anyObject(),
      supplementalGroups: list(int()),
      supplementalGroupsPolicy: str(),
      sysctls: objects(),
      windowsOptions: anyObject(),
    }),
  ),
  securityContext: titled(
    "SecurityContext",
    group(undefined, {
      allowPrivilegeEscalation: bool(),
      appArmorProfile: anyObject(),
      capabilities: group(undefined, { add: strings, drop: strings }),
      privileged: bool(),
      procMount: str(),
      readOnlyRootFilesystem: bool(),
      runAsGroup: int(),
      runAsNonRoot: bool(),
      runAsUser: int(),
      seLinuxOptions: anyObject(),
      seccompProfile: anyObject(),
      windowsOptions: anyObject(),
    }),
  ),
  resources: titled(
    "ResourceRequirements",
    group(undefined, { limits: def("quantityMap"), requests: def("quantityMap"), claims: objects() }),
  ),
  dnsConfig: titled(
    "PodDNSConfig",
    group(undefined, {
      nameservers: strings,
      searches: strings,
      options: list(group(undefined, { name: str(), value: str() })),
    }),
  ),
  affinity: titled(
    "Affinity",
    group(undefined, {
      nodeAffinity: typed(["object", "null"]),
      podAffinity: typed(["object", "null"]),
      podAntiAffinity: typed(["object", "null"]),
    }),
  ),
  toleration: titled(
    "Toleration",
    group(undefined, {
      key: str(),
      operator: oneOf(["Exists", "Equal"]),
      value: str(),
      effect: oneOf(["NoSchedule", "PreferNoSchedule", "NoExecute", ""]),
      tolerationSeconds: int(),
    }),
  ),
} satisfies Record<DefinitionName, JsonSchema>;
