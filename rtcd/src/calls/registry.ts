// Sessions and calls as rtcd models them: a session belongs to a call, a
// call to a group (the plugin's client ID). Sessions outlive the WebSocket
// they joined on (the plugin reconnects and moves them); they end on
// `leave`, when the media plane gives up, or when a drain deadline passes.
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import { RTCType, type MediaPlane, type RTCMessage, type SessionConfig } from "./media.ts";

export interface Outbound {
  // Sends a protocol message on a connection; false if the connection is gone.
  send(connID: string, type: "close" | "rtc" | "vad", data: unknown): boolean;
}

interface Session {
  cfg: SessionConfig;
  // Where its messages go: the connection that joined, or the one that last
  // sent `reconnect` for it.
  connID: string;
  // Set while the media plane is still opening it; signals wait for it.
  pending: Promise<void> | undefined;
}

// IDs and props are copied into every session and served back over HTTP;
// rtcd stores whatever it gets, we refuse sizes no client sends.
const MAX_ID_BYTES = 256;
// Beyond any real rtcd load; stops a misbehaving client from growing memory
// without bound. Internal option, not a config key.
export const DEFAULT_MAX_SESSIONS = 20_000;

// Per-client and per-call quotas (limits.* config keys).
export interface SessionQuotas {
  perClient: number;
  perCall: number;
}
const NO_QUOTAS: SessionQuotas = { perClient: Infinity, perCall: Infinity };

export class CallRegistry {
  private readonly sessions = new Map<string, Session>();
  private readonly groups = new Map<string, Map<string, Set<string>>>();
  // Sessions per group, kept with `groups` so the quota check is O(1).
  private readonly perGroup = new Map<string, number>();
  private accepting = true;
  // Called whenever the last session has ended.
  onEmpty: (() => void) | undefined;
  // Called for every session admitted (newCall: it started a call here), so
  // that /system counts it as load before the CPU sample can (placement-load.ts).
  onAdmitted: ((newCall: boolean) => void) | undefined;

  private readonly media: MediaPlane;
  private readonly out: Outbound;
  private readonly metrics: Metrics;
  private readonly log: Logger;
  private readonly maxSessions: number;
  private readonly quotas: SessionQuotas;

  constructor(
    media: MediaPlane,
    out: Outbound,
    metrics: Metrics,
    log: Logger,
    maxSessions = DEFAULT_MAX_SESSIONS,
    quotas: SessionQuotas = NO_QUOTAS,
  ) {
    this.media = media;
    this.out = out;
    this.metrics = metrics;
    this.log = log;
    this.maxSessions = maxSessions;
    this.quotas = quotas;
  }

  get size(): number {
    return this.sessions.size;
  }

  // Draining: joins that would start a call here are refused from now on.
  stopNewCalls(): void {
    this.accepting = false;
  }

  get acceptingNewCalls(): boolean {
    return this.accepting;
  }

  hasCall(groupID: string, callID: string): boolean {
    return this.groups.get(groupID)?.has(callID) ?? false;
  }

