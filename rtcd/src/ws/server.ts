// /ws: authenticated before the upgrade, then binary msgpack frames both
// ways. Like rtcd: a ping every 10 s, a 20 s read deadline renewed by pongs,
// a 1 MB frame limit. Beyond rtcd: a frame we cannot decode (or a text
// frame) closes that one connection with a logged reason, and a peer that
// stops reading is cut off before its backlog grows without bound.
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import type { AuthService } from "../api/auth.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import { newID } from "../ids.ts";
import { decodeFrame, encodeFrame, FrameError, MAX_FRAME_BYTES, type ClientMessage } from "./codec.ts";

export interface WSOptions {
  pingIntervalMs: number;
  // rtcd: 2 * ping interval.
  readDeadlineMs: number;
  maxPayload: number;
  // Unsent bytes queued for one connection before we give up on it.
  maxBufferedBytes: number;
  // limits.ws_connections_per_client.
  maxConnsPerClient: number;
}

export const DEFAULT_WS_OPTIONS: WSOptions = {
  pingIntervalMs: 10_000,
  readDeadlineMs: 20_000,
  maxPayload: MAX_FRAME_BYTES,
  maxBufferedBytes: 16 * 1024 * 1024,
  maxConnsPerClient: 64,
};

export interface Conn {
  readonly id: string;
  // "" for the admin.
  readonly clientID: string;
}

export interface WSHandlers {
  open(conn: Conn): void;
  message(conn: Conn, msg: ClientMessage): void;
  close(conn: Conn): void;
}

// How long a refused upgrade's socket stays open after the answer.
const REFUSED_LINGER_MS = 500;
const STATUS_TEXT = { 401: "Unauthorized", 429: "Too Many Requests", 503: "Service Unavailable" } as const;

// Close codes (RFC 6455).
const UNSUPPORTED_DATA = 1003;
const INVALID_PAYLOAD = 1007;
const GOING_AWAY = 1001;

interface Live extends Conn {
  ws: WebSocket;
  deadline: NodeJS.Timeout;
}

export class WSServer {
  private readonly wss: WebSocketServer;
  private readonly conns = new Map<string, Live>();
  // Open connections per client ID (limits.ws_connections_per_client),
  // counted from the upgrade on, so parallel upgrades cannot pass it.
  private readonly perClient = new Map<string, number>();
  private readonly pinger: NodeJS.Timeout;
  private closed = false;
  // Upgrade requests not (yet) accepted as connections: the HTTP server
  // counts their sockets until they close, so one left open would keep
  // close() (and a drained process's exit) waiting for the peer.
  private readonly unaccepted = new Set<Duplex>();

  private readonly opts: WSOptions;
  private readonly auth: AuthService;
  private readonly handlers: WSHandlers;
  private readonly metrics: Metrics;
  private readonly log: Logger;

