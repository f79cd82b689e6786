// The benchmark's printed table and per-CR arithmetic.
import { WRITE_VERBS } from "./process.ts";

export const perCr = (m: Map<string, number>, N: number) =>
  Object.fromEntries([...m].map(([k, v]) => [k, Math.round((v / N) * 100) / 100]));
export const total = (m: Map<string, number>, pred: (verb: string) => boolean = () => true) =>
  [...m].filter(([k]) => pred(k.split(" ")[0]!)).reduce((a, [, v]) => a + v, 0);

export function printTable(
  N: number,
  r: Record<string, unknown>,
  opReq: Map<string, number>,
  floorReq: Map<string, number>,
  writes: Map<string, number>,
): void {
  const o = r["operator"] as Record<string, unknown>;
  const f = (r["floor"] ?? { controlPlaneCpuSeconds: {} }) as Record<string, unknown>;
  const s = r["resync"] as Record<string, unknown>;
  const cp = (x: Record<string, unknown>) => x["controlPlaneCpuSeconds"] as Record<string, number>;
  // Blank, not 0, when the floor did not run (--no-floor).
  const floorPerCr = (pred: (verb: string) => boolean) => (r["floor"] ? total(floorReq, pred) / N : "");
  const rows: [string, unknown, unknown][] = [
    ["time to all Ready (s)", o["readySeconds"], f["readySeconds"]],
    ["  of which creating/applying (s)", o["createSeconds"], f["applySeconds"]],
    ["ratio operator / floor", r["ratio"], ""],
    ["operator RSS at start, before the first CR (MiB)", o["rssAtStartMiB"], ""],
    [`operator RSS with ${N} CRs Ready (MiB)`, o["rssAtReadyMiB"], ""],
    ["operator peak RSS (MiB)", o["peakRssMiB"], ""],
    [
      "operator JS heap used at start / all Ready (MiB)",
      `${o["heapUsedAtStartMiB"]} / ${o["heapUsedAtReadyMiB"]}`,
      "",
    ],
    ["operator JS heap size, largest seen every 10 s (MiB)", o["heapTotalMaxMiB"], ""],
    [
      "controller-manager rate-limit wait (s)",
      o["controllerManagerThrottledSeconds"],
      f["controllerManagerThrottledSeconds"],
    ],
    ["kube-apiserver CPU (s)", cp(o)["kube-apiserver"], cp(f)["kube-apiserver"]],
    ["operator CPU during the run (s)", o["cpuSeconds"], ""],
    ["reconciles", o["reconciles"], ""],
    ["writes per CR", o["writesPerCr"], floorPerCr((v) => WRITE_VERBS.has(v))],
    ["reads per CR (get/list/watch)", o["readsPerCr"], floorPerCr((v) => !WRITE_VERBS.has(v))],
  ];
  const keys = [...new Set([...opReq.keys(), ...floorReq.keys()])].sort();
  for (const k of keys) {
    rows.push([
      `  ${k} per CR`,
      Math.round(((opReq.get(k) ?? 0) / N) * 100) / 100,
      r["floor"] ? (floorReq.get(k) ?? 0) / N : "",
    ]);
  }
  rows.push(["restart + resync: RSS after (MiB)", s["rssAfterResyncMiB"], ""]);
  rows.push(["restart + resync: peak RSS (MiB)", s["peakRssMiB"], ""]);
  rows.push(["restart + resync: JS heap used (MiB)", s["heapUsedAfterResyncMiB"], ""]);
  rows.push(["resync: reconciles", s["reconciles"], ""]);
  rows.push(["resync: writes (must be 0)", s["writes"], ""]);
  for (const [k, v] of writes) rows.push([`  ${k}`, v, ""]);
  const w0 = Math.max(...rows.map((x) => x[0].length));
  const line = (a: string, b: string, c: string) => `${a.padEnd(w0)}  ${b.padStart(10)}  ${c.padStart(10)}`;
  const p = r["params"] as Record<string, unknown>;
  process.stdout.write(`\noperator benchmark: ${p["crs"]} CRs, ${p["namespaces"]} namespaces\n`);
  process.stdout.write(line("", "operator", "floor") + "\n");
  for (const [a, b, c] of rows) process.stdout.write(line(a, String(b ?? "-"), String(c ?? "")) + "\n");
  process.stdout.write("\n");
}
