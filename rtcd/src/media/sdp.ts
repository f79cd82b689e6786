// The little SDP this media plane needs: parse a client's offer or answer
// into media sections, and write our own answers and offers. mediasoup
// speaks RTP parameters, not SDP; this is the translation layer. Only what
// WebRTC clients send is understood (unified plan, BUNDLE, rtcp-mux).

export type Direction = "sendrecv" | "sendonly" | "recvonly" | "inactive";

export interface CodecDesc {
  payloadType: number;
  name: string; // "opus", "VP8", "rtx", ...
  clockRate: number;
  channels?: number;
  fmtp: Record<string, string | number>;
  feedback: { type: string; parameter: string }[];
}

export interface SsrcDesc {
  ssrc: number;
  cname?: string;
  msid?: string;
}

export interface MediaDesc {
  kind: string; // audio | video | application
  port: number; // 0 = rejected
  proto: string;
  formats: string[];
  mid: string;
  direction: Direction;
  codecs: CodecDesc[];
  extensions: { id: number; uri: string }[];
  ssrcs: SsrcDesc[];
  // FID groups: [primary, rtx].
  fid: [number, number][];
  msid?: { stream: string; track: string };
  rids: { id: string; direction: string }[];
  simulcast?: string;
  iceUfrag?: string;
  icePwd?: string;
  fingerprint?: { algorithm: string; value: string };
  setup?: string;
  sctpPort?: number;
  maxMessageSize?: number;
}

export interface SessionDesc {
  iceUfrag?: string;
  icePwd?: string;
  fingerprint?: { algorithm: string; value: string };
  setup?: string;
  bundle: string[];
  media: MediaDesc[];
}

export class SdpError extends Error {}

const MAX_SDP_BYTES = 256 * 1024;

// What one offer may hold. Each is a few times what browsers send, so no
// real client meets them, while the work an offer can cause stays small
// (docs/security.md). Over a limit, the offer is refused with an SdpError
// naming it, and the media plane ends that one session.
export const SDP_LIMITS = {
  // m-lines: one per track a client sends or receives at once (rtcd reuses
  // inactive ones); the cap that was already here.
  sections: 256,
  // Payload types are 7 bits, so 128 distinct codecs or formats is every
  // one there can be (Chrome offers about 40 in a video section).
  codecs: 128,
  formats: 128,
  // Chrome: 5 per codec.
  feedback: 16,
  fmtpParams: 32,
  // Chrome: 14 in a video section; 255 IDs exist in the two-byte form.
  extensions: 32,
  // Chrome: 2 (4 with legacy simulcast RTX, 6 with FlexFEC) per section.
  ssrcs: 32,
  ssrcGroups: 16,
  // Simulcast layers: browsers send at most 3 or 4.
  rids: 8,
} as const;

// Per-section lookups while parsing, so attributes that name a payload
// type or SSRC cost one map lookup, not a scan of the section's list.
interface SectionIndex {
  index: number;
  codecs: Map<number, CodecDesc>;
  ssrcs: Map<number, SsrcDesc>;
}

function over(what: string, limit: number, sec?: SectionIndex): SdpError {
  const where = sec ? ` in m-line ${sec.index}` : "";
  return new SdpError(`more than ${limit} ${what}${where} (SDP limit)`);
}

