// A call: its router (on one worker; a call spanning workers would hold one
// router per worker, piped together), the audio level observer, its sessions
// and who is speaking. The only place that looks across sessions: a
// newcomer's catch-up, a track going live or closing (with the AV1/VP8 twin
// rule of forwarding.ts), voice activity. It closes its router when its last
// session has left, and tells its owner.
import type { types as ms } from "mediasoup";
import { RTCType } from "../calls/media.ts";
import type { Logger } from "../log.ts";
import { MEDIA_CODECS } from "./codecs.ts";
import { producerMime, supportsAV1, vp8Twin, type ProducerInfo } from "./forwarding.ts";
import type { CallHost, Session } from "./session.ts";
import type { WorkerSlot } from "./worker-pool.ts";

export class Call implements CallHost {
  readonly key: string;
  readonly slot: WorkerSlot;
  readonly router: ms.Router;
  readonly levels: ms.AudioLevelObserver;
  private readonly sessions = new Map<string, Session>();
  private readonly speaking = new Set<string>();
  private readonly log: Logger;
  private readonly closed: (call: Call) => void;

  private constructor(
    key: string,
    slot: WorkerSlot,
    router: ms.Router,
    levels: ms.AudioLevelObserver,
    log: Logger,
    closed: (call: Call) => void,
  ) {
    this.key = key;
    this.slot = slot;
    this.router = router;
    this.levels = levels;
    this.log = log;
    this.closed = closed;
    levels.on("volumes", (volumes) => this.onVolumes(new Set(volumes.map((v) => v.producer.id))));
    levels.on("silence", () => this.onVolumes(new Set()));
  }

  // `closed` is called once the last session has left and the router is closed.
  static async create(
    key: string,
    slot: WorkerSlot,
    log: Logger,
    closed: (call: Call) => void,
  ): Promise<Call> {
    const router = await slot.worker.createRouter({ mediaCodecs: MEDIA_CODECS });
    const levels = await router.createAudioLevelObserver({ maxEntries: 64, threshold: -60, interval: 400 });
    return new Call(key, slot, router, levels, log, closed);
  }

  get size(): number {
    return this.sessions.size;
  }

  // A session of this call, from its transport's creation.
  add(s: Session): void {
    this.sessions.set(s.id, s);
    this.slot.sessions++;
  }

  // ---- CallHost: what a session tells its call ----

  left(s: Session): void {
    if (this.sessions.get(s.id) !== s) return;
    this.sessions.delete(s.id);
    this.slot.sessions--;
    if (this.sessions.size > 0) return;
    this.router.close();
    this.log.debug("media: call router closed");
    this.closed(this);
  }

  // Everything already flowing in this call, for the newcomer once its first
  // offer is answered.
  async joined(s: Session): Promise<void> {
    for (const other of this.sessions.values()) {
      if (other === s) continue;
      for (const p of other.producers()) if (p.live && !p.producer.closed) await s.consume(p);
    }
  }

  producerLive(p: ProducerInfo): void {
    for (const other of this.sessions.values()) {
      if (other.id === p.owner.cfg.SessionID || other.awaitingFirstOffer || other.isClosed) continue;
      // An AV1 track replaces its VP8 twin at the viewers that take AV1.
      const twin = producerMime(p) === "video/av1" ? vp8Twin(p) : undefined;
      if (twin && supportsAV1(other.cfg)) other.dropConsumersOf(twin.producer.id);
      other
        .consume(p)
        .catch((err: unknown) =>
          other.log.warn("media: consuming a new track failed", { error: String(err) }),
        );
    }
  }

  producerClosed(p: ProducerInfo): void {
    const ownerID = p.owner.cfg.SessionID;
    const owner = this.sessions.get(ownerID);
    if (this.speaking.delete(ownerID) && owner && !owner.isClosed) owner.notify(RTCType.VoiceOff);
    // Consumers close with it ("producerclose"); the viewers' sections go
    // inactive in their next offer.
    for (const other of this.sessions.values())
      if (other.id !== ownerID) other.dropConsumersOf(p.producer.id);
    // Without its AV1 track, the sender's VP8 one goes to the AV1 viewers.
    const twin = producerMime(p) === "video/av1" ? vp8Twin(p) : undefined;
    if (twin?.live)
      for (const other of this.sessions.values())
        if (other.id !== ownerID && !other.awaitingFirstOffer && !other.isClosed && supportsAV1(other.cfg))
          other
            .consume(twin)
            .catch((err: unknown) =>
              other.log.warn("media: consuming a VP8 track failed", { error: String(err) }),
            );
  }

  // The session muted: it is not speaking any more.
  muted(s: Session): void {
    if (this.speaking.delete(s.id)) s.notify(RTCType.VoiceOff);
  }

  // The worker holding the router died: every session of the call ends.
  workerDied(): void {
    for (const s of [...this.sessions.values()]) s.fail("worker", "mediasoup worker died");
  }

  private onVolumes(loud: Set<string>): void {
    const nowSpeaking = new Set<string>();
    for (const s of this.sessions.values()) if (s.speaksIn(loud)) nowSpeaking.add(s.id);
    for (const id of nowSpeaking)
      if (!this.speaking.has(id)) {
        this.speaking.add(id);
        this.sessions.get(id)?.notify(RTCType.VoiceOn);
      }
    for (const id of [...this.speaking])
      if (!nowSpeaking.has(id)) {
        this.speaking.delete(id);
        this.sessions.get(id)?.notify(RTCType.VoiceOff);
      }
  }
}
