// Media planes without media, for the control plane's own tests and for an
// rtcd built without the mediasoup plane (main.ts passes that one).
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
  "rtcd was built without a media plane (RtcdOptions.media): it cannot take calls";

// What an rtcd built without a media plane gets: its HTTP API serves, but
// every join is refused with MISSING_MEDIA_PLANE (the control plane logs it
// and sends the plugin `close`), instead of a call whose offers go
// unanswered.
export class MissingMediaPlane implements MediaPlane {
  readonly name = "missing";

  openSession(): void {
    throw new Error(MISSING_MEDIA_PLANE);
  }

  signal(): void {}

  closeSession(): void {}

  async close(): Promise<void> {}
}
