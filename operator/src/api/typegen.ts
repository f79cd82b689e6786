// Turns the schema into TypeScript declarations. The schema uses a small,
// fixed subset of OpenAPI, so a direct translation is shorter than adapting a
// general JSON Schema converter (which knows nothing of int-or-string or of
// the client-node types that embedded core objects map to).
import type { Schema } from "./openapi.ts";

export function generateTypes(roots: readonly Schema[], header: string): string {
  const named = new Map<string, string>();
  const imports = new Set<string>();

  const typeOf = (s: Schema, indent: string): string => {
    if (s.tsType) {
      for (const m of s.tsType.matchAll(/\bV1[A-Za-z]+/g)) imports.add(m[0]);
      return s.tsType;
    }
    if (s.tsName) {
      declare(s);
      return s.tsName;
    }
    return structural(s, indent);
  };

  const structural = (s: Schema, indent: string): string => {
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
        const item = s.items ? typeOf(s.items, indent) : "unknown";
        return /[ |]/.test(item) && !item.startsWith("{") ? `(${item})[]` : `${item}[]`;
      }
      default:
        if (s.properties) return objectLiteral(s, indent);
        if (s.additionalProperties) return `Record<string, ${typeOf(s.additionalProperties, indent)}>`;
        return "Record<string, unknown>";
    }
  };

  const objectLiteral = (s: Schema, indent: string): string => {
    const inner = indent + "  ";
    const required = new Set(s.required ?? []);
    const lines = Object.entries(s.properties ?? {}).map(([k, p]) => {
      const doc = p.description ? `${inner}${docComment(p, inner)}\n` : "";
      return `${doc}${inner}${k}${required.has(k) ? "" : "?"}: ${typeOf(p, inner)};`;
    });
    return `{\n${lines.join("\n")}\n${indent}}`;
  };

  const declare = (s: Schema): void => {
    const name = s.tsName!;
    if (named.has(name)) return;
    named.set(name, ""); // reserve: recursive references stop here
    const doc = s.description ? `${docComment(s, "")}\n` : "";
    const body = structural(s, "");
    named.set(
      name,
      body.startsWith("{")
        ? `${doc}export interface ${name} ${body}`
        : `${doc}export type ${name} = ${body};`,
    );
  };

  for (const r of roots) declare(r);
  const importLine = imports.size
    ? `import type { ${[...imports].sort().join(", ")} } from "@kubernetes/client-node";\n\n`
    : "";
  const decls = [...named.entries()]
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
