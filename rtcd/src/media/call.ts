// A call: a router on each worker that holds one of its sessions
// (call-router.ts), its sessions and who is speaking. Sessions stay on their
// worker: a track reaches a viewer on another worker through a pipe between
// the two routers, made when a viewer there first needs it (reach()). The
// only place that looks across sessions: a newcomer's catch-up, a track
// going live or closing (with the AV1/VP8 twin rule of forwarding.ts), voice
// activity (each router's observer watches the voice tracks sent to it, and
// the call merges them). A router closes when its worker's last session of
// the call has left; the call tells its owner when the last one has.
import { RTCType } from "../calls/media.ts";
import type { Logger } from "../log.ts";
import { CallRouter } from "./call-router.ts";
import { producerMime, supportsAV1, vp8Twin, type ProducerInfo } from "./forwarding.ts";
import type { CallHost, Session } from "./session.ts";
import type { WorkerSlot } from "./worker-pool.ts";

export class Call implements CallHost {
  readonly key: string;
  // By worker, in the order the call reached them (being created, or made).
  private readonly routers = new Map<WorkerSlot, Promise<CallRouter>>();
  private readonly made = new Map<WorkerSlot, CallRouter>();
  // Joins on their way to a worker's router: it stays open for them.
  private readonly reserved = new Map<WorkerSlot, number>();
  private readonly sessions = new Map<string, Session>();
  private readonly placed = new Map<string, CallRouter>();
  // Each router's latest loud voice tracks (producer IDs).
  private readonly loud = new Map<CallRouter, ReadonlySet<string>>();
  private readonly speaking = new Set<string>();
  private readonly log: Logger;
  private readonly closed: (call: Call) => void;
  private over = false;

  constructor(key: string, log: Logger, closed: (call: Call) => void) {
    this.key = key;
    this.log = log;
    this.closed = closed;
  }

  get size(): number {
    return this.sessions.size;
  }

  // Once its last session has left: a join needs a new Call.
  get ended(): boolean {
    return this.over;
  }

  // The live workers holding the call, in the order it reached them.
  hosting(): WorkerSlot[] {
    return [...this.routers.keys()].filter((s) => s.alive);
  }

  // Its routers (introspection, cleanup).
  callRouters(): CallRouter[] {
    return [...this.made.values()];
  }

  /**
   * The call's router on `slot` for a joining session, made on first use.
   * The session counts there from now on; release() it if its transport
   * cannot be made, or add() the session.
   */
  async reserve(slot: WorkerSlot): Promise<CallRouter> {
    this.reserved.set(slot, (this.reserved.get(slot) ?? 0) + 1);
    try {
      let made = this.routers.get(slot);
      if (!made) {
        made = this.createRouter(slot);
        this.routers.set(slot, made);
      }
      const r = await made;
      if (r.closed) throw new Error("the call's router on this worker is closed");
      r.sessions++;
      slot.sessions++;
      return r;
    } finally {
      const n = (this.reserved.get(slot) ?? 1) - 1;
      if (n > 0) this.reserved.set(slot, n);
      else this.reserved.delete(slot);
      this.tidy(slot);
    }
  }

  // A join that found no worker: a call it alone created is forgotten.
  abandoned(): void {
    this.tidy(undefined);
  }

  // A reservation whose session never started.
  release(r: CallRouter): void {
    r.sessions--;
    r.slot.sessions--;
    this.tidy(r.slot);
  }

  // A session of this call, from its transport's creation.
  add(s: Session, r: CallRouter): void {
    this.sessions.set(s.id, s);
    this.placed.set(s.id, r);
  }

  // ---- CallHost: what a session tells its call ----

  left(s: Session): void {
    if (this.sessions.get(s.id) !== s) return;
    const r = this.placed.get(s.id);
    this.sessions.delete(s.id);
    this.placed.delete(s.id);
    if (!r) return;
    this.release(r);
  }

  // Makes `p` consumable on `at`: piped from its sender's router when that
  // is another worker's. False when it cannot be (sender or router gone).
  reach(p: ProducerInfo, at: CallRouter): Promise<boolean> {
    const from = this.placed.get(p.owner.cfg.SessionID);
    if (!from || from.closed || at.closed || p.producer.closed) return Promise.resolve(false);
    if (from === at) return Promise.resolve(true);
    return at.pipeFrom(from, p.producer);
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

  // A worker died: the sessions on it end (their tracks leave the others'
  // sections); its router and the pipes to and from it are gone with it,
  // and the rest of the call goes on.
  workerDied(slot: WorkerSlot): void {
    const r = this.made.get(slot);
    if (r)
      for (const s of [...this.sessions.values()])
        if (this.placed.get(s.id) === r) s.fail("worker", "mediasoup worker died");
    this.tidy(slot);
  }

  // ---- internals ----

  private async createRouter(slot: WorkerSlot): Promise<CallRouter> {
    let r: CallRouter;
    try {
      r = await CallRouter.create(slot, this.log);
    } catch (err) {
      this.routers.delete(slot);
      throw err;
    }
    this.made.set(slot, r);
    r.levels.on("volumes", (volumes) => this.onVolumes(r, new Set(volumes.map((v) => v.producer.id))));
    r.levels.on("silence", () => this.onVolumes(r, new Set()));
    this.log.debug("media: call router created", { worker: slot.index });
    return r;
  }

  // Closes the router on `slot` once no session of the call is there or on
  // its way, and ends the call once no router is left.
  private tidy(slot: WorkerSlot | undefined): void {
    const r = slot && this.made.get(slot);
    if (r && r.sessions === 0 && !this.reserved.has(slot)) {
      r.close();
      this.made.delete(r.slot);
      this.routers.delete(r.slot);
      this.loud.delete(r);
      this.log.debug("media: call router closed", { worker: r.slot.index });
    }
    if (this.routers.size === 0 && this.reserved.size === 0 && this.sessions.size === 0 && !this.over) {
      this.over = true;
      this.closed(this);
    }
  }

  private onVolumes(r: CallRouter, loud: ReadonlySet<string>): void {
    this.loud.set(r, loud);
    const all = new Set<string>();
    for (const ids of this.loud.values()) for (const id of ids) all.add(id);
    const nowSpeaking = new Set<string>();
    for (const s of this.sessions.values()) if (s.speaksIn(all)) nowSpeaking.add(s.id);
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
