// Offline validation that mirrors what the API server checks: the structural
// schema (types, enums, bounds, patterns, required, list keys) and the CEL
// rules, whose TypeScript twins live next to them in the schema. Messages
// start with the field path, like the API server's.
import type { CelRule, Schema } from "./openapi.ts";
import { NAME_RULE, specSchema } from "./schema.ts";
import type { MattermostRTCD } from "./types.ts";

export function validateOffline(cr: MattermostRTCD): string[] {
  const errors: string[] = [];
  const name = cr.metadata?.name;
  if (!name) errors.push("metadata.name: required");
  else if (!NAME_RULE.check(name)) errors.push(`metadata.name: ${NAME_RULE.message}`);
  validate(cr.spec ?? {}, specSchema, "spec", errors);
  return errors;
}

function validate(value: unknown, s: Schema, path: string, errors: string[]): void {
  const typeError = checkType(value, s);
  if (typeError) {
    errors.push(`${path}: ${typeError}`);
    return;
  }
  if (s.enum && !s.enum.includes(value as string)) {
    errors.push(`${path}: must be one of ${s.enum.join(", ")} (got ${JSON.stringify(value)})`);
  }
  if (typeof value === "number") {
    if (s.minimum !== undefined && value < s.minimum) errors.push(`${path}: must be at least ${s.minimum}`);
    if (s.maximum !== undefined && value > s.maximum) errors.push(`${path}: must be at most ${s.maximum}`);
  }
  if (typeof value === "string" && !s["x-kubernetes-int-or-string"]) {
    if (s.minLength !== undefined && value.length < s.minLength)
      errors.push(`${path}: must be at least ${s.minLength} characters`);
    if (s.maxLength !== undefined && value.length > s.maxLength)
      errors.push(`${path}: must be at most ${s.maxLength} characters`);
  }
  // An int-or-string's pattern (a quantity) applies to its string form, as on the API server.
  if (typeof value === "string" && s.pattern !== undefined && !new RegExp(s.pattern).test(value))
    errors.push(`${path}: must match ${s.pattern}`);
  if (Array.isArray(value)) validateList(value, s, path, errors);
  else if (value !== null && typeof value === "object")
    validateObject(value as Record<string, unknown>, s, path, errors);
  for (const rule of s["x-kubernetes-validations"] ?? []) {
    if (!(rule.check as (v: unknown) => boolean)(value)) errors.push(celMessage(path, rule));
  }
}

function celMessage(path: string, rule: CelRule): string {
  return `${path}${rule.fieldPath ?? ""}: ${rule.message}`;
}

function checkType(value: unknown, s: Schema): string | undefined {
  if (s["x-kubernetes-int-or-string"]) {
    return Number.isInteger(value) || typeof value === "string"
      ? undefined
      : "must be an integer or a string";
  }
  switch (s.type) {
    case "object":
      return value !== null && typeof value === "object" && !Array.isArray(value)
        ? undefined
        : "must be an object";
    case "array":
      return Array.isArray(value) ? undefined : "must be a list";
    case "string":
      return typeof value === "string" ? undefined : "must be a string";
    case "integer":
      return Number.isInteger(value) ? undefined : "must be an integer";
    case "number":
      return typeof value === "number" ? undefined : "must be a number";
    case "boolean":
      return typeof value === "boolean" ? undefined : "must be true or false";
    default:
      return undefined;
  }
}

function validateList(value: unknown[], s: Schema, path: string, errors: string[]): void {
  if (s.minItems !== undefined && value.length < s.minItems)
    errors.push(`${path}: must have at least ${s.minItems} item(s)`);
  if (s.maxItems !== undefined && value.length > s.maxItems)
    errors.push(`${path}: must have at most ${s.maxItems} items`);
  const keys = s["x-kubernetes-list-map-keys"];
  const seen = new Set<string>();
  value.forEach((item, i) => {
    if (keys && item !== null && typeof item === "object") {
      const id = keys.map((k) => String((item as Record<string, unknown>)[k])).join("/");
      if (seen.has(id))
        errors.push(`${path}[${i}]: duplicate entry with ${keys.join("/")} ${JSON.stringify(id)}`);
      seen.add(id);
    }
    if (s.items) validate(item, s.items, `${path}[${i}]`, errors);
  });
}

function validateObject(o: Record<string, unknown>, s: Schema, path: string, errors: string[]): void {
  for (const req of s.required ?? []) {
    if (o[req] === undefined || o[req] === null) errors.push(`${path}.${req}: required`);
  }
  const size = Object.keys(o).length;
  if (s.maxProperties !== undefined && size > s.maxProperties)
    errors.push(`${path}: must have at most ${s.maxProperties} entries`);
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined || v === null) continue;
    const prop = s.properties?.[k] ?? s.additionalProperties;
    if (prop) validate(v, prop, `${path}.${k}`, errors);
    else if (!s["x-kubernetes-preserve-unknown-fields"]) errors.push(`${path}.${k}: unknown field`);
  }
}