export function parseSdp(sdp: string): SessionDesc {
  if (typeof sdp !== "string" || sdp.length === 0) throw new SdpError("empty SDP");
  if (sdp.length > MAX_SDP_BYTES) throw new SdpError("SDP too large");
  const lines = sdp.split(/\r?\n/).filter((l) => l.length > 0);
  if (!lines[0]?.startsWith("v=0")) throw new SdpError("SDP does not start with v=0");
  const session: SessionDesc = { bundle: [], media: [] };
  let m: MediaDesc | undefined;
  let idx: SectionIndex | undefined;
  for (const line of lines) {
    if (line.length < 2 || line[1] !== "=") throw new SdpError(`malformed SDP line: ${line.slice(0, 40)}`);
    const t = line[0];
    const v = line.slice(2);
    if (t === "m") {
      const parts = v.split(" ");
      if (parts.length < 3) throw new SdpError(`malformed m-line: ${v.slice(0, 40)}`);
      const port = Number(parts[1]!.split("/")[0]);
      if (!Number.isInteger(port) || port < 0 || port > 65535)
        throw new SdpError(`bad port in m-line: ${v.slice(0, 40)}`);
      if (session.media.length >= SDP_LIMITS.sections) throw over("media sections", SDP_LIMITS.sections);
      if (parts.length - 3 > SDP_LIMITS.formats)
        throw over("formats", SDP_LIMITS.formats, { index: session.media.length } as SectionIndex);
      m = {
        kind: parts[0]!,
        port,
        proto: parts[2]!,
        formats: parts.slice(3),
        mid: "",
        direction: "sendrecv",
        codecs: [],
        extensions: [],
        ssrcs: [],
        fid: [],
        rids: [],
      };
      idx = { index: session.media.length, codecs: new Map(), ssrcs: new Map() };
      session.media.push(m);
      continue;
    }
    if (t !== "a") continue;
    const colon = v.indexOf(":");
    const name = colon < 0 ? v : v.slice(0, colon);
    const value = colon < 0 ? "" : v.slice(colon + 1);
    if (!m) {
      if (name === "group" && value.startsWith("BUNDLE")) {
        session.bundle = value.split(" ").slice(1);
        if (session.bundle.length > SDP_LIMITS.sections) throw over("BUNDLE mids", SDP_LIMITS.sections);
      } else if (name === "ice-ufrag") session.iceUfrag = value;
      else if (name === "ice-pwd") session.icePwd = value;
      else if (name === "fingerprint") session.fingerprint = parseFingerprint(value);
      else if (name === "setup") session.setup = value;
      continue;
    }
    parseMediaAttribute(m, idx!, name, value);
  }
  if (session.media.length === 0) throw new SdpError("no media sections");
  for (const md of session.media) {
    if (md.port !== 0 && md.mid === "") throw new SdpError("media section without a=mid");
  }
  return session;
}

function parseFingerprint(value: string): { algorithm: string; value: string } {
  const [algorithm, fp] = value.split(" ");
  if (!algorithm || !fp) throw new SdpError("malformed a=fingerprint");
  return { algorithm: algorithm.toLowerCase(), value: fp.toUpperCase() };
}

function codecOf(m: MediaDesc, idx: SectionIndex, pt: number): CodecDesc {
  if (!Number.isInteger(pt) || pt < 0 || pt > 127)
    throw new SdpError(`payload type ${pt} is outside 0 to 127 in m-line ${idx.index}`);
  let c = idx.codecs.get(pt);
  if (!c) {
    if (m.codecs.length >= SDP_LIMITS.codecs) throw over("codecs", SDP_LIMITS.codecs, idx);
    c = { payloadType: pt, name: "", clockRate: 0, fmtp: {}, feedback: [] };
    m.codecs.push(c);
    idx.codecs.set(pt, c);
  }
  return c;
}

