// The SDP offer/answer bookkeeping of one session, as pure code (no
// mediasoup objects: a section's producer and consumer are opaque handles),
// so its rules are tested without a worker (test/negotiation.test.ts):
// - the client offers first; its m-lines keep their index and mid;
// - consumers of ours wait in a queue and go out in one offer of ours at a
//   time, each in a new section with a fresh mid (s0, s1...: never reused)
//   or in an inactive section of ours of the same kind;
// - glare: as in rtcd, we are the impolite side of perfect negotiation. The
//   client's offer crossing ours is ignored: the Calls client (RTCPeer) is
//   polite, so ours arriving while its own is out rolls its own back, and it
//   answers ours and offers again (with a fresh mid for a track it was
//   adding). Were we polite as well, both sides would drop their own offer,
//   and the client's next offer would renumber an m-line we had answered.
import { SdpError, type LocalMedia, type MediaDesc } from "./sdp.ts";
import { rejectedSection } from "./sdp-mapping.ts";

// What negotiation needs of a consumer handle.
export interface Consumed {
  readonly closed: boolean;
  readonly producerId: string;
}

export interface Section<P, C extends Consumed> {
  media: LocalMedia;
  origin: "client" | "server";
  producer?: P;
  consumer?: C;
}

export class Negotiation<P, C extends Consumed> {
  private readonly secs: Section<P, C>[] = [];
  // Sections of an offer of ours the client has not answered yet.
  private offered: Section<P, C>[] | undefined;
  // Consumers waiting for the next offer of ours.
  private toOffer: Section<P, C>[] = [];
  private version = 0;
  private midCounter = 0;
  // A section of ours changed (went inactive) since our last offer.
  private dirty = false;
  private first = true;
  readonly sessionId: string;
  // Our DTLS role as written in SDP, fixed by the client's first offer.
  dtlsSetup: "active" | "passive" = "active";

  constructor(sessionId: string) {
    this.sessionId = sessionId;
  }

  get sections(): readonly Section<P, C>[] {
    return this.secs;
  }

  // No answer of ours yet: nothing is offered to the client before.
  get awaitingFirstOffer(): boolean {
    return this.first;
  }

  get offerOutstanding(): boolean {
    return this.offered !== undefined;
  }

  // Something waits for an offer of ours.
  get pending(): boolean {
    return this.toOffer.length > 0 || this.dirty;
  }

  // The client's offer arrived: answer it, or ignore it on glare (ours is
  // out; the client answers ours first, then offers again).
  clientOffer(): "answer" | "ignore" {
    return this.offered ? "ignore" : "answer";
  }

  // The section for the client's m-line `i` (a new one starts rejected).
  sectionAt(i: number, md: MediaDesc): Section<P, C> {
    const sec = this.secs[i];
    if (sec && sec.media.mid !== md.mid) throw new SdpError(`m-line ${i} changed its mid`);
    if (sec) return sec;
    const created: Section<P, C> = { media: rejectedSection(md), origin: "client" };
    this.secs.push(created);
    return created;
  }

  // Our answer to the client's offer: its media and SDP version. The first
  // answer opens the session to offers of ours.
  answer(): { version: number; media: LocalMedia[]; first: boolean } {
    const first = this.first;
    this.first = false;
    return { version: ++this.version, media: this.secs.map((x) => x.media), first };
  }

  queue(sec: Section<P, C>): void {
    this.toOffer.push(sec);
  }

  // A consumer of `producerId` is queued, offered or in a section.
  has(producerId: string): boolean {
    const all = [...this.secs, ...this.toOffer, ...(this.offered ?? [])];
    return all.some((x) => x.consumer?.producerId === producerId);
  }

  // The section stops carrying its consumer (returned, for the caller to
  // close); a section of ours goes inactive in our next offer.
  drop(sec: Section<P, C>): C | undefined {
    const c = sec.consumer;
    sec.consumer = undefined;
    const { send: _send, ...rest } = sec.media;
    sec.media = { ...rest, direction: "inactive" };
    if (sec.origin === "server") this.dirty = true;
    return c;
  }

  // Drops every consumer of `producerId`; undefined when there was none
  // (nothing to renegotiate).
  dropConsumersOf(producerId: string): C[] | undefined {
    const all = [...this.secs, ...this.toOffer];
    if (!all.some((sec) => sec.consumer?.producerId === producerId)) return undefined;
    const out: C[] = [];
    for (const sec of all)
      if (sec.consumer?.producerId === producerId) {
        const c = this.drop(sec);
        if (c) out.push(c);
      }
    this.toOffer = this.toOffer.filter((sec) => sec.consumer);
    return out;
  }

  // Our next offer, when something changed and none is outstanding.
  takeOffer(): { version: number; media: LocalMedia[] } | undefined {
    if (this.offered || this.first) return undefined;
    const adds = this.toOffer.filter((sec) => sec.consumer && !sec.consumer.closed);
    this.toOffer = [];
    if (adds.length === 0 && !this.dirty) return undefined;
    this.dirty = false;
    const offered: Section<P, C>[] = [];
    for (const sec of adds) {
      // Reuse an inactive section of ours of the same kind, else a new mid.
      const reuse = this.secs.find(
        (x) => x.origin === "server" && !x.consumer && x.media.kind === sec.media.kind && x.media.port !== 0,
      );
      if (reuse) {
        offered.push(reuse);
        reuse.consumer = sec.consumer;
        reuse.media = { ...sec.media, mid: reuse.media.mid };
        continue;
      }
      sec.media.mid = this.nextMid();
      this.secs.push(sec);
      offered.push(sec);
    }
    this.offered = offered;
    return { version: ++this.version, media: this.secs.map((x) => x.media) };
  }

  // The consumers our outstanding offer names (none when no offer is out).
  offeredConsumers(): C[] {
    return (this.offered ?? []).flatMap((sec) => (sec.consumer ? [sec.consumer] : []));
  }

  // The client's answer to our offer; sections of ours it rejected (port 0)
  // are dropped, their consumers returned. False: no offer was outstanding.
  applyAnswer(answer: readonly { mid: string; port: number }[]): C[] | false {
    if (!this.offered) return false;
    const out: C[] = [];
    for (const md of answer) {
      const sec = this.secs.find((x) => x.media.mid === md.mid);
      if (sec?.origin === "server" && md.port === 0) {
        const c = this.drop(sec);
        if (c) out.push(c);
      }
    }
    this.offered = undefined;
    return out;
  }

  // Every consumer the session holds (sections, offered, queued).
  consumers(): C[] {
    const all = [...this.secs, ...(this.offered ?? []), ...this.toOffer];
    return [...new Set(all.flatMap((x) => (x.consumer ? [x.consumer] : [])))];
  }

  private nextMid(): string {
    const used = new Set(this.secs.map((x) => x.media.mid));
    let mid: string;
    do mid = `s${this.midCounter++}`;
    while (used.has(mid));
    return mid;
  }
}
