// One rtcd: the credential store, auth, metrics, the calls registry with its
// media plane, the WebSocket protocol and the HTTP API, wired together.
// main.ts runs one per process; tests run them in-process.
import type { AddressInfo } from "node:net";
import type { Config } from "./config/index.ts";
import { AuthService } from "./api/auth.ts";
import { createApiServer, type ApiServer } from "./api/server.ts";
import { Drainer } from "./calls/drain.ts";
import type { MediaPlane } from "./calls/media.ts";
import { MISSING_MEDIA_PLANE } from "./calls/no-media.ts";
import { CallRegistry } from "./calls/registry.ts";
import type { Logger } from "./log.ts";
import { Metrics } from "./metrics.ts";
import { openStore, type CredentialStore } from "./store/sqlite.ts";
import { CALL_UNITS, placementLoad, RecentAdmissions, SESSION_UNITS } from "./placement-load.ts";
import { CPULoadSampler, cpuBudget } from "./system.ts";
import { versionInfo } from "./version.ts";
import { KNOWN_TYPES, type ClientMessage } from "./ws/codec.ts";
import { DEFAULT_WS_OPTIONS, WSServer, type Conn, type WSOptions } from "./ws/server.ts";

// Internal knobs for tests and embedders; not configuration keys.
export interface RtcdOptions {
  // A media plane, or a factory given the service's metrics; main.ts passes
  // the mediasoup one, control-plane tests a NoMediaPlane. Required: an rtcd
  // without one would accept calls whose offers nobody answers.
  media: MediaPlane | ((metrics: Metrics, log: Logger) => MediaPlane);
  ws?: Partial<WSOptions>;
  authRatePerSecond?: number;
  maxSessions?: number;
  processMetrics?: boolean;
  // Called once a drain has finished and everything is closed.
  onDrained?: (reason: string) => void;
}

export class Rtcd {
  readonly metrics: Metrics;
  readonly store: CredentialStore;
  readonly auth: AuthService;
  readonly registry: CallRegistry;
  readonly drainer: Drainer;
  readonly media: MediaPlane;
  private readonly ws: WSServer;
  readonly api: ApiServer;
  private readonly cpu: CPULoadSampler;
  private readonly admitted = new RecentAdmissions();
  private stopping: Promise<void> | undefined;
  readonly config: Config;
  private readonly log: Logger;

