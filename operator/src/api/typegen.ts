// Turns the schema into TypeScript declarations. The schema uses a small,
// fixed subset of OpenAPI, so a direct translation is shorter than adapting a
// general JSON Schema converter (which knows nothing of int-or-string or of
// the client-node types that embedded core objects map to).
import type { Schema } from "./openapi.ts";

/** Name of the variant of a named type in which every property with a schema default is required. */
export const defaultedName = (tsName: string): string => `Defaulted${tsName}`;

export function generateTypes(roots: readonly Schema[], header: string): string {
  const named = new Map<string, string>();
  const imports = new Set<string>();
  // Named types whose defaulted variant differs from them (so a Defaulted<name> is declared).
  const hasVariant = new Set<string>();

  // `defaulted`: the type after applyDefaults (or the API server) has filled in
  // defaults: properties with a default are required, nested types are their
  // defaulted variants.
  const typeOf = (s: Schema, indent: string, defaulted: boolean): string => {
    if (s.tsType) {
      for (const m of s.tsType.matchAll(/\bV1[A-Za-z]+/g)) imports.add(m[0]);
      return s.tsType;
    }
    if (s.tsName) {
      declare(s);
      if (!defaulted) return s.tsName;
      declareDefaulted(s);
      return hasVariant.has(s.tsName) ? defaultedName(s.tsName) : s.tsName;
    }
    return structural(s, indent, defaulted);
  };

  const structural = (s: Schema, indent: string, defaulted: boolean): string => {
    if (s["x-kubernetes-int-or-string"]) return "number | string";
    if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(" | ");
    switch (s.type) {
      case "string":
        return "string";
      case "integer":
      case "number":
        return "number";
      case "boolean":
        return "boolean";
      case "array": {
        const item = s.items ? typeOf(s.items, indent, defaulted) : "unknown";
        return /[ |]/.test(item) && !item.startsWith("{") ? `(${item})[]` : `${item}[]`;
      }
      default:
        if (s.properties) return objectLiteral(s, indent, defaulted);
        if (s.additionalProperties)
          return `Record<string, ${typeOf(s.additionalProperties, indent, defaulted)}>`;
        return "Record<string, unknown>";
    }
  };

  const property = (s: Schema, key: string, inner: string, defaulted: boolean): string => {
    const required =
      (s.required ?? []).includes(key) || (defaulted && s.properties![key]!.default !== undefined);
    const p = s.properties![key]!;
    const doc = p.description ? `${inner}${docComment(p, inner)}\n` : "";
    return `${doc}${inner}${key}${required ? "" : "?"}: ${typeOf(p, inner, defaulted)};`;
  };

  const objectLiteral = (s: Schema, indent: string, defaulted: boolean): string => {
    const inner = indent + "  ";
    const lines = Object.keys(s.properties ?? {}).map((k) => property(s, k, inner, defaulted));
    return `{\n${lines.join("\n")}\n${indent}}`;
  };

  const declare = (s: Schema): void => {
    const name = s.tsName!;
    if (named.has(name)) return;
    named.set(name, ""); // reserve: recursive references stop here
    const doc = s.description ? `${docComment(s, "")}\n` : "";
    const body = structural(s, "", false);
    named.set(
      name,
      body.startsWith("{")
        ? `${doc}export interface ${name} ${body}`
        : `${doc}export type ${name} = ${body};`,
    );
  };

  // Declares `Defaulted<name>` as the plain interface with the properties that
  // differ after defaulting redeclared, when there are any.
  const declareDefaulted = (s: Schema): void => {
    const name = s.tsName!;
    const variant = defaultedName(name);
    if (named.has(variant) || !s.properties) return;
    named.set(variant, ""); // reserve
    const changed = Object.keys(s.properties).filter(
      (k) => property(s, k, "  ", true) !== property(s, k, "  ", false),
    );
    if (changed.length === 0) {
      named.delete(variant);
      return;
    }
    hasVariant.add(name);
    const omitted = changed.map((k) => JSON.stringify(k)).join(" | ");
    const lines = changed.map((k) => property(s, k, "  ", true));
    named.set(
      variant,
      `/** ${name} after defaulting: the properties with a schema default are set. */\n` +
        `export interface ${variant} extends Omit<${name}, ${omitted}> {\n${lines.join("\n")}\n}`,
    );
  };

  for (const r of roots) {
    declare(r);
    declareDefaulted(r);
  }
  const importLine = imports.size
    ? `import type { ${[...imports].sort().join(", ")} } from "@kubernetes/client-node";\n\n`
    : "";
  const decls = [...named.entries()]
    .filter(([, code]) => code !== "")
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([, code]) => code)
    .join("\n\n");
  return `${header}\n${importLine}${decls}\n`;
}

function docComment(s: Schema, indent: string): string {
  const extra: string[] = [];
  if (s.default !== undefined) extra.push(`@default ${JSON.stringify(s.default)}`);
  const text = [s.description ?? "", ...extra].filter(Boolean).join("\n");
  const lines = text.replaceAll("*/", "*\\/").split("\n");
  return `/**\n${lines.map((l) => `${indent} * ${l}`).join("\n")}\n${indent} */`;
}