  constructor(opts: WSOptions, auth: AuthService, handlers: WSHandlers, metrics: Metrics, log: Logger) {
    this.opts = opts;
    this.auth = auth;
    this.handlers = handlers;
    this.metrics = metrics;
    this.log = log;
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: opts.maxPayload,
      perMessageDeflate: false,
      clientTracking: false,
    });
    this.pinger = setInterval(() => this.pingAll(), opts.pingIntervalMs);
    this.pinger.unref();
  }

  get size(): number {
    return this.conns.size;
  }

  // From the HTTP server's 'upgrade' event for /ws.
  async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on("error", () => socket.destroy());
    this.unaccepted.add(socket);
    socket.once("close", () => this.unaccepted.delete(socket));
    const auth = await this.auth.check(req.headers.authorization, req.socket.remoteAddress);
    if (socket.destroyed) return;
    const full = auth.ok && (this.perClient.get(auth.clientID) ?? 0) >= this.opts.maxConnsPerClient;
    if (!auth.ok || this.closed || full) {
      const error = !auth.ok
        ? auth.error
        : full
          ? `too many WebSocket connections for this client (${this.opts.maxConnsPerClient}, limits.ws_connections_per_client)`
          : "server is closing";
      const code = !auth.ok ? auth.code : full ? 429 : 401;
      if (full) this.metrics.limitRefusals.inc({ limit: "ws_connections_per_client" });
      this.log.error("ws: auth callback failed", { err: error, remoteAddr: req.socket.remoteAddress });
      // rtcd answers 200 with an empty body; a 401 tells the client why (429
      // or 503 that a limit refused it).
      const body = JSON.stringify({ code: String(code), error }) + "\n";
      socket.end(
        `HTTP/1.1 ${code} ${STATUS_TEXT[code]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
      // Half-closed until the peer closes too, which a careless or hostile
      // one never does: closed for good shortly after the answer (the delay,
      // as Go's server, so that unread bytes of the peer do not reset the
      // connection before it has read the answer).
      setTimeout(() => socket.destroy(), REFUSED_LINGER_MS).unref();
      return;
    }
    const clientID = auth.clientID;
    this.perClient.set(clientID, (this.perClient.get(clientID) ?? 0) + 1);
    let counted = true;
    const release = () => {
      if (!counted) return;
      counted = false;
      const n = (this.perClient.get(clientID) ?? 1) - 1;
      if (n > 0) this.perClient.set(clientID, n);
      else this.perClient.delete(clientID);
    };
    // The socket's end releases the place, whether or not the upgrade completed.
    socket.once("close", release);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.unaccepted.delete(socket);
      this.accept(ws, clientID);
    });
  }

  private accept(ws: WebSocket, clientID: string): void {
    const id = newID();
    const conn: Live = {
      id,
      clientID,
      ws,
      deadline: setTimeout(() => this.expire(conn), this.opts.readDeadlineMs),
    };
    this.conns.set(id, conn);
    this.metrics.wsConnections.inc({ clientID });
    this.log.info("ws: client connected", { connID: id, clientID });

    ws.on("pong", () => conn.deadline.refresh());
    ws.on("message", (data, isBinary) => this.receive(conn, data as Buffer, isBinary));
    ws.on("error", (err) => {
      // ws has already closed the connection (e.g. 1009 for an oversized frame).
      this.log.warn("ws: connection error, closing", { connID: id, clientID, err: err.message });
    });
    ws.on("close", (code, reason) => {
      clearTimeout(conn.deadline);
      this.conns.delete(id);
      this.metrics.wsConnections.dec({ clientID });
      this.log.info("ws: client disconnected", { connID: id, clientID, code, reason: reason.toString() });
      this.handlers.close(conn);
    });
    this.handlers.open(conn);
  }

  private receive(conn: Live, data: Buffer, isBinary: boolean): void {
    // Frames that arrive after we started closing (e.g. behind a bad one)
    // are not processed.
    if (conn.ws.readyState !== conn.ws.OPEN) return;
    if (!isBinary) return this.reject(conn, UNSUPPORTED_DATA, "text frames are not part of the protocol");
    let msg: ClientMessage;
    try {
      msg = decodeFrame(data);
    } catch (err) {
      if (!(err instanceof FrameError)) throw err;
      return this.reject(conn, INVALID_PAYLOAD, err.message);
    }
    try {
      this.handlers.message(conn, msg);
    } catch (err) {
      // A handler bug must cost one message, not the process.
      this.log.error("ws: failed to handle message", {
        connID: conn.id,
        clientID: conn.clientID,
        err: String(err),
      });
    }
  }

  private reject(conn: Live, code: number, reason: string): void {
    this.log.warn("ws: closing connection: malformed frame", {
      connID: conn.id,
      clientID: conn.clientID,
      reason,
    });
    // A close reason is at most 123 bytes.
    conn.ws.close(code, reason.replace(/[^\x20-\x7e]/g, "?").slice(0, 120));
    // Do not wait for a peer that may never answer the close.
    setTimeout(() => conn.ws.terminate(), 1000).unref();
  }

  private expire(conn: Live): void {
    this.log.warn("ws: read deadline exceeded, closing connection", {
      connID: conn.id,
      clientID: conn.clientID,
    });
    conn.ws.terminate();
  }

  private pingAll(): void {
    for (const c of this.conns.values()) {
      try {
        c.ws.ping();
      } catch (err) {
        this.log.error("ws: failed to write ping message", { connID: c.id, err: String(err) });
      }
    }
  }

  send(connID: string, type: string, data: unknown): boolean {
    const c = this.conns.get(connID);
    if (!c || c.ws.readyState !== c.ws.OPEN) return false;
    if (c.ws.bufferedAmount > this.opts.maxBufferedBytes) {
      this.log.error("ws: peer is not reading, closing connection", {
        connID,
        bufferedBytes: c.ws.bufferedAmount,
      });
      c.ws.terminate();
      return false;
    }
    c.ws.send(encodeFrame(type, data), { binary: true });
    return true;
  }

  // Shutdown: tell every peer we are going away.
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.pinger);
    const gone = [...this.conns.values()].map(
      (c) =>
        new Promise<void>((resolve) => {
          c.ws.once("close", () => resolve());
          c.ws.close(GOING_AWAY, "server shutting down");
          setTimeout(() => {
            c.ws.terminate();
            resolve();
          }, 2000).unref();
        }),
    );
    await Promise.all(gone);
    for (const s of this.unaccepted) s.destroy();
    this.wss.close();
  }
}
