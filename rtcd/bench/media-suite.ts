// The media benchmark suite, one command: the seed's benchmark rows scaled
// to this machine, each with and without screen share, against ours and
// Mattermost's rtcd v1.2.6 (each run in a fresh process, ours first), then
// for each target the largest load it holds under 1 % loss on one axis:
// unmuted participants in one call of 50 (each unmuted one adds 49 x 50
// delivered packets/s: the "concurrent media flows" that cost an SFU, with
// the peer count, and so the generator's per-peer cost, fixed). Writes
// suite.md (tables) and suite.json (every number) to --out.
//
//   npm run bench:media:suite [-- --duration 15 --out DIR --skip-search --rows 2x4x2 --search-users 10]
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Result, Target } from "./bench-result.ts";
import { loadName, ratioRow, ratios, row, table, worstLoss } from "./bench-result.ts";
import { runInChild, type BenchOptions } from "./media-bench.ts";

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "15" },
    out: { type: "string" },
    "skip-search": { type: "boolean", default: false },
    "search-users": { type: "string", default: "50" },
    "search-start": { type: "string", default: "8" },
    // e.g. "2x4x2,1x10x2": other rows (a quick smoke run of the suite).
    rows: { type: "string" },
  },
});
const D = Number(values.duration);
const OUT = values.out ?? join(tmpdir(), `media-suite-${new Date().toISOString().replace(/[:.]/g, "-")}`);
mkdirSync(OUT, { recursive: true });
const TARGETS: Target[] = ["ours", "mattermost"];

// The seed's rows (calls x users x unmuted) scaled to 2 cores: 100x8x2 ->
// 10x8x2, 10x50x2 -> 2x50x2, 5x200x2 -> 1x200x2.
const ROWS: [number, number, number][] = values.rows
  ? values.rows.split(",").map((x) => x.split("x").map(Number) as [number, number, number])
  : [
      [10, 8, 2],
      [2, 50, 2],
      [1, 200, 2],
    ];

// A run holds the load when both audio and video lose under 1 %, and it
// says something about the SFU only if the generator kept its send rate.
const LOSS_LIMIT = 1;
const SEND_RATE_FLOOR = 95;

const started = new Date();
const load0 = loadAverage();
const t0 = performance.now();
const log = (s: string) => console.error(`suite ${((performance.now() - t0) / 1000).toFixed(0)}s: ${s}`);

function opts(calls: number, users: number, unmuted: number, screen: boolean): BenchOptions {
  return { calls, users, unmuted, screen, durationSeconds: D, generator: "go" };
}

function attempt(o: BenchOptions, target: Target): Result | { failed: string } {
  try {
    return runInChild(o, target, OUT);
  } catch (err) {
    return { failed: String(err instanceof Error ? err.message : err) };
  }
}

// 1. The rows.
const rows: { load: string; ours: Result | { failed: string }; mattermost: Result | { failed: string } }[] =
  [];
for (const [c, u, k] of ROWS)
  for (const screen of [false, true]) {
    const o = opts(c, u, k, screen);
    log(`row ${loadName(o)}`);
    const [ours, mattermost] = TARGETS.map((t) => attempt(o, t)) as [Result, Result];
    rows.push({ load: loadName(o), ours, mattermost });
  }

// 2. The most unmuted participants in one call of --search-users each
// target holds under 1 % loss: double from --search-start until a run
// fails, then bisect to within 10 %.
const SU = Number(values["search-users"]);
interface Step {
  unmuted: number;
  ok: boolean;
  why: string;
  result?: Result;
}
function probe(target: Target, unmuted: number): Step {
  log(`search ${target} 1x${SU}x${unmuted}`);
  const r = attempt(opts(1, SU, unmuted, false), target);
  if ("failed" in r) return { unmuted, ok: false, why: `run failed: ${r.failed.split("\n")[0]}` };
  const loss = worstLoss(r);
  const gen = r.generatorStats.sendRatePercent;
  if (gen < SEND_RATE_FLOOR)
    return { unmuted, ok: false, why: `generator limit (send rate ${gen} %), loss ${loss} %`, result: r };
  // Loss where the generator's own sockets dropped more than the SFU's is
  // the generator's (it could not read fast enough), not the SFU's.
  const genDrops = r.generatorStats.udpDrops ?? 0;
  if (loss >= LOSS_LIMIT && genDrops > r.sfuUdpDrops)
    return {
      unmuted,
      ok: false,
      why: `generator limit (its sockets dropped ${genDrops}), loss ${loss} %`,
      result: r,
    };
  if (loss >= LOSS_LIMIT)
    return { unmuted, ok: false, why: `loss ${loss} % (SFU sockets dropped ${r.sfuUdpDrops})`, result: r };
  return { unmuted, ok: true, why: `loss ${loss} %`, result: r };
}
function search(target: Target): { max: number | null; limit: string; steps: Step[] } {
  const steps: Step[] = [];
  let lo = 0;
  let hi = 0;
  let limit = `not reached: every one of the ${SU} participants unmuted`;
  for (let k = Number(values["search-start"]); lo < SU; k = Math.min(SU, k * 2)) {
    const s = probe(target, k);
    steps.push(s);
    if (!s.ok) {
      hi = k;
      limit = s.why;
      break;
    }
    lo = k;
  }
  while (hi > 0 && hi - lo > Math.max(1, lo * 0.1)) {
    const mid = Math.round((lo + hi) / 2);
    const s = probe(target, mid);
    steps.push(s);
    if (s.ok) lo = mid;
    else {
      hi = mid;
      limit = s.why;
    }
  }
  return { max: lo || null, limit: hi ? `at ${hi} unmuted: ${limit}` : limit, steps };
}
const searches = values["skip-search"] ? [] : TARGETS.map((t) => ({ target: t, ...search(t) }));

