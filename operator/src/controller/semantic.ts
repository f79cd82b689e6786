// Decides whether an object on the server already carries every field we want.
// Server-side apply with an unchanged intent is a no-op for the object, but it
// is still a write request; controllers that apply on every resync multiply
// API-server load by the number of objects they own. So we compare first and
// apply only when something we own differs (a human edit, a spec change).
//
// "Covers" is a subset test: fields the server defaults or other managers own
// (a GitOps tool's annotation) are ignored, because we never asked for them.
// The workload's replicas are ours (spec.replicas, default 2): to autoscale,
// point an HPA or `kubectl scale` at the MattermostRTCD's scale subresource.

type Json = unknown;

const QUANTITY_KEYS = new Set(["requests", "limits", "capacity", "allocatable"]);

export function covers(live: Json, desired: Json, path: readonly string[] = []): boolean {
  return firstDifference(live, desired, path) === undefined;
}

/** The path of the first desired field that the live object lacks or has a different value for. */
export function firstDifference(live: Json, desired: Json, path: readonly string[] = []): string | undefined {
  if (desired === undefined || desired === null) return undefined;
  if (Array.isArray(desired)) {
    if (desired.length === 0)
      return live === undefined || (Array.isArray(live) && live.length === 0) ? undefined : path.join(".");
    if (!Array.isArray(live)) return path.join(".");
    return arrayDifference(live, desired, path);
  }
  if (typeof desired === "object") {
    const entries = Object.entries(desired as Record<string, Json>).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return undefined;
    if (live === null || typeof live !== "object" || Array.isArray(live)) return path.join(".");
    for (const [k, v] of entries) {
      const d = firstDifference((live as Record<string, Json>)[k], v, [...path, k]);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  if (scalarEqual(live, desired, path)) return undefined;
  return path.join(".");
}

function arrayDifference(live: Json[], desired: Json[], path: readonly string[]): string | undefined {
  const key = mergeKey(desired);
  if (key) {
    for (const d of desired) {
      const id = (d as Record<string, Json>)[key];
      const match = live.find(
        (l) => l !== null && typeof l === "object" && (l as Record<string, Json>)[key] === id,
      );
      const diff = firstDifference(match, d, [...path, `[${key}=${String(id)}]`]);
      if (diff !== undefined) return diff;
    }
    return undefined;
  }
  // Atomic lists (tolerations, args, match expressions): the server keeps them
  // as a whole, so they must match element by element.
  if (live.length !== desired.length) return path.join(".");
  for (let i = 0; i < desired.length; i++) {
    const diff = firstDifference(live[i], desired[i], [...path, `[${i}]`]);
    if (diff !== undefined) return diff;
  }
  return undefined;
}

/** Lists the API server merges by a key (containers, env, ports, volumes, ...). */
function mergeKey(items: Json[]): string | undefined {
  for (const k of ["name", "containerPort", "mountPath", "ip", "uid"]) {
    if (
      items.every((i) => i !== null && typeof i === "object" && (i as Record<string, Json>)[k] !== undefined)
    ) {
      return k;
    }
  }
  return undefined;
}

function scalarEqual(live: Json, desired: Json, path: readonly string[]): boolean {
  if (live === desired) return true;
  const parent = path[path.length - 2];
  if (parent && QUANTITY_KEYS.has(parent) && (typeof live === "string" || typeof live === "number")) {
    const a = parseQuantity(String(live));
    const b = parseQuantity(String(desired));
    return a !== undefined && b !== undefined && Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
  }
  return false;
}

const SUFFIX: Record<string, number> = {
  "": 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** Parses a Kubernetes resource quantity ("100m", "15Gi", "1e3") to a number. */
export function parseQuantity(q: string): number | undefined {
  const m = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$/.exec(
    q.trim(),
  );
  if (!m) return undefined;
  const base = Number(m[1]);
  if (m[2]) return base * 10 ** Number(m[2].slice(1));
  const mult = SUFFIX[m[3] ?? ""];
  return mult === undefined ? undefined : base * mult;
}
