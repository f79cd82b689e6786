// The subset of JSON Schema (draft-07) that Helm checks chart values with, and
// builders that keep the chart's values definition (values-schema.ts) short.
// Unlike the CRD's OpenAPI schema (src/api/openapi.ts) this dialect has type
// unions, $ref, anyOf and propertyNames, which the official chart's loose
// values (a number as an image tag, `tolerations: {}`) need.

export type JsonType = "object" | "array" | "string" | "integer" | "number" | "boolean" | "null";

export interface JsonSchema {
  $schema?: string;
  $comment?: string;
  $ref?: string;
  title?: string;
  type?: JsonType | JsonType[];
  description?: string;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: boolean | JsonSchema;
  propertyNames?: JsonSchema;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  enum?: readonly string[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  maxProperties?: number;
  uniqueItems?: boolean;
  pattern?: string;
  definitions?: Record<string, JsonSchema>;
}

type Extra = Omit<JsonSchema, "type" | "description">;

/** A value of the given type(s); `description` may be omitted for items of Kubernetes types. */
export function typed(type: JsonType | JsonType[], description?: string, extra: Extra = {}): JsonSchema {
  return { type, ...(description === undefined ? {} : { description }), ...extra };
}
export const str = (description?: string, extra: Extra = {}): JsonSchema =>
  typed("string", description, extra);
export const int = (description?: string, extra: Extra = {}): JsonSchema =>
  typed("integer", description, extra);
export const bool = (description?: string): JsonSchema => typed("boolean", description);
export const oneOf = (values: readonly string[], description?: string): JsonSchema =>
  typed("string", description, { enum: values });
export const list = (items: JsonSchema, description?: string, extra: Extra = {}): JsonSchema =>
  typed("array", description, { items, ...extra });
/** A free-form object (an embedded Kubernetes type the API server checks when the object is applied). */
export const anyObject = (description?: string): JsonSchema => typed("object", description);
/** A list of free-form objects. */
export const objects = (description?: string): JsonSchema => list(anyObject(), description);

/**
 * One of the chart's own groups of keys: unknown keys are refused (so a typo
 * fails the install, naming the key), and the README table gets a row per key.
 */
export function group(
  description: string | undefined,
  properties: Record<string, JsonSchema>,
  extra: Extra = {},
): JsonSchema {
  return {
    type: "object",
    ...(description === undefined ? {} : { description }),
    additionalProperties: false,
    properties,
    ...extra,
  };
}
