// Our rtcd in the test's own process, so a test can look into its media
// plane: loopback ICE on a free port, self-registration on, the plugin
// registered and its WebSocket connected.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../src/config/index.ts";
import type { Logger } from "../../src/log.ts";
import { MediasoupPlane } from "../../src/media/plane.ts";
import { Rtcd } from "../../src/service.ts";
import { freeICEPort } from "./procs.ts";
import { PluginConn } from "./rtc-peer.ts";

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  with() {
    return silentLogger;
  },
  close() {},
} as unknown as Logger; // only the methods rtcd calls

export interface InProcessRtcd {
  rtcd: Rtcd;
  plane: MediasoupPlane;
  base: string;
  conn: PluginConn;
  icePort: number;
}

export async function registerPlugin(base: string, clientID: string, authKey: string): Promise<void> {
  const r = await fetch(`${base}/register`, { method: "POST", body: JSON.stringify({ clientID, authKey }) });
  if (r.status !== 201) throw new Error(`register: ${r.status} ${await r.text()}`);
}

export async function startInProcess(opts: {
  name: string;
  workers: number;
  key: string;
  // A mediasoup worker binary other than the one rtcd finds itself.
  workerBin?: string;
  // media.consumers_per_worker (default 500).
  consumersPerWorker?: number;
  // How long a session may take to connect (the plane's default otherwise).
  connectTimeoutMs?: number;
}): Promise<InProcessRtcd> {
  const dir = mkdtempSync(join(tmpdir(), `rtcd-${opts.name}-`));
  const icePort = await freeICEPort();
  const { config } = loadConfig(join(dir, "none.toml"), {
    RTCD_API_HTTP_LISTENADDRESS: "127.0.0.1:0",
    RTCD_API_SECURITY_ALLOWSELFREGISTRATION: "true",
    RTCD_STORE_DATASOURCE: join(dir, "db"),
    RTCD_RTC_ICEADDRESSUDP: "127.0.0.1",
    RTCD_RTC_ICEADDRESSTCP: "127.0.0.1",
    RTCD_RTC_ICEPORTUDP: String(icePort),
    RTCD_RTC_ICEPORTTCP: String(icePort),
  });
  let plane: MediasoupPlane | undefined;
  const rtcd = new Rtcd(config, silentLogger, {
    processMetrics: false,
    authRatePerSecond: 1000,
    media: (metrics, log) =>
      (plane = new MediasoupPlane(
        {
          workers: opts.workers,
          udpAddresses: config.rtc.ice_address_udp,
          udpPort: config.rtc.ice_port_udp,
          tcpAddresses: config.rtc.ice_address_tcp,
          tcpPort: config.rtc.ice_port_tcp,
          hostOverride: "",
          portOverride: "",
          ...(opts.workerBin ? { workerBin: opts.workerBin } : {}),
          ...(opts.consumersPerWorker ? { consumersPerWorker: opts.consumersPerWorker } : {}),
          ...(opts.connectTimeoutMs ? { connectTimeoutMs: opts.connectTimeoutMs } : {}),
        },
        metrics,
        log,
      )),
  });
  const addr = await rtcd.start();
  if (!plane) throw new Error("rtcd started without its media plane");
  const base = `http://127.0.0.1:${addr.port}`;
  await registerPlugin(base, "plugin", opts.key);
  const conn = await PluginConn.connect(base, "plugin", opts.key);
  return { rtcd, plane, base, conn, icePort };
}
