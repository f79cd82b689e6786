// A media plane without media, for the control plane's own tests, and the
// error an rtcd built without any media plane gives.
import type { Logger } from "../log.ts";
import type { MediaEvents, MediaPlane, RTCMessage, SessionConfig } from "./media.ts";

// Tracks sessions and drops their signaling: for tests of the control plane
// (WebSocket protocol, sessions, draining) that need no media. Chosen
// explicitly; a real client joined here never gets an answer to its offer.
export class NoMediaPlane implements MediaPlane {
  readonly name = "none";
  private readonly open = new Set<string>();

  private readonly log: Logger;

  constructor(log: Logger) {
    this.log = log;
  }

  openSession(cfg: SessionConfig, _events: MediaEvents): void {
    this.open.add(cfg.SessionID);
  }

  signal(sessionID: string, msg: RTCMessage): void {
    this.log.debug("media: no media plane, dropping signaling", { sessionID, type: msg.type });
  }

  closeSession(sessionID: string): void {
    this.open.delete(sessionID);
  }

  async close(): Promise<void> {
    this.open.clear();
  }

  get sessionCount(): number {
    return this.open.size;
  }
}

export const MISSING_MEDIA_PLANE =
  "rtcd needs a media plane (RtcdOptions.media: the mediasoup one, or NoMediaPlane for control-plane tests)";