function parseMediaAttribute(m: MediaDesc, idx: SectionIndex, name: string, value: string): void {
  switch (name) {
    case "mid":
      m.mid = value;
      return;
    case "sendrecv":
    case "sendonly":
    case "recvonly":
    case "inactive":
      m.direction = name;
      return;
    case "rtpmap": {
      const match = /^(\d+) ([^/]+)\/(\d+)(?:\/(\d+))?$/.exec(value);
      if (!match) throw new SdpError(`malformed a=rtpmap: ${value.slice(0, 40)}`);
      const c = codecOf(m, idx, Number(match[1]));
      c.name = match[2]!;
      c.clockRate = Number(match[3]);
      if (match[4]) c.channels = Number(match[4]);
      return;
    }
    case "fmtp": {
      const sp = value.indexOf(" ");
      const pt = Number(value.slice(0, sp));
      if (sp < 0 || !Number.isInteger(pt)) throw new SdpError(`malformed a=fmtp: ${value.slice(0, 40)}`);
      const c = codecOf(m, idx, pt);
      const params = value.slice(sp + 1).split(";");
      if (params.length > SDP_LIMITS.fmtpParams) throw over("fmtp parameters", SDP_LIMITS.fmtpParams, idx);
      for (const kv of params) {
        const eq = kv.indexOf("=");
        if (eq < 0) continue;
        const k = kv.slice(0, eq).trim();
        const raw = kv.slice(eq + 1).trim();
        c.fmtp[k] = /^\d+$/.test(raw) && raw.length < 10 ? Number(raw) : raw;
      }
      return;
    }
    case "rtcp-fb": {
      const [ptStr, type, parameter] = value.split(" ");
      if (!ptStr || !type) return;
      if (ptStr === "*") return;
      const pt = Number(ptStr);
      if (!Number.isInteger(pt)) return;
      const c = codecOf(m, idx, pt);
      if (c.feedback.length >= SDP_LIMITS.feedback) throw over("rtcp-fb per codec", SDP_LIMITS.feedback, idx);
      c.feedback.push({ type, parameter: parameter ?? "" });
      return;
    }
    case "extmap": {
      const match = /^(\d+)(?:\/\w+)? (\S+)/.exec(value);
      if (!match) throw new SdpError(`malformed a=extmap: ${value.slice(0, 40)}`);
      if (m.extensions.length >= SDP_LIMITS.extensions)
        throw over("header extensions", SDP_LIMITS.extensions, idx);
      m.extensions.push({ id: Number(match[1]), uri: match[2]! });
      return;
    }
    case "ssrc": {
      const match = /^(\d+) ([^:]+)(?::(.*))?$/.exec(value);
      if (!match) return;
      const ssrc = Number(match[1]);
      let s = idx.ssrcs.get(ssrc);
      if (!s) {
        if (m.ssrcs.length >= SDP_LIMITS.ssrcs) throw over("SSRCs", SDP_LIMITS.ssrcs, idx);
        m.ssrcs.push((s = { ssrc }));
        idx.ssrcs.set(ssrc, s);
      }
      if (match[2] === "cname") s.cname = match[3];
      else if (match[2] === "msid") s.msid = match[3];
      return;
    }
    case "ssrc-group": {
      const parts = value.split(" ");
      if (parts[0] !== "FID" || parts.length !== 3) return;
      if (m.fid.length >= SDP_LIMITS.ssrcGroups) throw over("SSRC groups", SDP_LIMITS.ssrcGroups, idx);
      m.fid.push([Number(parts[1]), Number(parts[2])]);
      return;
    }
    case "msid": {
      const [stream, track] = value.split(" ");
      if (stream) m.msid = { stream, track: track ?? "" };
      return;
    }
    case "rid": {
      const [id, direction] = value.split(" ");
      if (!id) return;
      if (m.rids.length >= SDP_LIMITS.rids) throw over("RIDs", SDP_LIMITS.rids, idx);
      m.rids.push({ id, direction: direction ?? "" });
      return;
    }
    case "simulcast":
      m.simulcast = value;
      return;
    case "ice-ufrag":
      m.iceUfrag = value;
      return;
    case "ice-pwd":
      m.icePwd = value;
      return;
    case "fingerprint":
      m.fingerprint = parseFingerprint(value);
      return;
    case "setup":
      m.setup = value;
      return;
    case "sctp-port":
      m.sctpPort = Number(value);
      return;
    case "max-message-size":
      m.maxMessageSize = Number(value);
      return;
  }
}

// ICE/DTLS parameters of the offer or answer: media level wins, then session.
export function transportParams(s: SessionDesc): {
  ufrag: string;
  pwd: string;
  fingerprint: { algorithm: string; value: string };
  setup: string;
} {
  const first = s.media.find((m) => m.port !== 0) ?? s.media[0]!;
  const ufrag = first.iceUfrag ?? s.iceUfrag;
  const pwd = first.icePwd ?? s.icePwd;
  const fingerprint = first.fingerprint ?? s.fingerprint;
  const setup = first.setup ?? s.setup ?? "actpass";
  if (!ufrag || !pwd) throw new SdpError("no ICE credentials");
  if (!fingerprint) throw new SdpError("no DTLS fingerprint");
  return { ufrag, pwd, fingerprint, setup };
}

// ---- writing ----

export interface LocalTransport {
  ufrag: string;
  pwd: string;
  fingerprints: { algorithm: string; value: string }[];
  // a=candidate values (without the "a=candidate:" prefix).
  candidates: string[];
  // DTLS role we announce: "passive" (we are the DTLS server) or "active".
  setup: string;
}

