import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { Drainer } from "../src/calls/drain.ts";
import {
  RTCType,
  type MediaEvents,
  type MediaPlane,
  type RTCMessage,
  type SessionConfig,
} from "../src/calls/media.ts";
import { NoMediaPlane } from "../src/calls/no-media.ts";
import { CallRegistry } from "../src/calls/registry.ts";
import { silentLogger } from "../src/log.ts";
import { Metrics } from "../src/metrics.ts";

interface Sent {
  connID: string;
  type: string;
  data: unknown;
}

class FakeMedia implements MediaPlane {
  readonly name = "fake";
  opened: SessionConfig[] = [];
  closed: string[] = [];
  signals: [string, number][] = [];
  events = new Map<string, MediaEvents>();
  openResult: () => void | Promise<void> = () => {};
  openSession(cfg: SessionConfig, events: MediaEvents) {
    this.opened.push(cfg);
    this.events.set(cfg.SessionID, events);
    return this.openResult();
  }
  signal(sessionID: string, msg: RTCMessage) {
    this.signals.push([sessionID, msg.type]);
  }
  closeSession(sessionID: string) {
    this.closed.push(sessionID);
  }
  async close() {}
}

function setup(media: MediaPlane = new FakeMedia(), maxSessions?: number) {
  const sent: Sent[] = [];
  const live = new Set(["conn1", "conn2"]);
  const metrics = new Metrics({ processMetrics: false });
  const reg = new CallRegistry(
    media,
    { send: (connID, type, data) => (live.has(connID) ? (sent.push({ connID, type, data }), true) : false) },
    metrics,
    silentLogger,
    maxSessions,
  );
  return { reg, sent, live, metrics };
}

const join = (callID: string, sessionID: string, extra: Record<string, unknown> = {}) => ({
  callID,
  userID: "user",
  sessionID,
  channelID: "chan",
  av1Support: true,
  dcSignaling: false,
  ...extra,
});

const rtc = (session_id: string, type: number): RTCMessage => ({
  group_id: "",
  user_id: "",
  session_id,
  call_id: "",
  type,
  data: new Uint8Array(),
});

async function gauge(metrics: Metrics, name: string): Promise<string> {
  return (await metrics.registry.getSingleMetricAsString(name))
    .split("\n")
    .filter((l) => !l.startsWith("#"))
    .join("\n");
}