  join(groupID: string, connID: string, data: Record<string, unknown>): void {
    const cfg = toSessionConfig(groupID, data);
    if (typeof cfg === "string") {
      this.log.error("calls: failed to initialize session", {
        err: `invalid session config: ${cfg}`,
        groupID,
      });
      return;
    }
    const log = this.log.with({ groupID, callID: cfg.CallID, sessionID: cfg.SessionID });
    if (this.sessions.has(cfg.SessionID)) {
      // rtcd: "user session already exists"; the existing session is untouched.
      log.error("calls: failed to initialize session: user session already exists");
      return;
    }
    const newCall = !this.hasCall(groupID, cfg.CallID);
    const quota =
      (this.perGroup.get(groupID) ?? 0) >= this.quotas.perClient
        ? ("sessions_per_client" as const)
        : (this.groups.get(groupID)?.get(cfg.CallID)?.size ?? 0) >= this.quotas.perCall
          ? ("sessions_per_call" as const)
          : undefined;
    if (quota && (!newCall || this.accepting)) {
      // As for the global cap: `close` makes the plugin drop the session.
      const limit = quota === "sessions_per_client" ? this.quotas.perClient : this.quotas.perCall;
      log.warn(`calls: refusing join: ${quota.replace(/_/g, " ")} limit reached`, {
        userID: cfg.UserID,
        limit,
        key: `limits.${quota}`,
      });
      this.metrics.limitRefusals.inc({ limit: quota });
      this.out.send(connID, "close", { sessionID: cfg.SessionID });
      return;
    }
    const refuse = newCall && !this.accepting ? "draining" : this.size >= this.maxSessions ? "capacity" : "";
    if (refuse) {
      // `close` makes the plugin drop the session; the user sees the join
      // fail and retries, by then on a host that takes new calls.
      log.warn(
        refuse === "draining"
          ? "calls: refusing join: it would start a new call on a draining host"
          : "calls: refusing join: session limit reached",
        { userID: cfg.UserID },
      );
      this.metrics.joinsRefused.inc({ groupID, reason: refuse });
      this.out.send(connID, "close", { sessionID: cfg.SessionID });
      return;
    }

    const s: Session = { cfg, connID, pending: undefined };
    this.sessions.set(cfg.SessionID, s);
    let calls = this.groups.get(groupID);
    if (!calls) this.groups.set(groupID, (calls = new Map()));
    let members = calls.get(cfg.CallID);
    if (!members) {
      calls.set(cfg.CallID, (members = new Set()));
      this.metrics.calls.inc({ groupID });
    }
    members.add(cfg.SessionID);
    this.perGroup.set(groupID, (this.perGroup.get(groupID) ?? 0) + 1);
    this.metrics.rtcSessions.inc({ groupID });
    this.metrics.groupSeen(groupID);
    log.info("calls: session joined", { userID: cfg.UserID, newCall, sessions: this.size });
    this.onAdmitted?.(newCall);

    const events = {
      send: (m: Omit<RTCMessage, "group_id" | "user_id" | "session_id" | "call_id">) => this.emit(s, m),
      ended: (reason: string) => {
        if (this.sessions.get(cfg.SessionID) === s) this.end(s, `media: ${reason}`, false);
      },
    };
    try {
      const r = this.media.openSession(cfg, events);
      if (r instanceof Promise) {
        s.pending = r.then(
          () => {
            if (this.sessions.get(cfg.SessionID) === s) s.pending = undefined;
          },
          (err: unknown) => {
            if (this.sessions.get(cfg.SessionID) === s)
              this.end(s, `media: open failed: ${String(err)}`, false);
          },
        );
      }
    } catch (err) {
      this.end(s, `media: open failed: ${String(err)}`, false);
    }
  }

  leave(groupID: string, sessionID: string): void {
    const s = this.owned(groupID, sessionID, "leave");
    if (s) this.end(s, "leave", true);
  }

  reconnect(groupID: string, connID: string, sessionID: string): void {
    const s = this.owned(groupID, sessionID, "reconnect");
    if (!s) return;
    this.log.debug("calls: session moved to connection", { sessionID, connID, from: s.connID });
    s.connID = connID;
  }

  signal(groupID: string, msg: RTCMessage): void {
    if (msg.session_id === "" || msg.type === 0) {
      this.log.error("calls: invalid rtc message", { groupID, type: msg.type });
      return;
    }
    const s = this.owned(groupID, msg.session_id, "rtc");
    if (!s) return;
    const deliver = () => {
      if (this.sessions.get(msg.session_id) !== s) return;
      try {
        this.media.signal(msg.session_id, msg);
      } catch (err) {
        // One bad signal must not stop the ones queued behind it.
        this.log.error("media: signal failed", {
          sessionID: msg.session_id,
          type: msg.type,
          err: String(err),
        });
      }
    };
    if (s.pending) s.pending = s.pending.then(deliver);
    else deliver();
  }

  getSession(groupID: string, callID: string, sessionID: string): SessionConfig | string {
    const members = this.lookupCall(groupID, callID);
    if (typeof members === "string") return members;
    if (!members.has(sessionID)) return "session not found";
    return this.sessions.get(sessionID)!.cfg;
  }

  getSessions(groupID: string, callID: string): SessionConfig[] | string {
    const members = this.lookupCall(groupID, callID);
    if (typeof members === "string") return members;
    return [...members].map((id) => this.sessions.get(id)!.cfg);
  }

  // Ends every session (drain deadline, shutdown), telling the plugin.
  closeAll(reason: string): void {
    for (const s of [...this.sessions.values()]) this.end(s, reason, true);
  }

  private lookupCall(groupID: string, callID: string): Set<string> | string {
    const calls = this.groups.get(groupID);
    if (!calls) return "group not found";
    const members = calls.get(callID);
    if (!members) return "call not found";
    return members;
  }

