// A client that joins and offers but never connects (its network went away,
// its ICE cannot reach us) must not keep its session for ever: rtcd's pion
// fails such a connection after its ICE timeouts and closes the session; a
// draining pod waits for its last session, so one that never ends would
// hold the pod (and its node's ports) for the whole termination grace.
import { afterAll, beforeAll, expect, test } from "vitest";
import { startInProcess, type InProcessRtcd } from "./support/in-process-rtcd.ts";
import { callsPeerConnection, Peer } from "./support/rtc-peer.ts";
import { until } from "./support/wait.ts";

const CONNECT_TIMEOUT_MS = 3000;
let r: InProcessRtcd;
const peers: Peer[] = [];

beforeAll(async () => {
  r = await startInProcess({
    name: "connect-timeout",
    workers: 1,
    key: "connect-timeout-key-0123456789abcdef",
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
  });
});

afterAll(async () => {
  for (const p of peers) await p.close();
  r.conn.close();
  await r.rtcd.stop();
});

test("a session whose client never connects is closed after the connect timeout; a connected one in the same call stays", async () => {
  const connected = new Peer(r.conn, "call", "stays");
  peers.push(connected);
  connected.join();
  await connected.offer({ send: true });
  await connected.connected();
  connected.startAudio();

  // An offer from a peer that is gone before it could start its ICE checks.
  const gone = callsPeerConnection();
  gone.addTransceiver("audio", { direction: "sendonly" });
  await gone.setLocalDescription(await gone.createOffer());
  const sdp = gone.localDescription!.sdp;
  await gone.close();
  const closed: string[] = [];
  r.conn.on("never", (type) => closed.push(type));
  r.conn.send("join", { callID: "call", userID: "user-never", sessionID: "never", channelID: "channel" });
  r.conn.send("rtc", {
    group_id: "plugin",
    user_id: "user-never",
    session_id: "never",
    call_id: "call",
    type: 2,
    data: Buffer.from(JSON.stringify({ type: "offer", sdp })),
  });
  const t0 = Date.now();
  await until(
    "the plugin told that the session closed",
    () => closed.includes("close"),
    4 * CONNECT_TIMEOUT_MS,
  );
  expect(Date.now() - t0).toBeGreaterThanOrEqual(CONNECT_TIMEOUT_MS - 500);
  // The connected session, older than the timeout, is still there.
  expect(r.plane.counts().transports).toBe(1);
  expect(connected.closed).toBe(false);
});