// 3. Report.
const seconds = Math.round((performance.now() - t0) / 1000);
const tableRows: string[][] = [];
const failures: string[] = [];
for (const r of rows) {
  // A failed run gets a short cell and its reason below the table.
  const failed = (x: Result | { failed: string }, t: Target) => {
    if (!("failed" in x)) return row(x);
    failures.push(`- ${r.load} ${t} [${failures.length + 1}]: ${x.failed.split("; Error")[0]}`);
    return [r.load, t, `failed [${failures.length}]`];
  };
  tableRows.push(failed(r.ours, "ours"), failed(r.mattermost, "mattermost"));
  if (!("failed" in r.ours) && !("failed" in r.mattermost))
    tableRows.push(ratioRow("", ratios(r.ours, r.mattermost)));
}
const SEARCH_HEADER = [
  "target",
  "load",
  "result",
  "delivered pkt/s",
  "SFU CPU %",
  "loss % audio / video",
  "video h %",
  "gen CPU %",
  "gen send rate %",
  "machine busy %",
  "UDP drops SFU / gen",
];
const searchRows = searches.flatMap((s) =>
  s.steps.map((st) => {
    const r = st.result;
    return [
      s.target,
      `1x${SU}x${st.unmuted}`,
      `${st.ok ? "holds" : "fails"}: ${st.why}`,
      r ? String(r.forwardedPerSecond) : "",
      r ? String(r.sfuCpuPercent) : "",
      r ? `${r.audioLossPercent}${r.videoLossPercent === null ? "" : ` / ${r.videoLossPercent}`}` : "",
      r ? String(r.videoHighLayerPercent ?? "") : "",
      r ? String(r.generatorStats.cpuPercentOfOneCore) : "",
      r ? String(r.generatorStats.sendRatePercent) : "",
      r ? String(r.machineBusyPercent) : "",
      r ? `${r.sfuUdpDrops} / ${r.generatorStats.udpDrops}` : "",
    ];
  }),
);
const machine = `${cpus().length} x ${cpus()[0]?.model ?? "?"}; load average at start ${load0}, at end ${loadAverage()}`;
const md = [
  `# Media benchmark suite`,
  ``,
  `Started ${started.toISOString()}, took ${seconds} s. Machine: ${machine}. Window ${D} s per run.`,
  ``,
  `Command: \`npm run bench:media:suite -- ${process.argv.slice(2).join(" ")}\`; each run is`,
  `\`npm run bench:media -- --calls C --users U --unmuted K [--screen] --duration ${D} --target T\``,
  `in a fresh process, ours first. Ratios are mattermost / ours.`,
  ``,
  `## Rows (C x U x K = calls x users per call x unmuted per call)`,
  ``,
  table(tableRows),
  ``,
  ...failures,
  ``,
  ...(searches.length
    ? [
        `## Largest load held under ${LOSS_LIMIT} % loss: unmuted participants in one call of ${SU}`,
        ``,
        ...searches.map((s) => {
          const best = s.steps.find((st) => st.ok && st.unmuted === s.max)?.result;
          const at = best
            ? ` = ${best.forwardedPerSecond} delivered pkt/s, SFU CPU ${best.sfuCpuPercent} %`
            : "";
          return `- **${s.target}**: ${s.max ?? "none"} unmuted${at} (next step: ${s.limit})`;
        }),
        ``,
        table(searchRows, SEARCH_HEADER),
      ]
    : []),
  ``,
].join("\n");
writeFileSync(join(OUT, "suite.md"), md);
writeFileSync(
  join(OUT, "suite.json"),
  JSON.stringify({ started, seconds, machine, durationSeconds: D, rows, searches }, null, 2),
);
console.log(md);
console.log(`\nwrote ${join(OUT, "suite.md")} and suite.json`);

function loadAverage(): string {
  return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
}