  // A session only its own group may touch (rtcd lets any client address
  // any session ID; we scope them to the client that created them).
  private owned(groupID: string, sessionID: string, what: string): Session | undefined {
    const s = this.sessions.get(sessionID);
    if (!s) {
      this.log.debug(`calls: ${what} for unknown session`, { groupID, sessionID });
      return undefined;
    }
    if (s.cfg.GroupID !== groupID) {
      this.log.warn(`calls: ${what} for a session of another client ignored`, { groupID, sessionID });
      return undefined;
    }
    return s;
  }

  private emit(s: Session, m: Omit<RTCMessage, "group_id" | "user_id" | "session_id" | "call_id">): void {
    if (this.sessions.get(s.cfg.SessionID) !== s) return;
    const type = m.type === RTCType.VoiceOn || m.type === RTCType.VoiceOff ? "vad" : "rtc";
    const msg: RTCMessage = {
      group_id: s.cfg.GroupID,
      user_id: s.cfg.UserID,
      session_id: s.cfg.SessionID,
      call_id: s.cfg.CallID,
      ...m,
    };
    if (this.out.send(s.connID, type, msg))
      this.metrics.wsMessages.inc({ clientID: s.cfg.GroupID, direction: "out", type });
    else this.log.error("calls: no connection for session", { sessionID: s.cfg.SessionID, connID: s.connID });
  }

  private end(s: Session, reason: string, tellMedia: boolean): void {
    const { GroupID: groupID, CallID: callID, SessionID: sessionID } = s.cfg;
    this.sessions.delete(sessionID);
    const calls = this.groups.get(groupID);
    const members = calls?.get(callID);
    members?.delete(sessionID);
    if (members?.size === 0) {
      calls!.delete(callID);
      this.metrics.calls.dec({ groupID });
    }
    if (calls?.size === 0) this.groups.delete(groupID);
    const left = (this.perGroup.get(groupID) ?? 1) - 1;
    if (left > 0) this.perGroup.set(groupID, left);
    else this.perGroup.delete(groupID);
    this.metrics.rtcSessions.dec({ groupID });
    this.log.info("calls: session ended", { groupID, callID, sessionID, reason, sessions: this.size });
    if (tellMedia) {
      try {
        const r = this.media.closeSession(sessionID);
        if (r instanceof Promise)
          r.catch((err: unknown) => this.log.error("media: close failed", { sessionID, err: String(err) }));
      } catch (err) {
        this.log.error("media: close failed", { sessionID, err: String(err) });
      }
    }
    // Unlike rtcd (which answers on the connection that joined), `close`
    // goes where the session's messages go now, so it survives a reconnect.
    if (!this.out.send(s.connID, "close", { sessionID }))
      this.log.warn("calls: could not send close, connection gone", { sessionID, connID: s.connID });
    if (this.sessions.size === 0) this.onEmpty?.();
  }
}

// rtcd's SessionConfig.FromMap + IsValid: non-string IDs count as empty.
function toSessionConfig(groupID: string, m: Record<string, unknown>): SessionConfig | string {
  const str = (k: string) => (typeof m[k] === "string" ? (m[k] as string) : "");
  const cfg: SessionConfig = {
    GroupID: groupID,
    CallID: str("callID"),
    UserID: str("userID"),
    SessionID: str("sessionID"),
    Props: {
      channelID: m["channelID"] ?? null,
      av1Support: m["av1Support"] ?? null,
      dcSignaling: m["dcSignaling"] ?? null,
    },
  };
  if (cfg.GroupID === "") return "invalid GroupID value: should not be empty";
  if (cfg.CallID === "") return "invalid CallID value: should not be empty";
  if (cfg.UserID === "") return "invalid UserID value: should not be empty";
  if (cfg.SessionID === "") return "invalid SessionID value: should not be empty";
  for (const id of [cfg.CallID, cfg.UserID, cfg.SessionID])
    if (Buffer.byteLength(id) > MAX_ID_BYTES) return `invalid ID value: longer than ${MAX_ID_BYTES} bytes`;
  for (const [k, v] of Object.entries(cfg.Props))
    if (!isSmallScalar(v))
      return `invalid ${k} value: expected a string of at most ${MAX_ID_BYTES} bytes or a boolean`;
  return cfg;
}

function isSmallScalar(v: unknown): boolean {
  if (v === null || typeof v === "boolean") return true;
  if (typeof v === "number") return Number.isFinite(v);
  return typeof v === "string" && Buffer.byteLength(v) <= MAX_ID_BYTES;
}
