// The media plane until the mediasoup one exists: sessions are tracked by
// the control plane, signaling is logged and dropped. It never answers an
// offer, so a real client joined here gets no audio, and says so in the log.
import type { Logger } from "../log.ts";
import type { MediaEvents, MediaPlane, RTCMessage, SessionConfig } from "./media.ts";

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
