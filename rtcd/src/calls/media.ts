// The seam between the control plane (WebSocket protocol, sessions, calls,
// draining) and a media plane (WebRTC transports, forwarding). The control
// plane owns which sessions exist; the media plane is told about them and
// talks back through MediaEvents. A mediasoup implementation plugs in here.

// rtc message types, as numbered by rtcd.
export const RTCType = {
  ICE: 1,
  SDP: 2,
  Mute: 3,
  Unmute: 4,
  ScreenOn: 5,
  ScreenOff: 6,
  VoiceOn: 7,
  VoiceOff: 8,
  VideoOn: 9,
  VideoOff: 10,
} as const;

// An `rtc` (or `vad`) message body: rtcd's rtc.Message with its msgpack keys.
export interface RTCMessage {
  group_id: string;
  user_id: string;
  session_id: string;
  call_id: string;
  type: number;
  // JSON (SDP, ICE candidate, {screenStreamID}, ...) as bytes; may be empty.
  data: Uint8Array;
}

export interface SessionProps {
  channelID: unknown;
  av1Support: unknown;
  dcSignaling: unknown;
}

// rtcd's rtc.SessionConfig: also the JSON of the sessions HTTP endpoints.
export interface SessionConfig {
  GroupID: string;
  CallID: string;
  UserID: string;
  SessionID: string;
  Props: SessionProps;
}

export interface MediaEvents {
  // Outgoing signaling for this session: ICE and SDP go to the plugin as
  // `rtc` messages, VoiceOn/VoiceOff as `vad`.
  send(msg: Omit<RTCMessage, "group_id" | "user_id" | "session_id" | "call_id">): void;
  // The media plane gave up on the session (ICE failed, peer gone...): the
  // control plane forgets it and tells the plugin with `close`.
  ended(reason: string): void;
}

export interface MediaPlane {
  readonly name: string;
  // Acquires what it needs (processes, ports) before the API serves.
  start?(): Promise<void>;
  // A join was accepted. Rejecting (throwing) makes the control plane drop
  // the session and send `close`.
  openSession(cfg: SessionConfig, events: MediaEvents): void | Promise<void>;
  // Signaling from the client, in the order it arrived.
  signal(sessionID: string, msg: RTCMessage): void;
  // The session left (or the control plane is closing it). Never called for
  // a session the media plane ended itself.
  closeSession(sessionID: string): void | Promise<void>;
  close(): Promise<void>;
  // CPU seconds used so far by the media plane's own processes (mediasoup
  // workers), for /system's load; the control plane adds its own process.
  cpuSeconds?(): number;
  // False when the media plane cannot serve any more (a dead mediasoup
  // worker that could not be replaced): /healthz and /readyz fail, so that
  // Kubernetes restarts the pod. Absent: always healthy.
  healthy?(): boolean;
}