  constructor(config: Config, log: Logger, opts: RtcdOptions) {
    // Checked at run time too, for callers without the type checker.
    if (!opts?.media) throw new Error(MISSING_MEDIA_PLANE);
    this.config = config;
    this.log = log;
    const sec = config.api.security;
    this.metrics = new Metrics({ processMetrics: opts.processMetrics ?? true });
    this.store = openStore(config.store.data_source);
    log.info("service: initiated data store", { dataSource: config.store.data_source });
    const budget = cpuBudget();
    this.auth = new AuthService(this.store, {
      enableAdmin: sec.enable_admin,
      adminSecret: sec.admin_secret_key,
      sessionTTLMinutes: sec.session_cache.expiration_minutes,
      cpuBudget: budget,
      maxRegistrations: config.limits.registrations,
      ...(opts.authRatePerSecond ? { ratePerSecond: opts.authRatePerSecond } : {}),
      onRefused: (why) =>
        this.metrics.limitRefusals.inc({ limit: why === "registrations" ? why : `auth_${why}` }),
    });
    this.media = typeof opts.media === "function" ? opts.media(this.metrics, log) : opts.media;
    const media = this.media;
    const own = {
      seconds: () => {
        const u = process.cpuUsage();
        return (u.user + u.system) / 1e6 + (media.cpuSeconds?.() ?? 0);
      },
      budget,
    };
    this.cpu = new CPULoadSampler(undefined, own);
    this.metrics.watchCPU(own);
    this.metrics.cpuLoadSource = () => this.cpu.load;
    this.ws = new WSServer(
      { ...DEFAULT_WS_OPTIONS, maxConnsPerClient: config.limits.ws_connections_per_client, ...opts.ws },
      this.auth,
      {
        open: (c) => this.ws.send(c.id, "hello", { clientID: c.clientID, connID: c.id }),
        message: (c, m) => this.onMessage(c, m),
        close: () => {},
      },
      this.metrics,
      log,
    );
    this.registry = new CallRegistry(
      this.media,
      { send: (connID, type, data) => this.ws.send(connID, type, data) },
      this.metrics,
      log,
      opts.maxSessions,
      { perClient: config.limits.sessions_per_client, perCall: config.limits.sessions_per_call },
    );
    this.registry.onAdmitted = (newCall) =>
      this.admitted.add(performance.now(), SESSION_UNITS + (newCall ? CALL_UNITS : 0));
    this.drainer = new Drainer(
      this.registry,
      this.metrics,
      log,
      config.drain.deadline_seconds * 1000,
      (reason) => {
        void this.stop()
          .catch((err: unknown) => log.error("service: failed to stop cleanly", { err: String(err) }))
          .then(() => opts.onDrained?.(reason));
      },
    );
    this.api = createApiServer(
      config.api.http,
      {
        auth: this.auth,
        registry: this.registry,
        metrics: this.metrics,
        log,
        allowSelfRegistration: sec.allow_self_registration,
        enableAdmin: sec.enable_admin,
        version: () => versionInfo(),
        // The CPU sample blended with recent admissions; the highest load
        // while new calls would be refused (placement-load.ts).
        cpuLoad: () =>
          placementLoad({
            sampled: this.cpu.load,
            recentUnits: this.admitted.weighted(performance.now()),
            draining: !this.registry.acceptingNewCalls,
            budget,
            random: Math.random(),
          }),
        // Not before the first CPU load: unmeasured, /system reads as an
        // idle host, and a pod that enters DNS so would take a whole burst
        // of new calls (seen: 18 of 30 on the one that had just started).
        notReady: () => (!this.drainer.ready ? "draining" : !this.cpu.measured ? "starting" : undefined),
        healthy: () => this.media.healthy?.() ?? true,
      },
      this.ws,
      log,
      config.limits.http_connections,
    );
  }

  async start(): Promise<AddressInfo> {
    await this.media.start?.();
    this.cpu.start();
    const addr = await this.api.listen();
    this.log.info("service: started", { media: this.media.name });
    return addr;
  }

  // SIGTERM: see calls/drain.ts.
  drain(why: string): void {
    this.drainer.begin(why);
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.log.info("service: shutting down");
      this.drainer.stop();
      this.cpu.stop();
      await this.ws.close();
      await this.api.close();
      await this.media.close();
      this.store.close();
      this.log.info("service: stopped");
    })();
    return this.stopping;
  }

  private onMessage(c: Conn, m: ClientMessage): void {
    const type = m.type === "other" ? "unknown" : m.type;
    // Unknown type names are folded into one label value so a peer cannot
    // grow the metric without bound.
    const label = (KNOWN_TYPES as readonly string[]).includes(type) ? type : "unknown";
    // Label names in Go's (sorted) order, so the exposition matches rtcd's.
    this.metrics.wsMessages.inc({ clientID: c.clientID, direction: "in", type: label });
    const fields = { connID: c.id, clientID: c.clientID };
    switch (m.type) {
      case "join":
        this.log.debug("service: join message", fields);
        return this.registry.join(c.clientID, c.id, m.data);
      case "leave":
      case "reconnect": {
        const sessionID = m.data["sessionID"];
        if (typeof sessionID !== "string" || sessionID === "")
          return this.log.error("service: failed to handle message: missing sessionID in client message", {
            ...fields,
            type: m.type,
          });
        this.log.debug(`service: ${m.type} message`, { ...fields, sessionID });
        if (m.type === "leave") return this.registry.leave(c.clientID, sessionID);
        return this.registry.reconnect(c.clientID, c.id, sessionID);
      }
      case "rtc":
        return this.registry.signal(c.clientID, m.data);
      default:
        this.log.error("service: failed to handle message: unexpected client message type", {
          ...fields,
          type: m.type === "other" ? m.name.slice(0, 64) : m.type,
        });
    }
  }
}