describe("CallRegistry", () => {
  test("join creates the call; sessions are per client (group)", async () => {
    const { reg, metrics } = setup();
    reg.join("g1", "conn1", join("call", "s1"));
    reg.join("g1", "conn1", join("call", "s2"));
    expect(reg.size).toBe(2);
    const s = reg.getSessions("g1", "call");
    expect(Array.isArray(s) && s.map((c) => c.SessionID)).toEqual(["s1", "s2"]);
    expect(reg.getSession("g1", "call", "s1")).toEqual({
      GroupID: "g1",
      CallID: "call",
      UserID: "user",
      SessionID: "s1",
      Props: { channelID: "chan", av1Support: true, dcSignaling: false },
    });
    expect(reg.getSessions("g2", "call")).toBe("group not found");
    expect(reg.getSessions("g1", "other")).toBe("call not found");
    expect(reg.getSession("g1", "call", "nope")).toBe("session not found");
    expect(await gauge(metrics, "rtcd_rtc_sessions_total")).toBe('rtcd_rtc_sessions_total{groupID="g1"} 2');
  });

  test("rtcd_calls counts the calls in progress per group, so a draining pod shows what it still holds", async () => {
    const { reg, metrics } = setup();
    reg.join("g1", "conn1", join("a", "s1"));
    reg.join("g1", "conn1", join("a", "s2"));
    reg.join("g1", "conn1", join("b", "s3"));
    expect(await gauge(metrics, "rtcd_calls")).toBe('rtcd_calls{groupID="g1"} 2');
    reg.leave("g1", "s3");
    reg.leave("g1", "s1");
    expect(await gauge(metrics, "rtcd_calls")).toBe('rtcd_calls{groupID="g1"} 1');
  });

  test("invalid joins, duplicate sessions and oversized props are ignored", () => {
    const { reg, sent } = setup();
    reg.join("g", "conn1", { callID: "c", userID: "u" });
    reg.join("", "conn1", join("c", "s"));
    reg.join("g", "conn1", join("c", "s", { callID: 5 }));
    reg.join("g", "conn1", join("c", "s", { channelID: "x".repeat(300) }));
    reg.join("g", "conn1", join("c", "s", { av1Support: { nested: true } }));
    expect(reg.size).toBe(0);
    reg.join("g", "conn1", join("c", "s"));
    reg.join("g", "conn1", join("c", "s", { userID: "other" }));
    expect(reg.size).toBe(1);
    expect((reg.getSession("g", "c", "s") as SessionConfig).UserID).toBe("user");
    expect(sent).toEqual([]);
  });

  test("leave ends the session, tells the media plane and sends close", () => {
    const media = new FakeMedia();
    const { reg, sent } = setup(media);
    reg.join("g", "conn1", join("c", "s"));
    reg.leave("g", "s");
    expect(reg.size).toBe(0);
    expect(reg.hasCall("g", "c")).toBe(false);
    expect(media.closed).toEqual(["s"]);
    expect(sent).toEqual([{ connID: "conn1", type: "close", data: { sessionID: "s" } }]);
  });

  test("another client cannot leave, reconnect or signal a session", () => {
    const media = new FakeMedia();
    const { reg, sent } = setup(media);
    reg.join("g", "conn1", join("c", "s"));
    reg.leave("other", "s");
    reg.reconnect("other", "conn2", "s");
    reg.signal("other", rtc("s", RTCType.SDP));
    expect(reg.size).toBe(1);
    expect(media.signals).toEqual([]);
    expect(sent).toEqual([]);
  });

  test("reconnect moves the session's messages (including close) to the new connection", () => {
    const media = new FakeMedia();
    const { reg, sent, live } = setup(media);
    reg.join("g", "conn1", join("c", "s"));
    reg.reconnect("g", "conn2", "s");
    live.delete("conn1");
    media.events.get("s")!.send({ type: RTCType.SDP, data: new Uint8Array([1]) });
    media.events.get("s")!.send({ type: RTCType.VoiceOn, data: new Uint8Array() });
    reg.leave("g", "s");
    expect(sent.map((m) => [m.connID, m.type])).toEqual([
      ["conn2", "rtc"],
      ["conn2", "vad"],
      ["conn2", "close"],
    ]);
    expect(sent[0]!.data).toMatchObject({
      group_id: "g",
      user_id: "user",
      session_id: "s",
      call_id: "c",
      type: 2,
    });
  });

  test("signals reach the media plane in order, after an async open", async () => {
    const media = new FakeMedia();
    let resolveOpen!: () => void;
    media.openResult = () => new Promise<void>((r) => (resolveOpen = r));
    const { reg } = setup(media);
    reg.join("g", "conn1", join("c", "s"));
    reg.signal("g", rtc("s", RTCType.SDP));
    reg.signal("g", rtc("s", RTCType.ICE));
    expect(media.signals).toEqual([]);
    resolveOpen();
    await vi.waitFor(() =>
      expect(media.signals).toEqual([
        ["s", 2],
        ["s", 1],
      ]),
    );
    reg.signal("g", rtc("s", RTCType.Mute));
    await vi.waitFor(() => expect(media.signals).toHaveLength(3));
  });

  test("a signal the media plane throws on does not block the ones behind it", async () => {
    const media = new FakeMedia();
    let resolveOpen!: () => void;
    media.openResult = () => new Promise<void>((r) => (resolveOpen = r));
    const original = media.signal.bind(media);
    let first = true;
    media.signal = (id, msg) => {
      if (first) {
        first = false;
        throw new Error("boom");
      }
      original(id, msg);
    };
    const { reg } = setup(media);
    reg.join("g", "conn1", join("c", "s"));
    reg.signal("g", rtc("s", RTCType.SDP));
    reg.signal("g", rtc("s", RTCType.ICE));
    resolveOpen();
    await vi.waitFor(() => expect(media.signals).toEqual([["s", 1]]));
  });

  test("a failed open or a media-side end closes the session", async () => {
    const media = new FakeMedia();
    media.openResult = () => Promise.reject(new Error("no capacity"));
    const { reg, sent } = setup(media);
    reg.join("g", "conn1", join("c", "s1"));
    await vi.waitFor(() => expect(reg.size).toBe(0));
    media.openResult = () => {};
    reg.join("g", "conn1", join("c", "s2"));
    media.events.get("s2")!.ended("ice failed");
    expect(reg.size).toBe(0);
    expect(media.closed).toEqual([]);
    expect(sent.map((m) => m.data)).toEqual([{ sessionID: "s1" }, { sessionID: "s2" }]);
  });

  test("the session limit refuses joins with close", () => {
    const { reg, sent } = setup(new FakeMedia(), 1);
    reg.join("g", "conn1", join("c", "s1"));
    reg.join("g", "conn1", join("c", "s2"));
    expect(reg.size).toBe(1);
    expect(sent).toEqual([{ connID: "conn1", type: "close", data: { sessionID: "s2" } }]);
  });

  test("the no-media plane tracks sessions and drops signaling", () => {
    const media = new NoMediaPlane(silentLogger);
    const { reg, sent } = setup(media);
    reg.join("g", "conn1", join("c", "s"));
    reg.signal("g", rtc("s", RTCType.SDP));
    expect(media.sessionCount).toBe(1);
    reg.leave("g", "s");
    expect(media.sessionCount).toBe(0);
    expect(sent.map((m) => m.type)).toEqual(["close"]);
  });
});

