// Structural defaulting the way the API server does it, from the same schema:
// an absent (or null, non-nullable) property with a default gets a deep copy
// of it, then defaulting continues inside every value, the new ones included.
// So an offline render sees exactly the object the API server would store.
import type { Schema } from "./openapi.ts";
import { specSchema } from "./schema.ts";
import type { DefaultedMattermostRTCD, MattermostRTCD } from "./types.ts";

/** Fills in `cr` in place and returns it, typed with the defaulted fields set. */
export function applyDefaults(cr: MattermostRTCD): DefaultedMattermostRTCD {
  const holder = cr as unknown as Record<string, unknown>;
  if (holder.spec === undefined || holder.spec === null) holder.spec = structuredClone(specSchema.default);
  defaultValue(holder.spec, specSchema);
  // The walk above set every property with a default, which is what the type says.
  return cr as DefaultedMattermostRTCD;
}

function defaultValue(value: unknown, schema: Schema): void {
  if (Array.isArray(value)) {
    if (schema.items) for (const item of value) defaultValue(item, schema.items);
    return;
  }
  if (value === null || typeof value !== "object") return;
  const o = value as Record<string, unknown>;
  if (schema.properties) {
    for (const [key, prop] of Object.entries(schema.properties)) {
      if ((o[key] === undefined || o[key] === null) && prop.default !== undefined) {
        o[key] = structuredClone(prop.default);
      } else if (o[key] === null) {
        // The API server prunes nulls of non-nullable fields.
        Reflect.deleteProperty(o, key);
      }
    }
    for (const [key, v] of Object.entries(o)) {
      const prop = schema.properties[key];
      if (prop) defaultValue(v, prop);
    }
  } else if (schema.additionalProperties) {
    for (const v of Object.values(o)) defaultValue(v, schema.additionalProperties);
  }
}
