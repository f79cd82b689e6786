// The offer/answer bookkeeping of a session, without a worker: what goes in
// each offer of ours, mids, SDP versions and glare.
import { describe, expect, test } from "vitest";
import { Negotiation, type Section } from "../src/media/negotiation.ts";
import type { MediaDesc } from "../src/media/sdp.ts";

interface FakeConsumer {
  closed: boolean;
  producerId: string;
}
type Sec = Section<never, FakeConsumer>;

function clientMedia(mid: string, kind = "audio"): MediaDesc {
  return {
    kind,
    port: 9,
    proto: "UDP/TLS/RTP/SAVPF",
    formats: ["111"],
    mid,
    direction: "sendrecv",
    codecs: [],
    extensions: [],
    ssrcs: [],
    fid: [],
    rids: [],
  };
}

// A consumer section as the session queues it (mid assigned when offered).
function consumerSection(producerId: string, kind = "audio"): Sec {
  return {
    origin: "server",
    consumer: { closed: false, producerId },
    media: {
      kind,
      mid: "",
      port: 7,
      proto: "UDP/TLS/RTP/SAVPF",
      direction: "sendonly",
      codecs: [],
      extensions: [],
    },
  };
}

// A session that answered the client's first offer (one audio m-line).
function answered(): Negotiation<never, FakeConsumer> {
  const n = new Negotiation<never, FakeConsumer>("1");
  n.clientOffer();
  n.sectionAt(0, clientMedia("0"));
  n.answer();
  return n;
}

const mids = (media: { mid: string }[]) => media.map((m) => m.mid);

describe("Negotiation", () => {
  test("offers nothing before the client's first offer is answered", () => {
    const n = new Negotiation<never, FakeConsumer>("1");
    n.queue(consumerSection("p1"));
    expect(n.takeOffer()).toBeUndefined();
    n.sectionAt(0, clientMedia("0"));
    expect(n.answer().first).toBe(true);
    expect(mids(n.takeOffer()!.media)).toEqual(["0", "s0"]);
  });

  test("the outstanding offer's consumers are known until it is answered (they resume then)", () => {
    const n = answered();
    expect(n.offeredConsumers()).toEqual([]);
    n.queue(consumerSection("p1"));
    expect(n.offeredConsumers()).toEqual([]); // queued, not offered yet
    n.takeOffer();
    n.queue(consumerSection("p2"));
    expect(n.offeredConsumers().map((c) => c.producerId)).toEqual(["p1"]);
    n.applyAnswer([{ mid: "s0", port: 9 }]);
    expect(n.offeredConsumers()).toEqual([]);
  });

  test("one offer at a time: the next waits for the answer, then carries what queued meanwhile", () => {
    const n = answered();
    n.queue(consumerSection("p1"));
    expect(n.takeOffer()).toBeDefined();
    n.queue(consumerSection("p2"));
    expect(n.takeOffer()).toBeUndefined();
    expect(
      n.applyAnswer([
        { mid: "0", port: 9 },
        { mid: "s0", port: 9 },
      ]),
    ).toEqual([]);
    expect(mids(n.takeOffer()!.media)).toEqual(["0", "s0", "s1"]);
  });

  test("an answer without an outstanding offer is ignored", () => {
    expect(answered().applyAnswer([{ mid: "0", port: 0 }])).toBe(false);
  });

  test("SDP versions increase with every answer and offer", () => {
    const n = new Negotiation<never, FakeConsumer>("1");
    n.sectionAt(0, clientMedia("0"));
    const v1 = n.answer().version;
    n.queue(consumerSection("p1"));
    const v2 = n.takeOffer()!.version;
    n.applyAnswer([]);
    n.clientOffer();
    const v3 = n.answer().version;
    expect([v1, v2, v3]).toEqual([1, 2, 3]);
  });

  test("mids increase and are never reused", () => {
    const n = answered();
    n.queue(consumerSection("p1", "audio"));
    n.takeOffer();
    n.applyAnswer([]);
    // The client's section with an s-like mid is skipped over too.
    n.clientOffer();
    n.sectionAt(0, clientMedia("0"));
    n.sectionAt(2, clientMedia("s1", "video"));
    n.answer();
    n.queue(consumerSection("p2", "video"));
    expect(mids(n.takeOffer()!.media)).toEqual(["0", "s0", "s1", "s2"]);
  });

  test("a rejected or dropped section of ours goes inactive and is reused for the same kind", () => {
    const n = answered();
    n.queue(consumerSection("p1"));
    n.takeOffer();
    const closed = n.applyAnswer([{ mid: "s0", port: 0 }]);
    expect(closed).toEqual([{ closed: false, producerId: "p1" }]);
    expect(n.has("p1")).toBe(false);
    const next = n.takeOffer()!; // the inactive section is renegotiated
    expect(next.media[1]).toMatchObject({ mid: "s0", direction: "inactive" });
    expect(next.media[1]!.send).toBeUndefined();
    n.applyAnswer([]);
    n.queue(consumerSection("p2"));
    expect(n.takeOffer()!.media.map((m) => [m.mid, m.direction])).toEqual([
      ["0", "inactive"], // the client's m-line, rejected: sectionAt alone does not answer it
      ["s0", "sendonly"],
    ]);
  });

  test("dropping a producer's consumers renegotiates only when it had some", () => {
    const n = answered();
    expect(n.dropConsumersOf("p1")).toBeUndefined();
    n.queue(consumerSection("p1"));
    n.takeOffer();
    n.applyAnswer([]);
    expect(n.dropConsumersOf("p1")).toHaveLength(1);
    expect(n.pending).toBe(true);
    expect(n.takeOffer()!.media[1]!.direction).toBe("inactive");
  });

  test("a closed consumer waiting for an offer is not offered", () => {
    const n = answered();
    const sec = consumerSection("p1");
    n.queue(sec);
    sec.consumer!.closed = true;
    expect(n.takeOffer()).toBeUndefined();
  });

  test("glare: as rtcd, the client's offer crossing ours is ignored; the client answers ours and offers again", () => {
    // The Calls client (RTCPeer) is the polite side of perfect negotiation:
    // our offer arriving while its own is out rolls its own back, it answers
    // ours and offers again, with a fresh mid for a track it was adding.
    // Were we polite too, both would withdraw and the sections diverge.
    const n = answered();
    n.queue(consumerSection("p1"));
    expect(mids(n.takeOffer()!.media)).toEqual(["0", "s0"]);
    expect(n.clientOffer()).toBe("ignore");
    expect(n.offerOutstanding).toBe(true);
    n.applyAnswer([]);
    expect(n.clientOffer()).toBe("answer");
    n.sectionAt(0, clientMedia("0"));
    n.sectionAt(1, clientMedia("s0"));
    n.sectionAt(2, clientMedia("3", "video"));
    expect(mids(n.answer().media)).toEqual(["0", "s0", "3"]);
    expect(n.consumers()).toEqual([{ closed: false, producerId: "p1" }]);
  });

  test("a client m-line may not change its mid", () => {
    const n = answered();
    expect(() => n.sectionAt(0, clientMedia("x"))).toThrow(/changed its mid/);
  });
});