export interface LocalMedia {
  kind: string;
  mid: string;
  // 0 for a rejected or unused section.
  port: number;
  proto: string;
  direction: Direction;
  codecs: CodecDesc[];
  extensions: { id: number; uri: string }[];
  // For sections we send on.
  send?: { ssrc: number; rtxSsrc?: number; cname: string; stream: string; track: string };
  // recvonly simulcast answer: "recv h;l" and the RIDs.
  simulcastRecv?: { rids: string[] };
  sctpPort?: number;
  // Formats of a rejected section, echoed back.
  formats?: string[];
}

export function writeSdp(
  sessionId: string,
  version: number,
  t: LocalTransport,
  media: LocalMedia[],
  ip: string,
): string {
  const out: string[] = [
    "v=0",
    `o=- ${sessionId} ${version} IN IP4 127.0.0.1`,
    "s=-",
    "t=0 0",
    "a=ice-lite",
    "a=msid-semantic: WMS *",
  ];
  const bundled = media.filter((m) => m.port !== 0).map((m) => m.mid);
  if (bundled.length) out.push(`a=group:BUNDLE ${bundled.join(" ")}`);
  for (const fp of t.fingerprints) out.push(`a=fingerprint:${fp.algorithm} ${fp.value}`);
  const family = ip.includes(":") ? "IP6" : "IP4";
  for (const m of media) {
    const fmts =
      m.kind === "application"
        ? ["webrtc-datachannel"]
        : m.codecs.length
          ? m.codecs.map((c) => String(c.payloadType))
          : (m.formats ?? ["0"]);
    out.push(`m=${m.kind} ${m.port} ${m.proto} ${fmts.join(" ")}`);
    out.push(`c=IN ${family} ${ip}`);
    out.push(`a=mid:${m.mid}`);
    if (m.port === 0) {
      out.push("a=inactive");
      // Some stacks (werift) want the port even on a rejected data section.
      if (m.kind === "application") out.push("a=sctp-port:5000");
      continue;
    }
    out.push(`a=ice-ufrag:${t.ufrag}`, `a=ice-pwd:${t.pwd}`, `a=setup:${t.setup}`);
    for (const c of t.candidates) out.push(`a=candidate:${c}`);
    out.push("a=end-of-candidates");
    if (m.kind === "application") {
      out.push(`a=sctp-port:${m.sctpPort ?? 5000}`, "a=max-message-size:262144");
      continue;
    }
    out.push(`a=${m.direction}`, "a=rtcp-mux", "a=rtcp-rsize");
    for (const e of m.extensions) out.push(`a=extmap:${e.id} ${e.uri}`);
    for (const c of m.codecs) {
      out.push(`a=rtpmap:${c.payloadType} ${c.name}/${c.clockRate}${c.channels ? `/${c.channels}` : ""}`);
      const fmtp = Object.entries(c.fmtp).map(([k, v]) => `${k}=${v}`);
      if (fmtp.length) out.push(`a=fmtp:${c.payloadType} ${fmtp.join(";")}`);
      for (const fb of c.feedback)
        out.push(`a=rtcp-fb:${c.payloadType} ${fb.type}${fb.parameter ? ` ${fb.parameter}` : ""}`);
    }
    if (m.simulcastRecv) {
      for (const rid of m.simulcastRecv.rids) out.push(`a=rid:${rid} recv`);
      out.push(`a=simulcast:recv ${m.simulcastRecv.rids.join(";")}`);
    }
    if (m.send) {
      const { ssrc, rtxSsrc, cname, stream, track } = m.send;
      out.push(`a=msid:${stream} ${track}`);
      if (rtxSsrc !== undefined) out.push(`a=ssrc-group:FID ${ssrc} ${rtxSsrc}`);
      for (const s of rtxSsrc !== undefined ? [ssrc, rtxSsrc] : [ssrc]) {
        out.push(`a=ssrc:${s} cname:${cname}`, `a=ssrc:${s} msid:${stream} ${track}`);
      }
    }
  }
  return out.join("\r\n") + "\r\n";
}