describe("Drainer", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  test("no sessions: finishes at once", () => {
    const { reg, metrics } = setup();
    const finish = vi.fn();
    const d = new Drainer(reg, metrics, silentLogger, 60_000, finish);
    expect(d.ready).toBe(true);
    d.begin("SIGTERM");
    expect(d.ready).toBe(false);
    expect(finish).toHaveBeenCalledWith("no sessions");
  });

  test("refuses new calls, keeps running ones, ends with the last session, ignores repeats", async () => {
    const { reg, sent, metrics } = setup();
    const finish = vi.fn();
    const d = new Drainer(reg, metrics, silentLogger, 60_000, finish);
    reg.join("g", "conn1", join("running", "s1"));
    d.begin("SIGTERM");
    expect(d.ready).toBe(false);
    expect(await gauge(metrics, "rtcd_draining")).toBe("rtcd_draining 1");

    reg.join("g", "conn1", join("new", "s2"));
    expect(reg.hasCall("g", "new")).toBe(false);
    expect(sent).toEqual([{ connID: "conn1", type: "close", data: { sessionID: "s2" } }]);
    expect(await gauge(metrics, "rtcd_joins_refused_total")).toBe(
      'rtcd_joins_refused_total{groupID="g",reason="draining"} 1',
    );
    // The same call ID under another client is a different call.
    reg.join("g2", "conn1", join("running", "s4"));
    expect(reg.hasCall("g2", "running")).toBe(false);

    reg.join("g", "conn1", join("running", "s3"));
    expect(reg.size).toBe(2);

    d.begin("SIGTERM");
    vi.advanceTimersByTime(59_000);
    expect(finish).not.toHaveBeenCalled();
    reg.leave("g", "s1");
    expect(finish).not.toHaveBeenCalled();
    reg.leave("g", "s3");
    expect(finish).toHaveBeenCalledExactlyOnceWith("last session ended");
    vi.advanceTimersByTime(10_000);
    expect(finish).toHaveBeenCalledTimes(1);
  });

  test("the deadline closes what is left, telling the plugin", () => {
    const media = new FakeMedia();
    const { reg, sent, metrics } = setup(media);
    const finish = vi.fn();
    const d = new Drainer(reg, metrics, silentLogger, 30_000, finish);
    reg.join("g", "conn1", join("c", "s1"));
    reg.join("g", "conn2", join("c", "s2"));
    d.begin("SIGTERM");
    vi.advanceTimersByTime(29_999);
    expect(finish).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(finish).toHaveBeenCalledExactlyOnceWith("deadline");
    expect(reg.size).toBe(0);
    expect(media.closed.sort()).toEqual(["s1", "s2"]);
    expect(sent.map((m) => [m.connID, m.type])).toEqual([
      ["conn1", "close"],
      ["conn2", "close"],
    ]);
  });
});
