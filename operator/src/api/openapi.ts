// The subset of OpenAPI v3 (plus the Kubernetes extensions) that the CRD
// schema uses, and the two annotations only this project reads:
// - `tsName`/`tsType` steer the TypeScript generator (named interfaces, or a
//   type from @kubernetes/client-node for embedded core types);
// - `check` on a CEL rule is the same rule in TypeScript, so that
//   `validateOffline` and the API server reject the same specs.
// Both are removed when the CRD is written (see `toCrdSchema`).

export interface CelRule {
  rule: string;
  message: string;
  /** Relative to the node the rule sits on, e.g. ".replicas". */
  fieldPath?: string;
  reason?: "FieldValueInvalid" | "FieldValueForbidden" | "FieldValueRequired" | "FieldValueDuplicate";
  /** Offline twin of `rule`: true when the value is valid. */
  check: (self: never) => boolean;
}

export interface Schema {
  type?: "object" | "array" | "string" | "integer" | "boolean" | "number";
  description?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  additionalProperties?: Schema;
  enum?: readonly (string | number)[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  maxProperties?: number;
  pattern?: string;
  format?: string;
  "x-kubernetes-int-or-string"?: true;
  "x-kubernetes-preserve-unknown-fields"?: true;
  "x-kubernetes-list-type"?: "atomic" | "set" | "map";
  "x-kubernetes-list-map-keys"?: string[];
  "x-kubernetes-map-type"?: "atomic" | "granular";
  "x-kubernetes-validations"?: CelRule[];
  tsName?: string;
  tsType?: string;
}

const LOCAL_KEYS = new Set(["tsName", "tsType"]);

/** The schema as the API server must see it: local annotations and `check` functions removed. */
export function toCrdSchema(s: Schema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) {
    if (LOCAL_KEYS.has(k) || v === undefined) continue;
    if (k === "properties" || k === "additionalProperties" || k === "items") {
      out[k] =
        k === "properties"
          ? Object.fromEntries(
              Object.entries(v as Record<string, Schema>).map(([p, ps]) => [p, toCrdSchema(ps)]),
            )
          : toCrdSchema(v as Schema);
    } else if (k === "x-kubernetes-validations") {
      out[k] = (v as CelRule[]).map(({ rule, message, fieldPath, reason }) => ({
        rule,
        message,
        ...(fieldPath ? { fieldPath } : {}),
        ...(reason ? { reason } : {}),
      }));
    } else {
      out[k] = v;
    }
  }
  return out;
}

// Builders: they keep the schema files short and readable.
export function str(description: string, extra: Partial<Schema> = {}): Schema {
  return { type: "string", description, ...extra };
}
export function int(description: string, extra: Partial<Schema> = {}): Schema {
  return { type: "integer", format: "int32", description, ...extra };
}
export function bool(description: string, extra: Partial<Schema> = {}): Schema {
  return { type: "boolean", description, ...extra };
}
export function obj(
  description: string,
  properties: Record<string, Schema>,
  extra: Partial<Schema> = {},
): Schema {
  return { type: "object", description, properties, ...extra };
}
export function list(description: string, items: Schema, extra: Partial<Schema> = {}): Schema {
  return { type: "array", description, items, ...extra };
}
export function stringMap(description: string, extra: Partial<Schema> = {}): Schema {
  return {
    type: "object",
    description,
    additionalProperties: { type: "string", maxLength: 4096 },
    maxProperties: 64,
    ...extra,
  };
}
/** An embedded core type kept as-is (the API server validates it when the workload is applied). */
export function opaque(description: string, tsType: string, extra: Partial<Schema> = {}): Schema {
  return { type: "object", description, "x-kubernetes-preserve-unknown-fields": true, tsType, ...extra };
}
export function intOrString(description: string, extra: Partial<Schema> = {}): Schema {
  return { "x-kubernetes-int-or-string": true, description, ...extra, tsType: "number | string" };
}
