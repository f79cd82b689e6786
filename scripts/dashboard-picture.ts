// `npm run picture:dashboard [-- OUT.svg]`: the picture of the shipped
// Grafana dashboard in docs/observability.md, drawn from a real run. Our rtcd
// (a real process) carries calls that start, grow and end over about two
// minutes, as the Calls client makes them (werift peers, calls-dc with the
// client's loss/RTT/jitter reports), one session fails signaling, and it
// drains at the end (SIGTERM, a late join refused); a real Prometheus scrapes
// it every second with the chart's scrape labels. Then every panel's queries
// run over the whole run (query_range) and are drawn as line charts.
// The steps below are timed: this is a scenario to look at, not a test.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { dashboardSvg, toPanels, type DashboardPanel, type RangeSeries } from "@mattermost-rtcd/e2e/plot";
import { startForPlugin, untilJoined } from "@mattermost-rtcd/rtcd/testing/plugin-rtcd";
import { stopRtcd } from "@mattermost-rtcd/rtcd/testing/procs";
import { Prometheus } from "@mattermost-rtcd/rtcd/testing/prometheus";
import { dashboardFile, fillVariables, OPERATOR_ROW } from "@mattermost-rtcd/rtcd/testing/dashboard-queries";
import { Peer, type PluginConn } from "@mattermost-rtcd/rtcd/testing/rtc-peer";
import { DCType, encodeDCMessage } from "@mattermost-rtcd/rtcd/media/dc-msg";

const root = join(import.meta.dirname, "..");
const out = process.argv[2] ?? join(root, "docs/dashboard.svg");
const KEY = "d".repeat(40);
// Grafana's $__rate_interval for a short range with 1 s scrapes.
const RATE_INTERVAL = "20s";
const say = (m: string) => process.stdout.write(`[picture] ${m}\n`);
const at = (seconds: number, t0: number) =>
  new Promise((resolve) => setTimeout(resolve, Math.max(0, t0 + seconds * 1000 - Date.now())));

const { r, conn } = await startForPlugin("ours", "picture", KEY);
const prom = await Prometheus.start({
  job: "mattermost-rtcd",
  target: new URL(r.url).host,
  labels: { namespace: "calls", service: "mattermost-rtcd", pod: "mattermost-rtcd-0" },
  ruleFiles: [],
});
const calls = new Map<string, Peer[]>();

async function call(c: PluginConn, callID: string, speakers: number, listeners: number): Promise<void> {
  const peers = [
    ...Array.from({ length: speakers }, (_, i) => ({
      p: new Peer(c, callID, `${callID}-s${i}`),
      send: true,
    })),
    ...Array.from({ length: listeners }, (_, i) => ({
      p: new Peer(c, callID, `${callID}-l${i}`),
      send: false,
    })),
  ];
  for (const { p } of peers) p.join();
  await untilJoined(
    r.url,
    KEY,
    callID,
    peers.map(({ p }) => p.sessionID),
  );
  for (const { p, send } of peers) await p.offer({ send, dataChannel: true });
  for (const { p } of peers) await p.connected();
  for (const { p, send } of peers) if (send) p.startAudio();
  calls.set(
    callID,
    peers.map(({ p }) => p),
  );
  say(`${callID}: ${speakers} speaking, ${listeners} listening`);
}

async function end(callID: string): Promise<void> {
  for (const p of calls.get(callID) ?? []) {
    p.leave();
    await p.close();
  }
  calls.delete(callID);
  say(`${callID} ended`);
}

// Each client reports what it measures on calls-dc, as the Calls client does.
let tick = 0;
const stats = setInterval(() => {
  tick++;
  for (const p of [...calls.values()].flat()) {
    p.dc?.send(
      encodeDCMessage({ type: DCType.LossRate, value: 0.005 + 0.01 * Math.abs(Math.sin(tick / 9)) }),
    );
    p.dc?.send(
      encodeDCMessage({ type: DCType.RoundTripTime, value: 0.02 + 0.01 * Math.abs(Math.sin(tick / 13)) }),
    );
    p.dc?.send(encodeDCMessage({ type: DCType.Jitter, value: 0.004 + 0.002 * Math.abs(Math.sin(tick / 7)) }));
  }
}, 1000);

const t0 = Date.now();
try {
  await call(conn, "standup", 1, 1);
  await at(20, t0);
  await call(conn, "planning", 2, 2);
  await at(40, t0);
  await call(conn, "support", 3, 1);
  await at(55, t0);
  // A session whose offer is not SDP: rtcd ends it with a signaling error.
  conn.send("join", {
    callID: "broken",
    userID: "u-broken",
    sessionID: "broken",
    channelID: "c",
    av1Support: false,
    dcSignaling: false,
  });
  await untilJoined(r.url, KEY, "broken", ["broken"]);
  conn.send("rtc", {
    group_id: "plugin",
    user_id: "u-broken",
    session_id: "broken",
    call_id: "broken",
    type: 2,
    data: Buffer.from(JSON.stringify({ type: "offer", sdp: "not an SDP" })),
  });
  await at(70, t0);
  await end("standup");
  await at(85, t0);
  say("SIGTERM: draining");
  r.proc.kill("SIGTERM");
  await at(88, t0);
  conn.send("join", {
    callID: "late",
    userID: "u-late",
    sessionID: "late",
    channelID: "c",
    av1Support: false,
    dcSignaling: false,
  });
  await at(100, t0);
  await end("planning");
  await at(110, t0);
  await end("support");
  await at(118, t0);
  const end_ = Date.now() / 1000;
  // The operator's row is left out: this run has no operator (its queries are
  // proven on a real operator by operator/test/prometheus-dashboard.int.test.ts).
  let row = "";
  const panels = (
    JSON.parse(readFileSync(dashboardFile, "utf8")) as { panels: DashboardPanel[] }
  ).panels.filter((p) => {
    if (p.type === "row") row = p.title;
    return row !== OPERATOR_ROW;
  });
  const exprs = new Set(
    panels
      .flatMap((p) => [p, ...(p.panels ?? [])])
      .flatMap((p) => (p.targets ?? []).map((t) => t.expr ?? "")),
  );
  const answers = new Map<string, RangeSeries[]>();
  for (const e of exprs)
    if (e) answers.set(e, await prom.queryRange(fillVariables(e, RATE_INTERVAL), t0 / 1000, end_, 2));
  const svg = dashboardSvg(
    toPanels(panels, (e) => answers.get(e) ?? [], t0 / 1000),
    {
      title: "mattermost-rtcd dashboard (charts/mattermost-rtcd/files/monitoring/dashboard.json)",
      subtitle:
        "A real run: our rtcd, werift clients, Prometheus scraping every 1 s; three calls start and end, one session fails signaling, SIGTERM at 85 s drains. The operator's row is not drawn (no operator in this run). Redraw: npm run picture:dashboard",
      columns: 3,
      panelWidth: 400,
      panelHeight: 210,
      xLabel: "seconds",
    },
  );
  writeFileSync(out, svg);
  say(`wrote ${out} (${answers.size} queries)`);
} finally {
  clearInterval(stats);
  for (const id of [...calls.keys()]) await end(id);
  conn.close();
  await prom.stop();
  await stopRtcd(r);
}
